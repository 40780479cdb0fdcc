"""Jobs of the scheduler tests; each run appends one line to the file in SCHEDULING_RUN_LOG."""
