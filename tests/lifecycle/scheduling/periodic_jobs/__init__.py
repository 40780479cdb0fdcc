"""A periodic job, installed only in the deployments of the periodic tests (SCHEDULING_PERIODIC)."""
