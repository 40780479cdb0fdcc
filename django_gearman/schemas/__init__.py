"""A job's contract beyond this process: its JSON Schemas, its version, its payload budget.

``export`` writes the JSON Schema (2020-12) of each job's call body and result, ``drift`` compares
two exports (a saved snapshot and today's code), ``versions`` refuses calls written for another
version of a job, ``budgets`` warns about payloads that approach the hard size limit. Importing
this package imports none of them: the call codec needs only ``versions`` and ``budgets``.
"""
