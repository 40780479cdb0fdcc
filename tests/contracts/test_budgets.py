"""Payload budgets: over a job's budget a payload is still sent, but logged and counted; over
GEARMAN_MAX_PAYLOAD_SIZE it is refused (after the same warning)."""

from __future__ import annotations

import json
import logging
from collections.abc import Callable

import pytest
from django.test import override_settings
from opentelemetry import metrics
from opentelemetry.sdk.metrics import MeterProvider
from opentelemetry.sdk.metrics.export import InMemoryMetricReader, NumberDataPoint

from django_gearman.calls import job_spec
from django_gearman.protocol import Client
from django_gearman.schemas.budgets import over_budget_counts
from serializers import PayloadTooLarge, decode
from tests.contracts.contract_jobs.gearman_jobs import sized, traced
from tests.django.support import WorkerProcess, wait_until
from tests.support.gearmand import Gearmand

JOB = "contracts.sized"


@pytest.fixture(scope="module")
def metric_reader() -> InMemoryMetricReader:
    """This process's meter provider (metrics only: no other test reads metrics)."""
    reader = InMemoryMetricReader()
    metrics.set_meter_provider(MeterProvider(metric_readers=[reader]))
    return reader


def over_budget_metric(reader: InMemoryMetricReader) -> int:
    data = reader.get_metrics_data()
    total = 0
    for resource in data.resource_metrics if data else []:
        for scope in resource.scope_metrics:
            for metric in scope.metrics:
                if metric.name == "gearman.payload.over_budget":
                    for point in metric.data.data_points:
                        attributes = point.attributes or {}
                        if attributes.get("messaging.destination.name") == JOB:
                            assert isinstance(point, NumberDataPoint)
                            total += int(point.value)
    return total


def test_over_budget_warns_and_counts_then_sends(
    eager: None, caplog: pytest.LogCaptureFixture, metric_reader: InMemoryMetricReader
) -> None:
    before, metric_before = over_budget_counts().get(JOB, 0), over_budget_metric(metric_reader)
    with caplog.at_level(logging.WARNING, logger="django_gearman.budgets"):
        assert sized.submit("x" * 50) == 50
        assert caplog.records == []
        assert sized.submit("x" * 300) == 300
    [record] = caplog.records
    assert record.getMessage().startswith(f"job={JOB} sent payload of ")
    assert "over its budget of 200 bytes" in record.getMessage()
    assert over_budget_counts()[JOB] == before + 1
    assert over_budget_metric(metric_reader) == metric_before + 1


def test_the_hard_limit_still_refuses_after_the_warning(
    eager: None, caplog: pytest.LogCaptureFixture
) -> None:
    with (
        override_settings(GEARMAN_MAX_PAYLOAD_SIZE=400),
        caplog.at_level(logging.WARNING, logger="django_gearman.budgets"),
        pytest.raises(PayloadTooLarge, match="over GEARMAN_MAX_PAYLOAD_SIZE"),
    ):
        sized.submit("x" * 500)
    assert len(caplog.records) == 1


def test_default_budget_is_a_share_of_the_hard_limit(eager: None) -> None:
    with override_settings(GEARMAN_MAX_PAYLOAD_SIZE=1000):
        assert job_spec(traced).payload_budget == 800
        assert job_spec(sized).payload_budget == 200


def test_a_worker_warns_about_a_received_call_over_budget(
    live: Gearmand, contract_worker: Callable[..., WorkerProcess]
) -> None:
    worker = contract_worker(wait_for=JOB)
    body = json.dumps({"args": ["y" * 300], "kwargs": {}}).encode()
    payload = b"GME/1 ct=application/json\n" + body  # as a peer in another language sends it
    result = Client([live.address]).submit(JOB, payload, timeout=30)
    assert result.state == "complete" and decode(result.result).value == 300
    small = Client([live.address]).submit(
        JOB, b'GME/1 ct=application/json\n{"args":["y"],"kwargs":{}}'
    )
    assert small.state == "complete"
    wait_until(lambda: worker.output().count("outcome=ok") == 2, 30, "both jobs logged")
    warnings = [line for line in worker.output().splitlines() if "over its budget" in line]
    assert (
        len(warnings) == 1 and f"job={JOB} received payload of {len(payload)} bytes" in warnings[0]
    )
