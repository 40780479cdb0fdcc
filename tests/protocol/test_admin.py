"""Admin text protocol: sans-I/O parsing, and every command against gearmand 1.1.20."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from django_gearman.protocol import (
    AdminClient,
    Client,
    JobRequest,
    Priority,
    ProtocolError,
    ServerError,
)
from django_gearman.protocol.admin_client import AdminParser, parse_status, parse_workers


def test_list_and_line_answers_in_pieces():
    parser = AdminParser()
    for piece in (b"fn\t3\t1\t", b"2\nother\t0\t0\t0\n", b".", b"\nOK 1.2\n"):
        parser.feed(piece)
    assert parse_status(parser.next_list() or []) == [("fn", 3, 1, 2), ("other", 0, 0, 0)]
    assert parser.next_line() == "1.2"


def test_empty_list_and_incomplete_answers():
    parser = AdminParser()
    parser.feed(b".\n")
    assert parser.next_list() == []
    parser.feed(b"fn\t1\t0\t0\n")
    assert parser.next_list() is None


def test_err_lines_become_server_errors_with_decoded_text():
    parser = AdminParser()
    parser.feed(b"ERR UNKNOWN_COMMAND Unknown+server+command\r\n")
    with pytest.raises(ServerError) as info:
        parser.next_list()
    assert info.value.code == "UNKNOWN_COMMAND"
    assert info.value.text == "Unknown server command"


def test_bounded_answer_size_and_malformed_lines():
    parser = AdminParser(max_response=10)
    with pytest.raises(ProtocolError):
        parser.feed(b"x" * 11)
    with pytest.raises(ProtocolError):
        parse_status(["only\ttwo"])
    with pytest.raises(ProtocolError):
        parse_status(["fn\tx\t0\t0"])
    with pytest.raises(ProtocolError):
        parse_workers(["garbage"])


def test_admin_commands_against_gearmand(gearmand, start_worker):
    client = Client(gearmand.address)
    client.submit_many(
        [
            JobRequest("queued_fn", b"a", unique="u-1", background=True, priority=Priority.HIGH),
            JobRequest("queued_fn", b"b", background=True, priority=Priority.LOW),
        ],
        timeout=10,
    )
    start_worker(gearmand.address, client_id="admin-test-worker")
    with AdminClient(gearmand.address, timeout=5) as admin:
        assert admin.version().startswith("1.1.")
        assert admin.getpid() == gearmand.pid
        status = {s.function: s for s in admin.status()}
        assert status["queued_fn"].queued == 2
        assert status["queued_fn"].available_workers == 0
        priorities = {p.function: p for p in admin.priority_status()}
        assert (priorities["queued_fn"].high, priorities["queued_fn"].low) == (1, 1)
        jobs = admin.show_jobs()
        assert len(jobs) == 2 and all(j.job_queued for j in jobs)
        assert "u-1" in admin.show_unique_jobs()
        workers = {w.client_id: w for w in admin.workers()}
        for _ in range(500):  # the worker thread registers asynchronously
            if "admin-test-worker" in workers:
                break
            workers = {w.client_id: w for w in admin.workers()}
        assert workers["admin-test-worker"].functions == ("reverse",)
        admin.cancel_job(jobs[0].handle)
        # gearmand marks a cancelled job ignored and no longer queued (it is dropped lazily).
        after = {j.handle: j for j in admin.show_jobs()}
        assert after[jobs[0].handle].ignore_job and not after[jobs[0].handle].job_queued
        assert after[jobs[1].handle].job_queued
        with pytest.raises(ServerError):
            admin.cancel_job("H:nowhere:99")
        with pytest.raises(ValueError):
            admin.cancel_job("two words")
        with pytest.raises(ValueError):
            admin._list("status\nshutdown")
    client.close()


def test_admin_on_a_dead_server_raises_typed_error(gearmand):
    admin = AdminClient(gearmand.address, timeout=2)
    assert admin.status() == []
    gearmand.kill()
    from django_gearman.protocol import GearmanError

    with pytest.raises(GearmanError):
        admin.status()
    admin.close()


def check_admin_bytes(data: bytes, as_list: bool) -> None:
    parser = AdminParser(max_response=1024)
    try:
        parser.feed(data)
        for _ in range(len(data) + 1):  # bounded: each answer consumes at least one line
            answer = parser.next_list() if as_list else parser.next_line()
            if answer is None:
                break
            if as_list:
                assert isinstance(answer, list)
                parse_status(answer)  # lines parse, or ProtocolError
    except (ProtocolError, ServerError):
        pass


@given(st.binary(max_size=600), st.booleans())
def test_fuzz_admin_answers_give_lines_or_typed_errors(data, as_list):
    check_admin_bytes(data, as_list)


@pytest.mark.fuzz
@given(st.binary(max_size=2000), st.booleans())
def test_long_fuzz_admin_answers(data, as_list):
    check_admin_bytes(data, as_list)
