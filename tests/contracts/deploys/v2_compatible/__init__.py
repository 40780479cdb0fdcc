"""Test jobs of tests/contracts (see the gearman_jobs module)."""
