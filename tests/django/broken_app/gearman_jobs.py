"""A jobs module whose own import fails: autodiscovery must re-raise, not swallow, this."""

import a_module_that_does_not_exist  # noqa: F401
