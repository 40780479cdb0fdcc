"""The product end to end: the client in this process, ``manage.py gearman_worker -w 2`` in a
subprocess, a private gearmand between them."""

from __future__ import annotations

import json
import subprocess
import threading
from collections.abc import Iterator
from decimal import Decimal
from typing import Any

import pytest
from django.test import override_settings

from django_gearman import GearmanClient, JobFailed, Task
from django_gearman.exceptions import JobRefused
from django_gearman.protocol import JobTimeout, Worker, WorkerJob
from serializers import DecodePolicy, ValidationFailed, decode, encode
from tests.django.jobs_app import gearman_jobs as jobs
from tests.django.support import WorkerProcess, check_progress_reports, wait_until, workers_for
from tests.support.gearmand import Gearmand

KEYS = {"k1": "an-end-to-end-secret-123"}


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Gearmand]:
    gearmand = Gearmand(workdir=tmp_path_factory.mktemp("gearmand-e2e"))
    gearmand.start()
    yield gearmand
    gearmand.stop()


@pytest.fixture(scope="module")
def worker(server: Gearmand) -> Iterator[WorkerProcess]:
    process = WorkerProcess(server.address, ["-w", "2"])
    process.start()
    try:
        process.wait_for_workers("tests.django.jobs_app.echo", 2)
        yield process
    finally:
        process.stop()


@pytest.fixture
def client(server: Gearmand, worker: WorkerProcess) -> Iterator[GearmanClient]:
    with (
        override_settings(GEARMAN_SERVERS=[server.address], GEARMAN_EAGER=False),
        GearmanClient() as gearman_client,
    ):
        yield gearman_client


def test_every_call_form_round_trips(client: GearmanClient) -> None:
    assert client.submit_job("tests.django.jobs_app.echo", {"a": [1, 2]}) == {"a": [1, 2]}
    assert client.submit_job("tests.django.jobs_app.add", one=1, two=2) == 3
    assert client.submit_job("tests.django.jobs_app.add", args=[1, 2, 3]) == 6
    assert client.submit_job(
        "tests.django.jobs_app.reserved_params", kwargs={"background": True, "unique": False}
    ) == [True, False]
    assert client.submit_job("tests.django.jobs_app.decimal_double", Decimal("2.5")) == Decimal(5)
    assert client.do_task(Task("gearman_example.reverse", "stressed")) == "desserts"


def test_typed_job_and_api(client: GearmanClient) -> None:
    assert jobs.shift.submit(jobs.Point(x=1, y=2), by=3) == jobs.Point(x=4, y=5)
    assert jobs.add.using(priority="high").submit(4, 5) == 9


def test_background_job_returns_a_handle(client: GearmanClient) -> None:
    handle = client.dispatch_background_task("gearman_example.background_counting", None)
    assert handle.startswith("H:")
    assert jobs.add.dispatch(1, 2).startswith("H:")


def test_job_exception_reaches_the_client_with_details(client: GearmanClient) -> None:
    with pytest.raises(JobFailed) as caught:
        jobs.explode.submit("disk full")
    assert caught.value.remote_type == "tests.django.jobs_app.gearman_jobs.Boom"
    assert caught.value.remote_message == "disk full"
    assert "raise Boom(message)" in caught.value.remote_traceback


def test_refused_content_type_arrives_as_an_error_and_the_worker_keeps_serving(
    client: GearmanClient, worker: WorkerProcess
) -> None:
    with pytest.raises(JobRefused) as caught:
        client.do_task(Task("tests.django.jobs_app.msgpack_only", 1, serializer="json"))
    assert caught.value.remote_type == "serializers.errors.ContentTypeNotAccepted"
    assert jobs.msgpack_only.submit({"still": "alive"}) == {"still": "alive"}
    assert worker.process is not None and worker.process.poll() is None


def test_result_is_validated_on_the_client(client: GearmanClient) -> None:
    with pytest.raises(ValidationFailed, match="result"):
        jobs.wrong_result.submit()


def test_progress_data_and_warnings_reach_the_caller(client: GearmanClient) -> None:
    check_progress_reports(4)


def test_foreground_timeout_for_a_function_nobody_serves(client: GearmanClient) -> None:
    with pytest.raises(JobTimeout):
        client.submit_job("nobody.serves.this", 1, poll_timeout=0.3)


def test_job_known_only_by_name_with_an_explicit_serializer(
    server: Gearmand, client: GearmanClient
) -> None:
    """A foreign worker (plain transport + envelopes, as another language would do)."""
    policy = DecodePolicy(accept=frozenset({"application/msgpack"}))

    def foreign(job: WorkerJob) -> bytes:
        call = decode(job.data, policy, job=job.function).value
        return encode(sum(call["args"]), "msgpack", job=job.function)

    foreign_worker = Worker([server.address])
    foreign_worker.register("other.lang.sum", foreign)
    thread = threading.Thread(target=foreign_worker.work, kwargs={"max_jobs": 1}, daemon=True)
    thread.start()
    try:
        wait_until(lambda: workers_for(server.address, "other.lang.sum") >= 1, 10, "foreign")
        msgpack_client = GearmanClient(serializer="msgpack")
        assert msgpack_client.submit_job("other.lang.sum", args=[1, 2, 3]) == 6
        msgpack_client.close()
    finally:
        foreign_worker.stop()
        thread.join(10)
        foreign_worker.close()


def test_list_tasks_and_status_commands(server: Gearmand, client: GearmanClient) -> None:
    from io import StringIO

    from django.core.management import call_command

    out = StringIO()
    call_command("gearman_status", servers=server.address, stdout=out)
    table = out.getvalue()
    line = next(row for row in table.splitlines() if " tests.django.jobs_app.echo " in row)
    assert line.split()[-1] == "2"  # two workers serve echo


def test_signed_cluster(server: Gearmand) -> None:
    """Only the signed worker serves the ``signed.`` names (GEARMAN_JOB_NAME namespacing)."""
    prefix = "signed.{name}"
    env = {"TEST_GEARMAN_SIGNING_KEYS": json.dumps(KEYS), "TEST_GEARMAN_JOB_NAME": prefix}
    signed = WorkerProcess(server.address, ["-w", "1", "-q", "reports"], env=env)
    signed.start()
    common: dict[str, Any] = {"GEARMAN_SERVERS": [server.address], "GEARMAN_JOB_NAME": prefix}
    try:
        signed.wait_for_workers("signed.tests.django.jobs_app.report_progress", 1)
        with override_settings(**common, GEARMAN_SIGNING_KEYS=KEYS):
            assert jobs.report_progress.submit(2) == 2
        wrong = {"k1": "not-the-right-secret-at-all"}
        with override_settings(**common, GEARMAN_SIGNING_KEYS=wrong), pytest.raises(JobFailed):
            jobs.report_progress.submit(2)
        with override_settings(**common), pytest.raises(JobFailed) as caught:
            jobs.report_progress.submit(2)
        assert "SignatureMissing" in str(caught.value)
    finally:
        signed.stop()
    log = signed.output()
    assert "job=tests.django.jobs_app.report_progress handle=H:" in log
    assert KEYS["k1"] not in log and "not-the-right-secret" not in log


def gearman_cli(server: Gearmand, function: str, data: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        ["gearman", "-h", "127.0.0.1", "-p", str(server.port), "-f", function, data],
        capture_output=True,
        text=True,
        timeout=30,
    )


def test_gearman_command_line_tool_calls_an_unenveloped_job(server: Gearmand, worker: Any) -> None:
    done = gearman_cli(server, "tests.django.jobs_app.shout", "hello")
    assert done.stdout.strip() == "HELLO", done.stderr


def test_bare_payload_to_an_enveloped_job_is_refused(server: Gearmand, worker: Any) -> None:
    """Refused with an error envelope (WORK_EXCEPTION); the job never runs."""
    from django_gearman.protocol import Client

    with Client([server.address]) as raw:
        result = raw.submit("tests.django.jobs_app.echo", b"hello", timeout=10)
    assert result.state == "exception"
    error = decode(result.exception or b"", DecodePolicy(), job="tests.django.jobs_app.echo")
    assert error.value["error"]["type"] == "serializers.errors.MalformedEnvelope"


def test_do_tasks_pipelines_many_jobs(client: GearmanClient) -> None:
    tasks = [Task("tests.django.jobs_app.add", args=[index, index]) for index in range(50)]
    tasks.append(Task("tests.django.jobs_app.explode", "one bad"))
    tasks.append(Task("gearman_example.background_counting", None, background=True))
    results = client.do_tasks(tasks, timeout=30, return_exceptions=True)
    assert results[:50] == [index * 2 for index in range(50)]
    assert isinstance(results[50], JobFailed) and results[50].remote_message == "one bad"
    assert isinstance(results[51], str) and results[51].startswith("H:")


def test_do_tasks_gives_each_task_its_own_timeout(client: GearmanClient) -> None:
    """A task's own ``timeout`` bounds its wait even when the batch's is longer; the other tasks
    of the batch still get their results."""
    sleeper = Task("tests.django.jobs_app.slow_job", kwargs={"seconds": 2.0}, timeout=0.3)
    quick = Task("tests.django.jobs_app.add", args=[1, 2])
    results = client.do_tasks([sleeper, quick], timeout=30, return_exceptions=True)
    assert isinstance(results[0], JobTimeout), results[0]
    assert results[1] == 3


def test_asyncio_submit_many_jobs_in_flight(client: GearmanClient) -> None:
    import asyncio

    job = jobs.add.using(client=client)

    async def main() -> list[Any]:
        try:
            results = await asyncio.gather(*(job.asubmit(i, 1) for i in range(20)))
            return [*results, await job.adispatch(1, 1)]
        finally:
            await client.aclose()

    gathered = asyncio.run(main())
    assert gathered[:20] == [i + 1 for i in range(20)]
    assert gathered[20].startswith("H:")


def test_worker_validates_calls_from_clients_that_do_not(server: Gearmand, worker: Any) -> None:
    """Another program skips validation: the worker refuses, naming the parameter."""
    from django_gearman.protocol import Client

    name = "tests.django.jobs_app.add"
    bad_call = encode({"args": ["one", 2], "kwargs": {}}, "json", job=name)
    with Client([server.address]) as raw:
        result = raw.submit(name, bad_call, timeout=10)
    assert result.state == "exception"
    error = decode(result.exception or b"", DecodePolicy(), job=name).value["error"]
    assert error["type"] == "serializers.errors.ValidationFailed"
    assert error["refused"] is True
    assert [detail["loc"] for detail in error["errors"]] == ["args.0"]
