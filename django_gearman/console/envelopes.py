"""Stored or captured envelopes decoded for people: header, signature check, readable value.

Used by the admin's detail page and ``manage.py gearman_decode``. Signatures are checked with the
configured keys (``GEARMAN_SIGNING_KEYS``) against the job's Gearman function name, before
anything is decoded. A job's sensitive parameters (``@gearman_job(sensitive=(...))``) are
replaced by a placeholder unless the caller explicitly asks to reveal them; a call whose shape
cannot be matched to parameter names hides its whole value when the job has sensitive ones.
"""

from __future__ import annotations

import inspect
import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from serializers import BadSignature, DecodePolicy, SerializerError, decode, default_registry
from serializers.envelope import Header, read_header

HIDDEN = "•••••• (sensitive, hidden)"
MAX_TEXT = 64 * 1024  # characters of a pretty-printed value shown by default


@dataclass(frozen=True, slots=True)
class DecodedEnvelope:
    """What a person needs to see. ``problem`` is set when the header or body could not be read
    or verified; ``value`` is then None. ``verified_for`` names the function the signature
    matched (empty for unsigned envelopes)."""

    header: Header | None
    value: Any = None
    signed: bool = False
    verified_for: str = ""
    hidden: tuple[str, ...] = ()
    problem: str = ""
    extra_fields: dict[str, str] = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        return not self.problem

    def pretty(self, limit: int = MAX_TEXT) -> str:
        """The value as indented JSON (bytes and other types as their repr), cut at ``limit``."""
        text = pretty_value(self.value)
        if len(text) > limit:
            return text[:limit] + f"\n... [{len(text) - limit} more characters not shown]"
        return text

    @property
    def error(self) -> dict[str, str] | None:
        """The ``{"type", "message", "traceback"}`` of an error envelope, if this is one."""
        value = self.value
        if isinstance(value, dict) and set(value) == {"error"} and isinstance(value["error"], dict):
            return {str(k): str(v) for k, v in value["error"].items()}
        return None


def pretty_value(value: Any) -> str:
    return json.dumps(value, indent=2, ensure_ascii=False, default=repr)


def reading_policy() -> DecodePolicy:
    """Every registered content type, under the configured keys and limits (pickle still only
    with a valid signature)."""
    from django_gearman.conf import get_settings

    current = get_settings()
    return DecodePolicy(
        accept=frozenset(serializer.content_type for serializer in default_registry),
        require_signature=current.require_signature,
        verify_keys=dict(current.signing_keys),
        max_body_bytes=current.max_payload_size,
        max_decoded_bytes=current.max_decompressed_size,
    )


def sensitive_names(job_name: str) -> tuple[tuple[str, ...], Any]:
    """(the job's sensitive parameter names, its function), or ((), None) if not registered."""
    from django_gearman import registry

    job = registry.find(job_name)
    if job is None:
        return (), None
    return tuple(getattr(job, "sensitive", ()) or ()), job.func


def _positional_names(func: Any) -> list[str]:
    try:
        parameters = inspect.signature(func).parameters.values()
    except (TypeError, ValueError):
        return []
    kinds = (inspect.Parameter.POSITIONAL_ONLY, inspect.Parameter.POSITIONAL_OR_KEYWORD)
    return [p.name for p in parameters if p.kind in kinds]


def looks_like_call(value: Any) -> bool:
    """The job call body: ``{"args": [...], "kwargs": {...}}`` and nothing else."""
    return (
        isinstance(value, dict)
        and set(value) == {"args", "kwargs"}
        and isinstance(value["args"], list)
        and isinstance(value["kwargs"], dict)
    )


def hide_sensitive(value: Any, names: Sequence[str], func: Any) -> tuple[Any, tuple[str, ...]]:
    """A copy of a call body with the sensitive arguments replaced; (value, names hidden).
    A call of another shape is hidden whole: its arguments cannot be told apart."""
    if not names:
        return value, ()
    if not looks_like_call(value):
        return HIDDEN, tuple(names)
    positional = _positional_names(func)
    hidden: list[str] = []
    args = list(value["args"])
    for index, name in enumerate(positional[: len(args)]):
        if name in names:
            args[index] = HIDDEN
            hidden.append(name)
    kwargs = dict(value["kwargs"])
    for name in names:
        if name in kwargs:
            kwargs[name] = HIDDEN
            hidden.append(name)
    return {"args": args, "kwargs": kwargs}, tuple(hidden)


def _candidates(job_name: str | None) -> list[tuple[str, str]]:
    """(Gearman function, job name) pairs a signature may be bound to: the job's (its wire name,
    then the name as given, for a function of another project), or every registered job's."""
    from django_gearman import registry
    from django_gearman.conf import get_settings

    wire_name = get_settings().wire_name
    names = [job_name] if job_name else [job.name for job in registry]
    out: list[tuple[str, str]] = []
    for name in names:
        for function in (wire_name(name), name):
            if all(function != known for known, _ in out):
                out.append((function, name))
    return out


def decode_envelope(
    blob: bytes,
    *,
    job_name: str | None = None,
    is_call: bool | None = False,
    reveal: bool = False,
) -> DecodedEnvelope:
    """Read, verify and decode ``blob`` for display; never raises for a bad payload.

    ``job_name`` is the job's registered name (its wire name is derived); without it a signed
    envelope is tried against every registered job. ``is_call`` marks a call body, whose
    sensitive arguments are hidden unless ``reveal`` (None: a call if it is shaped like one).
    """
    policy = reading_policy()
    try:
        header = read_header(blob, policy)
    except SerializerError as exc:
        return DecodedEnvelope(header=None, problem=f"{type(exc).__name__}: {exc}")
    extra = {k: v for k, v in header.fields.items() if k not in _STANDARD_FIELDS}
    candidates = _candidates(job_name)
    if header.signature is None:  # nothing binds the payload to a function: decode it once
        candidates = candidates[:1] or [("", job_name or "")]
    last_problem = "no job name to verify the signature against (pass the job's name)"
    for function, name in candidates:
        try:
            decoded = decode(blob, policy, job=function)
        except BadSignature as exc:  # signed for another function: try the next one
            last_problem = f"BadSignature: {exc}"
            continue
        except SerializerError as exc:
            last_problem = f"{type(exc).__name__}: {exc}"
            break
        value: Any = decoded.value
        hidden: tuple[str, ...] = ()
        call = looks_like_call(decoded.value) if is_call is None else is_call
        if call and not reveal:
            names, func = sensitive_names(name) if name else ((), None)
            value, hidden = hide_sensitive(value, names, func)
        return DecodedEnvelope(
            header=header,
            value=value,
            signed=decoded.signed,
            verified_for=function if decoded.signed else "",
            hidden=hidden,
            extra_fields=extra,
        )
    return DecodedEnvelope(
        header=header, signed=header.signature is not None, problem=last_problem, extra_fields=extra
    )


_STANDARD_FIELDS = frozenset({"ct", "enc", "schema", "accept", "kid"})
