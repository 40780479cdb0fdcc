"""Names a new user gets wrong (issue 16, items 16 and 19): a typo in a job name is refused at
once, naming the closest jobs, the same in eager and real mode; ``GEARMAN_SERVERS`` written
as one comma-separated string means several servers. Against real gearmand and workers.
"""

from __future__ import annotations

from collections.abc import Callable

import pytest
from django.test import override_settings

from django_gearman import GearmanClient, JobNotFound, Task
from django_gearman.conf import get_settings, read_settings
from django_gearman.protocol import AdminClient, JobTimeout
from tests.django.support import WorkerProcess, wait_until, workers_for
from tests.support.gearmand import Gearmand

ECHO = "tests.django.jobs_app.echo"
TYPO = "tests.django.jobs_app.ehco"


def functions_on(server: Gearmand) -> set[str]:
    """Every function gearmand has heard of (a submitted job makes one appear)."""
    with AdminClient(server.address, timeout=5) as admin:
        return {status.function for status in admin.status()}


def submit_typo(client: GearmanClient, how: str) -> object:
    if how == "submit_job":
        return client.submit_job(TYPO, "hello", poll_timeout=1)
    if how == "background":
        return client.submit_job(TYPO, "hello", background=True)
    if how == "dispatch_background_task":
        return client.dispatch_background_task(TYPO, "hello")
    if how == "do_task":
        return client.do_task(Task(TYPO, "hello", timeout=1))
    return client.do_tasks([Task(ECHO, 1), Task(TYPO, "hello", timeout=1)])


HOW = ["submit_job", "background", "dispatch_background_task", "do_task", "do_tasks"]


@pytest.mark.parametrize("how", HOW)
def test_a_typo_is_refused_at_once_naming_the_closest_job_and_nothing_is_sent(
    how: str, live: Gearmand
) -> None:
    with GearmanClient() as client, pytest.raises(JobNotFound) as refused:
        submit_typo(client, how)
    assert refused.value.suggestions[0] == ECHO
    assert f"Did you mean {ECHO!r}" in str(refused.value)
    assert "GEARMAN_REMOTE_JOBS" in str(refused.value)
    assert TYPO not in functions_on(live)  # nothing queued that no worker will ever take


@pytest.mark.parametrize("how", HOW)
@pytest.mark.usefixtures("eager")
def test_eager_mode_refuses_a_typo_the_same_way(how: str) -> None:
    with pytest.raises(JobNotFound) as refused:
        submit_typo(GearmanClient(), how)
    assert refused.value.suggestions[0] == ECHO


def test_a_name_far_from_every_job_gets_no_suggestion(live: Gearmand) -> None:
    with GearmanClient() as client, pytest.raises(JobNotFound) as refused:
        client.submit_job("zzz", 1)
    assert refused.value.suggestions == ()
    assert "Did you mean" not in str(refused.value)


@override_settings(GEARMAN_REMOTE_JOBS=["php.*", "node.resize"])
def test_a_job_declared_remote_is_sent(live: Gearmand) -> None:
    with GearmanClient() as client:
        handle = client.dispatch_background_task("php.thumbnail", "a.png")
        assert handle.startswith("H:")
        assert client.submit_job("node.resize", 1, background=True).startswith("H:")
        with pytest.raises(JobTimeout):  # sent: nobody serves it here, so the wait runs out
            client.submit_job("php.thumbnail", "a.png", poll_timeout=0.3)
        with pytest.raises(JobNotFound):
            client.submit_job("node.resized", 1)
    assert {"php.thumbnail", "node.resize"} <= functions_on(live)


def test_an_explicit_serializer_declares_a_job_remote(live: Gearmand) -> None:
    with GearmanClient(serializer="msgpack") as msgpack_client:
        assert msgpack_client.submit_job("php.resize", 1, background=True).startswith("H:")
    with GearmanClient() as client:
        task = Task("php.crop", 1, background=True, serializer="json")
        assert client.do_task(task).startswith("H:")
    assert {"php.resize", "php.crop"} <= functions_on(live)


@pytest.mark.parametrize("value", ["php.*", [""], [1]])
def test_gearman_remote_jobs_must_be_a_list_of_names(value: object) -> None:
    with override_settings(GEARMAN_REMOTE_JOBS=value):
        assert any("GEARMAN_REMOTE_JOBS" in problem for problem in read_settings().problems)


# -- 19: "a:1,b:2" is two servers -------------------------------------------------------------


def test_a_comma_separated_string_is_several_servers() -> None:
    with override_settings(GEARMAN_SERVERS="127.0.0.1:4731, [::1]:4732,localhost"):
        assert get_settings().servers == ("127.0.0.1:4731", "[::1]:4732", "localhost:4730")
    with override_settings(GEARMAN_SERVERS=["127.0.0.1:4731,127.0.0.1:4732"]):
        assert get_settings().servers == ("127.0.0.1:4731", "127.0.0.1:4732")


@pytest.mark.parametrize("value", ["127.0.0.1:4731,", ",", ""])
def test_an_empty_server_between_commas_is_named(value: str) -> None:
    with override_settings(GEARMAN_SERVERS=value):
        assert any("empty server address" in problem for problem in read_settings().problems)


def test_jobs_reach_a_worker_through_either_server_of_a_comma_separated_setting(
    gearmand_factory: Callable[..., Gearmand],
) -> None:
    first, second = gearmand_factory(), gearmand_factory()
    both = f"{first.address},{second.address}"
    worker = WorkerProcess(both, [])
    worker.start()
    try:
        servers = (first, second)
        wait_until(lambda: all(workers_for(s.address, ECHO) for s in servers), 30, "the worker")
        with override_settings(GEARMAN_SERVERS=both, GEARMAN_EAGER=False):
            with GearmanClient() as client:
                assert [client.submit_job(ECHO, n) for n in range(10)] == list(range(10))
            first.stop()
            with GearmanClient() as client:  # only the second server is left
                assert client.submit_job(ECHO, "still here") == "still here"
            with GearmanClient(both) as client:  # the client's own servers= reads them too
                assert client.submit_job(ECHO, "as an argument") == "as an argument"
    finally:
        worker.stop()
