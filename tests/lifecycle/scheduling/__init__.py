"""Support of the scheduler tests (deferred, periodic): settings, a jobs app, process helpers."""
