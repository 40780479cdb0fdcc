"""A small Django project for the console's browser tests (admin, console URLs, a few jobs).

Its runserver, its workers and its shell all run as subprocesses and share one SQLite file
(``CONSOLE_TEST_DB``), exactly like a deployed site whose processes share a database.
"""
