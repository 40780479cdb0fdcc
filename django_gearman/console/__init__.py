"""The operator console: live status from gearmand, activity from the job records, metrics.

Modules, each one concept: ``conf`` (console settings), ``status`` (what gearmand's admin protocol
says, per server), ``activity`` (throughput, failures and queue age from the job records),
``chart`` (a server-rendered SVG of the activity), ``metrics`` (Prometheus text format),
``envelopes`` (stored payloads decoded for people, sensitive parameters hidden), ``views``.
"""
