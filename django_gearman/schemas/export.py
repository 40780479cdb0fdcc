"""JSON Schema (2020-12) of each job's call body and result, and the export bundle.

The call body is ``{"args": [...], "kwargs": {...}}``; its schema follows Python's binding rules
(positional-only parameters only in ``args``, keyword-only only in ``kwargs``, any other either
way but not both, required ones somewhere), so a peer in another language can check a call before
it sends it. Parameter and result schemas are pydantic's for the annotations (validation mode:
what a receiver accepts), sharing one ``$defs``. pydantic's own validation is laxer than the
schema (it also takes ``"5"`` for an ``int``): the schema is the contract, never a looser one.
"""

from __future__ import annotations

import inspect
import typing
import urllib.parse
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from pydantic import PydanticSchemaGenerationError, PydanticUserError, TypeAdapter

from serializers import SchemaError

from .versions import contract_field

DIALECT = "https://json-schema.org/draft/2020-12/schema"
BUNDLE_FORMAT = "django-gearman-contracts/1"
POSITIONAL = ("positional_only", "positional_or_keyword")
BY_KEYWORD = ("positional_or_keyword", "keyword_only")


@dataclass(frozen=True, slots=True)
class ParameterContract:
    """One parameter: how it may be passed, whether it must be, and its JSON Schema."""

    name: str
    kind: str  # positional_only, positional_or_keyword, keyword_only, var_positional, var_keyword
    required: bool
    schema: Mapping[str, Any]

    def to_json(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "kind": self.kind,
            "required": self.required,
            "schema": self.schema,
        }


@dataclass(frozen=True, slots=True)
class JobContract:
    """What callers and workers of one job agree on, in a language-neutral form."""

    name: str
    function: str
    version: int
    parameters: tuple[ParameterContract, ...]
    result: Mapping[str, Any]
    defs: Mapping[str, Any]

    @property
    def schema_field(self) -> str:
        """``NAME@VERSION``, as the envelope's ``schema`` field carries it."""
        return contract_field(self.name, self.version)

    def schema_id(self, part: str) -> str:
        quoted = urllib.parse.quote(self.schema_field, safe="@.-_~:!$&'()*+,;=")
        return f"urn:django-gearman:{quoted}:{part}"

    def call_schema(self) -> dict[str, Any]:
        """The JSON Schema document of this job's call body."""
        params = self.parameters
        positional = [p for p in params if p.kind in POSITIONAL]
        keyword = [p for p in params if p.kind in BY_KEYWORD]
        var_args = next((p for p in params if p.kind == "var_positional"), None)
        var_kwargs = next((p for p in params if p.kind == "var_keyword"), None)
        args: dict[str, Any] = {"type": "array"}
        if positional:
            args["prefixItems"] = [dict(p.schema) for p in positional]
        args["items"] = dict(var_args.schema) if var_args else False
        only_positional = [i for i, p in enumerate(positional) if p.kind == "positional_only"]
        required_positional = [i for i in only_positional if positional[i].required]
        if required_positional:
            args["minItems"] = required_positional[-1] + 1
        kwargs: dict[str, Any] = {
            "type": "object",
            "properties": {p.name: dict(p.schema) for p in keyword},
            "additionalProperties": dict(var_kwargs.schema) if var_kwargs else False,
        }
        required_keywords = [p.name for p in keyword if p.kind == "keyword_only" and p.required]
        if required_keywords:
            kwargs["required"] = required_keywords
        document: dict[str, Any] = {
            "$schema": DIALECT,
            "$id": self.schema_id("call"),
            "title": f"call of {self.schema_field}",
            "type": "object",
            "properties": {"args": args, "kwargs": kwargs},
            "required": ["args", "kwargs"],
            "additionalProperties": False,
        }
        rules = [
            _either_way(index, p)
            for index, p in enumerate(positional)
            if p.kind == "positional_or_keyword"
        ]
        if rules:
            document["allOf"] = rules
        if self.defs:
            document["$defs"] = dict(self.defs)
        return document

    def result_schema(self) -> dict[str, Any]:
        """The JSON Schema document of this job's result (the return value itself)."""
        document: dict[str, Any] = {
            "$schema": DIALECT,
            "$id": self.schema_id("result"),
            "title": f"result of {self.schema_field}",
            **self.result,
        }
        if self.defs:
            document["$defs"] = dict(self.defs)
        return document

    def to_json(self) -> dict[str, Any]:
        """This job's entry in an export bundle (and a drift snapshot)."""
        return {
            "schema": self.schema_field,
            "function": self.function,
            "version": self.version,
            "parameters": [p.to_json() for p in self.parameters],
            "call": self.call_schema(),
            "result": self.result_schema(),
        }


def _either_way(index: int, param: ParameterContract) -> dict[str, Any]:
    """A positional-or-keyword parameter: at ``args[index]`` or in ``kwargs``, never both; and
    in one of them when it is required."""
    by_position = {"properties": {"args": {"type": "array", "minItems": index + 1}}}
    by_keyword = {"properties": {"kwargs": {"type": "object", "required": [param.name]}}}
    if param.required:
        return {"oneOf": [by_position, by_keyword]}
    return {"not": {"allOf": [by_position, by_keyword]}}


_KINDS = {
    inspect.Parameter.POSITIONAL_ONLY: "positional_only",
    inspect.Parameter.POSITIONAL_OR_KEYWORD: "positional_or_keyword",
    inspect.Parameter.KEYWORD_ONLY: "keyword_only",
    inspect.Parameter.VAR_POSITIONAL: "var_positional",
    inspect.Parameter.VAR_KEYWORD: "var_keyword",
}


def contract_of(func: Callable[..., Any], name: str, function: str, version: int) -> JobContract:
    """The contract of job ``name`` (Gearman function ``function``) defined by ``func``.

    Raises ``SchemaError`` for annotations that have no JSON Schema.
    """
    try:
        signature = inspect.signature(func)
        hints = typing.get_type_hints(func, include_extras=True)
    except Exception as exc:  # unresolvable forward references, builtins without a signature
        raise SchemaError(f"job {name!r}: cannot read its signature: {exc}") from exc
    params = list(signature.parameters.values())
    annotations = [hints.get(p.name, Any) for p in params] + [hints.get("return", Any)]
    try:
        # One adapter for all of them, so that models shared by several parameters share $defs.
        whole_signature: Any = tuple.__class_getitem__(tuple(annotations))
        adapter: TypeAdapter[Any] = TypeAdapter(whole_signature)
        whole = adapter.json_schema(mode="validation", ref_template="#/$defs/{model}")
    except (PydanticSchemaGenerationError, PydanticUserError, TypeError, ValueError) as exc:
        raise SchemaError(f"job {name!r}: its annotations have no JSON Schema: {exc}") from exc
    items = whole.get("prefixItems", [])
    if len(items) != len(annotations):
        raise SchemaError(f"job {name!r}: unexpected schema for its annotations")
    parameters = tuple(
        ParameterContract(
            p.name,
            _KINDS[p.kind],
            p.default is inspect.Parameter.empty
            and p.kind not in (p.VAR_POSITIONAL, p.VAR_KEYWORD),
            _without_titles(items[index]),
        )
        for index, p in enumerate(params)
    )
    return JobContract(name, function, version, parameters, items[-1], whole.get("$defs", {}))


def _without_titles(schema: Mapping[str, Any]) -> dict[str, Any]:
    """pydantic titles a tuple's items ("Title" of nothing); a parameter needs none."""
    return {key: value for key, value in schema.items() if key != "title"}


def bundle(contracts: Iterable[JobContract]) -> dict[str, Any]:
    """The export: every job's contract by name (what ``gearman_schema`` prints and snapshots)."""
    return {
        "format": BUNDLE_FORMAT,
        "jobs": {contract.name: contract.to_json() for contract in contracts},
    }


def job_contract(job: Any) -> JobContract:
    """The contract of a registered ``GearmanJob`` (its wire name after GEARMAN_JOB_NAME)."""
    return contract_of(job.func, job.name, job.wire_name, job.version or 1)
