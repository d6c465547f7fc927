"""The `batchgate` command: serve, worker, validate, and the lazily imported user commands."""
