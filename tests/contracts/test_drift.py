"""``gearman_schema --check``: a deploy's signatures against the snapshot of the previous one.

Each deploy is an app of tests/contracts/deploys run as its own manage.py subprocess: v1 writes
the snapshot; v2_compatible passes (exit 0), v2_breaking fails (exit 1) naming every breaking
change, v2_versioned reports the same changes as versioned and passes.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any, Literal

import pytest

from django_gearman.schemas.drift import Change, compare
from django_gearman.schemas.export import bundle, contract_of
from tests.contracts.support import manage


@pytest.fixture(scope="module")
def snapshot(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("snapshot") / "contracts.json"
    done = manage("gearman_schema", "-o", str(path), TEST_CONTRACTS_APP="v1")
    assert done.returncode == 0, done.stderr
    assert set(json.loads(path.read_text())["jobs"]) == {"deploy.place", "deploy.stats"}
    return path


DEPLOYS = [
    pytest.param(
        "v2_compatible",
        0,
        [
            "compatible: deploy.new_job: new job",
            "compatible: deploy.place: new optional parameter 'rush'",
            "compatible: deploy.place: parameter 'quantity': type widened",
            "compatible: deploy.stats: new optional parameter 'scale'",
        ],
        id="compatible changes pass",
    ),
    pytest.param(
        "v2_breaking",
        1,
        [
            "BREAKING: deploy.place: parameter 'customer' renamed to 'client'",
            "BREAKING: deploy.place: parameter 'quantity': type narrowed",
            "BREAKING: deploy.place: new required parameter 'warehouse'",
            "BREAKING: deploy.place: parameter 'note' moved from position 2 to 3",
            "BREAKING: deploy.stats: the result may now hold values that callers do not expect",
        ],
        id="breaking changes fail with exit code 1",
    ),
    pytest.param(
        "v2_versioned",
        0,
        [
            "breaking (versioned): deploy.place: parameter 'customer' renamed to 'client'",
            "breaking (versioned): deploy.place: new required parameter 'warehouse'",
            "compatible: deploy.place: version raised 1 -> 2",
        ],
        id="breaking changes with a version bump are reported and pass",
    ),
]


@pytest.mark.parametrize(("deploy", "exit_code", "expected"), DEPLOYS)
def test_check_against_the_snapshot(
    snapshot: Path, deploy: str, exit_code: int, expected: list[str]
) -> None:
    done = manage("gearman_schema", "--check", str(snapshot), TEST_CONTRACTS_APP=deploy)
    assert done.returncode == exit_code, done.stdout + done.stderr
    lines = done.stdout.splitlines()
    assert [line for line in expected if line not in lines] == []
    failing = [line for line in lines if line.startswith("BREAKING")]
    if exit_code:
        assert f"{len(failing)} breaking change(s) without a version bump" in done.stderr
    else:
        assert failing == []


def test_a_removed_job_is_breaking(snapshot: Path, tmp_path: Path) -> None:
    data = json.loads(snapshot.read_text())
    data["jobs"]["deploy.gone"] = data["jobs"]["deploy.stats"]
    edited = tmp_path / "edited.json"
    edited.write_text(json.dumps(data))
    done = manage("gearman_schema", "--check", str(edited), TEST_CONTRACTS_APP="v1")
    assert done.returncode == 1
    assert "BREAKING: deploy.gone: job removed (its queued calls can never run)" in done.stdout


@pytest.mark.parametrize(
    "content", [b"not json", b'{"format": "other"}', b'{"format": "django-gearman-contracts/1"}']
)
def test_an_unusable_snapshot_exits_2(tmp_path: Path, content: bytes) -> None:
    path = tmp_path / "bad.json"
    path.write_bytes(content)
    done = manage("gearman_schema", "--check", str(path), TEST_CONTRACTS_APP="v1")
    assert done.returncode == 2, done.stderr
    assert "snapshot" in done.stderr and "Traceback" not in done.stderr


def _changes(before: Callable[..., Any], after: Callable[..., Any]) -> list[str]:
    old = bundle([contract_of(before, "j", "j", 1)])
    new = bundle([contract_of(after, "j", "j", 1)])
    return [str(change) for change in compare(old, new)]


def test_rules_for_kinds_requiredness_and_types() -> None:
    def base(a: int, b: str = "", *, c: list[int] | None = None) -> int:
        raise NotImplementedError

    def keyword_only_a(*, a: int, b: str = "", c: list[int] | None = None) -> int:
        raise NotImplementedError

    def required_b(a: int, b: str, *, c: list[int] | None = None) -> int:
        raise NotImplementedError

    def c_positional(a: int, b: str = "", c: list[int] | None = None) -> int:
        raise NotImplementedError

    def c_narrowed(a: int, b: str = "", *, c: list[int] = []) -> int:  # noqa: B006
        raise NotImplementedError

    def result_narrowed(a: int, b: str = "", *, c: list[int] | None = None) -> Literal[1]:
        raise NotImplementedError

    def with_varargs(a: int, b: str = "", *rest: int, c: list[int] | None = None) -> int:
        raise NotImplementedError

    assert _changes(base, base) == []
    assert _changes(base, keyword_only_a) == [
        "BREAKING: j: parameter 'a' can no longer be passed by position",
        "BREAKING: j: parameter 'b' can no longer be passed by position",
    ]
    assert _changes(base, required_b) == ["BREAKING: j: parameter 'b' became required"]
    assert _changes(required_b, base) == ["compatible: j: parameter 'b' became optional"]
    assert _changes(base, c_positional) == [
        "compatible: j: parameter 'c' can now be passed by position"
    ]
    assert _changes(base, c_narrowed) == ["BREAKING: j: parameter 'c': type narrowed"]
    assert _changes(base, result_narrowed) == ["compatible: j: the result type was narrowed"]
    assert _changes(base, with_varargs) == ["compatible: j: *args parameter 'rest' added"]
    assert _changes(with_varargs, base) == ["BREAKING: j: *args parameter 'rest' removed"]


def test_change_labels() -> None:
    assert Change("j", True, "x").fails
    assert not Change("j", True, "x", versioned=True).fails
    assert not Change("j", False, "x").fails
