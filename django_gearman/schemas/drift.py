"""Drift: today's job contracts against a saved snapshot, each change breaking or compatible.

Breaking: a job removed or moved to another Gearman function, a parameter removed or renamed, a
new required parameter, a parameter that became required or lost a way of being passed (by
position, by keyword) or moved, a narrowed (or otherwise changed) parameter type, a result that
may now hold values callers did not expect. Compatible: new jobs, new optional parameters,
widened parameter types, narrowed results, defaults added. A breaking change of a job whose
``version`` went up is *versioned*: workers of the new version refuse calls of the old one, so it
is reported but does not fail the check (drain those queues before the deploy).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from .export import BY_KEYWORD, POSITIONAL
from .subschema import Side, accepts_all


@dataclass(frozen=True, slots=True)
class Change:
    """One difference between the snapshot and today, for one job."""

    job: str
    breaking: bool
    message: str
    versioned: bool = False  # breaking, but the job's version was raised

    @property
    def fails(self) -> bool:
        """Whether this change fails ``gearman_schema --check``."""
        return self.breaking and not self.versioned

    def __str__(self) -> str:
        label = "compatible"
        if self.breaking:
            label = "breaking (versioned)" if self.versioned else "BREAKING"
        return f"{label}: {self.job}: {self.message}"


def compare(old: Mapping[str, Any], new: Mapping[str, Any]) -> list[Change]:
    """Every change from bundle ``old`` (the snapshot) to bundle ``new`` (today's export)."""
    old_jobs, new_jobs = old.get("jobs", {}), new.get("jobs", {})
    changes: list[Change] = []
    for name in sorted(set(old_jobs) | set(new_jobs)):
        if name not in new_jobs:
            changes.append(Change(name, True, "job removed (its queued calls can never run)"))
        elif name not in old_jobs:
            changes.append(Change(name, False, "new job"))
        else:
            changes.extend(_job_changes(name, old_jobs[name], new_jobs[name]))
    return changes


def _job_changes(name: str, old: Mapping[str, Any], new: Mapping[str, Any]) -> list[Change]:
    found: list[tuple[bool, str]] = []
    if old["function"] != new["function"]:
        found.append((True, f"Gearman function renamed {old['function']} -> {new['function']}"))
    old_side = Side(None, old["call"].get("$defs", {}))
    new_side = Side(None, new["call"].get("$defs", {}))
    found.extend(_parameter_changes(old["parameters"], new["parameters"], old_side, new_side))
    old_result = Side(_bare(old["result"]), old["result"].get("$defs", {}))
    new_result = Side(_bare(new["result"]), new["result"].get("$defs", {}))
    if not accepts_all(new_result, old_result):  # results flow to callers: narrowing is safe
        found.append((True, "the result may now hold values that callers do not expect"))
    elif not accepts_all(old_result, new_result):
        found.append((False, "the result type was narrowed"))
    old_version, new_version = int(old["version"]), int(new["version"])
    if new_version < old_version:
        found.append((True, f"version lowered {old_version} -> {new_version}"))
    elif new_version > old_version:
        found.append((False, f"version raised {old_version} -> {new_version}"))
    versioned = new_version > old_version
    return [Change(name, breaking, message, breaking and versioned) for breaking, message in found]


def _bare(document: Mapping[str, Any]) -> dict[str, Any]:
    skip = {"$schema", "$id", "title", "$defs"}
    return {key: value for key, value in document.items() if key not in skip}


def _parameter_changes(
    old: list[Mapping[str, Any]], new: list[Mapping[str, Any]], old_side: Side, new_side: Side
) -> list[tuple[bool, str]]:
    found: list[tuple[bool, str]] = []
    old_named = {p["name"]: p for p in old if p["kind"] not in ("var_positional", "var_keyword")}
    new_named = {p["name"]: p for p in new if p["kind"] not in ("var_positional", "var_keyword")}
    removed = [n for n in old_named if n not in new_named]
    added = [n for n in new_named if n not in old_named]
    old_positions = _positions(old)
    new_positions = _positions(new)
    renamed: dict[str, str] = {}
    for gone in removed:
        twin = next(
            (
                n
                for n in added
                if n not in renamed.values()
                and new_positions.get(n) is not None
                and new_positions.get(n) == old_positions.get(gone)
            ),
            None,
        )
        if twin is not None:
            renamed[gone] = twin
            found.append((True, f"parameter {gone!r} renamed to {twin!r}"))
        else:
            found.append((True, f"parameter {gone!r} removed"))
    for name in added:
        param = new_named[name]
        if param["required"]:
            if name not in renamed.values():
                found.append((True, f"new required parameter {name!r}"))
        elif name not in renamed.values():
            found.append((False, f"new optional parameter {name!r}"))
    for name, before in old_named.items():
        after = new_named.get(name)
        if after is not None:
            found.extend(_one_parameter(name, before, after, old_side, new_side))
            was, now = old_positions.get(name), new_positions.get(name)
            if was is not None and now is not None and was != now:
                found.append((True, f"parameter {name!r} moved from position {was} to {now}"))
    for kind, what in (("var_positional", "*args"), ("var_keyword", "**kwargs")):
        gone = next((p for p in old if p["kind"] == kind), None)
        kept = next((p for p in new if p["kind"] == kind), None)
        if gone is not None and kept is None:
            found.append((True, f"{what} parameter {gone['name']!r} removed"))
        elif gone is None and kept is not None:
            found.append((False, f"{what} parameter {kept['name']!r} added"))
        elif gone is not None and kept is not None:
            found.extend(_type_change(what, gone, kept, old_side, new_side))
    return found


def _positions(params: list[Mapping[str, Any]]) -> dict[str, int]:
    positional = [p["name"] for p in params if p["kind"] in POSITIONAL]
    return {name: index for index, name in enumerate(positional)}


def _one_parameter(
    name: str, before: Mapping[str, Any], after: Mapping[str, Any], old: Side, new: Side
) -> list[tuple[bool, str]]:
    found: list[tuple[bool, str]] = []
    if after["required"] and not before["required"]:
        found.append((True, f"parameter {name!r} became required"))
    elif before["required"] and not after["required"]:
        found.append((False, f"parameter {name!r} became optional"))
    for group, how in ((POSITIONAL, "by position"), (BY_KEYWORD, "by keyword")):
        if before["kind"] in group and after["kind"] not in group:
            found.append((True, f"parameter {name!r} can no longer be passed {how}"))
        elif after["kind"] in group and before["kind"] not in group:
            found.append((False, f"parameter {name!r} can now be passed {how}"))
    found.extend(_type_change(f"parameter {name!r}", before, after, old, new))
    return found


def _type_change(
    what: str, before: Mapping[str, Any], after: Mapping[str, Any], old: Side, new: Side
) -> list[tuple[bool, str]]:
    old_type, new_type = old.at(before["schema"]), new.at(after["schema"])
    widened = accepts_all(old_type, new_type)
    narrowed = accepts_all(new_type, old_type)
    if widened and narrowed:
        return []
    if widened:
        return [(False, f"{what}: type widened")]
    if narrowed:
        return [(True, f"{what}: type narrowed")]
    return [(True, f"{what}: type changed")]
