"""Table maintenance: compaction, snapshot expiration and orphan-file removal.

`jobs` is the contract between the engine (which does the work on one table) and the control
plane (policies, scheduler, leases, run records, admin API and CLI).
"""
