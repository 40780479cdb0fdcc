"""The contract options of ``@gearman_job`` and the small rules around them."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import pytest

from django_gearman import ConfigurationError, gearman_job
from django_gearman.tracing import header_value
from tests.contracts.contract_jobs.gearman_jobs import coalesced


@pytest.mark.parametrize(
    "options",
    [{"version": 0}, {"version": "2"}, {"version": True}, {"payload_budget": 0}],
)
def test_bad_contract_options_are_configuration_errors(options: dict[str, Any]) -> None:
    with pytest.raises(ConfigurationError, match=r"version|payload_budget"):

        @gearman_job(name="contracts.bad_options", **options)
        def bad() -> None:
            return None


def test_tracestate_goes_in_the_header_only_when_it_fits() -> None:
    traceparent = "00-" + "a" * 32 + "-" + "b" * 16 + "-01"
    assert header_value("traceparent", traceparent) == traceparent
    assert header_value("tracestate", "vendor=value, other=x") == "vendor=value,other=x"
    assert header_value("tracestate", "vendor=a value with spaces") is None
    assert header_value("tracestate", "x" * 600) is None


def test_auto_unique_works_from_asyncio_code(
    eager: None, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("TEST_CONTRACTS_RUNS", str(tmp_path / "runs"))
    monkeypatch.setenv("TEST_CONTRACTS_RELEASE", str(tmp_path))  # exists: the job returns at once

    async def both() -> list[int]:
        job = coalesced.using(unique="auto")
        return [await job.asubmit({"a": 2}, 1), await job.asubmit(ratio=1.0, options={"a": 2})]

    assert asyncio.run(both()) == [2, 2]
