"""Example app: the original ``reverse`` and ``background_counting`` jobs, plus a typed job
and a long job that reports progress."""
