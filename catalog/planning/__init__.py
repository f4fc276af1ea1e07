"""Server-side scan planning (planTableScan, fetchPlanningResult, cancelPlanning,
fetchScanTasks): pyiceberg's own pruning over a shared manifest cache, with plan ids and
plan tasks that are signed, self-contained tokens (docs/planning.md)."""
