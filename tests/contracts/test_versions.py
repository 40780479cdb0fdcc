"""A rolling deploy: a client of version 1 calls a worker that serves version 2 of the job.

The worker (a ``gearman_worker`` subprocess of deploy v2_versioned) refuses the old call without
running it, naming both versions; calls without a version (peers, the shell) or of its own
version run.
"""

from __future__ import annotations

from collections.abc import Callable

import pytest

from django_gearman import GearmanClient, JobRefused
from django_gearman.calls import job_spec
from django_gearman.protocol import Client
from serializers import decode
from tests.contracts.deploys.v1.gearman_jobs import place, stats
from tests.django.support import WorkerProcess
from tests.support.gearmand import Gearmand

JOB = "deploy.place"


def test_old_version_call_is_refused_naming_both_versions(
    live: Gearmand, contract_worker: Callable[..., WorkerProcess]
) -> None:
    worker = contract_worker(wait_for=JOB, env={"TEST_CONTRACTS_APP": "v2_versioned"})
    with pytest.raises(JobRefused) as caught:
        place.using(client=GearmanClient([live.address])).submit("ada", 2)
    error = caught.value
    assert error.remote_type == "django_gearman.schemas.versions.IncompatibleVersion"
    assert "version '1'" in error.remote_message and "serves version 2" in error.remote_message
    assert "outcome=refused:django_gearman.schemas.versions.IncompatibleVersion" in worker.output()


@pytest.mark.parametrize(
    ("header", "runs"),
    [
        pytest.param("GME/1 ct=application/json", True, id="no version: a peer"),
        pytest.param("GME/1 ct=application/json schema=deploy.place@2", True, id="own version"),
        pytest.param("GME/1 ct=application/json schema=deploy.place@3", False, id="newer"),
        pytest.param("GME/1 ct=application/json schema=shop.other@2", False, id="other job"),
    ],
)
def test_calls_by_header(
    live: Gearmand, contract_worker: Callable[..., WorkerProcess], header: str, runs: bool
) -> None:
    contract_worker(wait_for=JOB, env={"TEST_CONTRACTS_APP": "v2_versioned"})
    body = b'{"args":["ada",2,"north"],"kwargs":{}}'
    result = Client([live.address]).submit(JOB, header.encode() + b"\n" + body, timeout=30)
    if runs:
        assert result.state == "complete"
        assert decode(result.result).value == "ada:2:north:"
    else:
        assert result.state == "exception"
        error = decode(result.exception or b"").value["error"]
        assert error["refused"] is True
        assert error["type"] == "django_gearman.schemas.versions.IncompatibleVersion"
        assert header.rsplit("=", 1)[1] in error["message"] or "'3'" in error["message"]


def test_only_versioned_jobs_write_the_schema_field(eager: None) -> None:
    versioned = job_spec(place).encode_call(("ada", 1), {})
    assert decode(versioned).schema == "deploy.place@1"
    assert versioned.startswith(b"GME/1 ct=application/json schema=deploy.place@1 accept=")
    unversioned = job_spec(stats).encode_call(([1],), {})
    assert decode(unversioned).schema is None
    assert place.submit("ada", 1) == "ada:1:"  # eager: the worker's own path, same version
