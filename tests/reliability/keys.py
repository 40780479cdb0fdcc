"""The signing secret of the hostile-input tests, shared by the worker settings and the tests.

Distinctive bytes, so that a search of every log for them cannot match by accident.
"""

SECRET = "Zq8-reliability-SECRET-do-not-log-7Kx"
SIGNING_KEYS = {"rk1": SECRET}
KEY_ID = "rk1"
