"""Stored jobs of the job-store tests, served by ``manage.py gearman_worker`` subprocesses."""
