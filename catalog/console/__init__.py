"""The browser console (docs/console.md): built assets served at `/ui`, off the REST hot paths."""
