"""Workers: claim jobs from the store, hold their leases, run them, drain on SIGTERM."""
