"""Versions of a job's signature: ``schema=NAME@VERSION`` in the call envelope, checked by workers.

A job declares ``version=`` (default 1) and bumps it when its signature changes in a breaking way
(``gearman_schema --check`` says when). Clients write ``schema=NAME@VERSION`` into every call of
a locally defined job; a worker refuses a call written for another version of the job, naming
both, instead of running it with arguments it would misread. A call without ``schema`` (a peer in
another language, the shell, a job known only by name) is validated as usual.
"""

from __future__ import annotations

from serializers import SerializerError


class IncompatibleVersion(SerializerError):
    """A call was written for another version of the job: the job does not run (it is refused
    with this message, so the caller learns both versions and nothing is half done)."""


def contract_field(name: str, version: int) -> str:
    """The envelope's ``schema`` value for a job: ``NAME@VERSION``."""
    return f"{name}@{version}"


def check_call_version(expected: str | None, received: str | None) -> None:
    """Refuse a call whose ``schema`` field names another job or version than ``expected``.

    Raises ``IncompatibleVersion``; ``None`` on either side means there is nothing to compare.
    """
    if expected is None or received is None or received == expected:
        return
    name, _, version = expected.rpartition("@")
    got_name, _, got_version = received.rpartition("@")
    if got_name != name:
        raise IncompatibleVersion(
            f"call written for schema {received[:200]!r}, but this worker's job is {expected!r}"
        )
    raise IncompatibleVersion(
        f"call of {name} written for version {got_version[:40]!r}, but this worker serves version "
        f"{version}: drain or resubmit calls of the old version (docs/envelope.md, schema)"
    )
