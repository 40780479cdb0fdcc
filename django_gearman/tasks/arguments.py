"""A task's arguments checked against its annotations, as ``@gearman_job`` checks a job's.

django.tasks only requires arguments to be JSON (``normalize_json``). Where the function is
annotated, the client also validates the JSON-normalised call with the same pydantic schema as a
``@gearman_job`` (nothing is sent on a bad argument; ``ValidationFailed`` names the parameter),
and the worker validates it again and passes the converted values (an ``int`` parameter given
``"3"`` receives ``3``, a ``datetime`` parameter receives a datetime). Unannotated parameters
(``Any``) are only bound (missing or extra arguments are refused). A function whose annotations
pydantic cannot use is not validated at all.
"""

from __future__ import annotations

import functools
import inspect
import typing
from collections.abc import Callable
from typing import Any

from serializers import Call, CallSchema
from serializers.errors import SchemaError


@functools.cache
def call_schema(func: Callable[..., Any], takes_context: bool) -> CallSchema | None:
    """The schema of a task function's wire arguments (``context`` left out); None if the
    annotations cannot be used."""
    try:
        return CallSchema.from_function(_without_context(func) if takes_context else func)
    except (SchemaError, TypeError, ValueError, NameError):
        return None


def _without_context(func: Callable[..., Any]) -> Callable[..., Any]:
    """A stand-in with ``func``'s signature and annotations minus the first (``context``)."""
    signature = inspect.signature(func)
    hints = typing.get_type_hints(func, include_extras=True)
    first = next(iter(signature.parameters), None)
    hints.pop(first or "", None)

    def wire_arguments(*args: Any, **kwargs: Any) -> Any:  # pragma: no cover - never called
        raise NotImplementedError

    wire_arguments.__signature__ = signature.replace(  # type: ignore[attr-defined]
        parameters=list(signature.parameters.values())[1:]
    )
    wire_arguments.__annotations__ = hints
    wire_arguments.__module__ = func.__module__
    wire_arguments.__qualname__ = func.__qualname__
    return wire_arguments


def validate(
    func: Callable[..., Any], takes_context: bool, args: list[Any], kwargs: dict[str, Any]
) -> Call:
    """The call, validated and converted where the annotations allow (raises
    ``ValidationFailed``)."""
    call = Call(tuple(args), kwargs)
    schema = call_schema(func, takes_context)
    return call if schema is None else schema.validate_call(call)
