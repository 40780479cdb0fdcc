"""ServerRing without sockets: rotation, affinity, avoidance that grows, one probe at a time."""

from __future__ import annotations

import threading
import time

from django_gearman.protocol import ServerAddress
from django_gearman.protocol.ring import ServerRing

SERVERS = [ServerAddress("127.0.0.1", 4730 + i) for i in range(3)]


def ring(down_interval: float = 60.0, **settings: float) -> ServerRing:
    return ServerRing(
        SERVERS,
        retries=int(settings.pop("retries", 1)),
        backoff=settings.pop("backoff", 0.0),
        max_backoff=settings.pop("max_backoff", 1.0),
        down_interval=down_interval,
        **settings,
    )


def test_a_unique_id_always_plans_the_same_first_server() -> None:
    servers = ring()
    assert len({servers.plan(b"order-17")[0] for _ in range(20)}) == 1


def test_jobs_without_unique_rotate_over_every_server() -> None:
    servers = ring()
    assert {servers.plan(b"")[0] for _ in range(6)} == {0, 1, 2}


def test_an_avoided_server_is_planned_last() -> None:
    servers = ring()
    servers.mark_down(1)
    for _ in range(6):
        assert servers.plan(b"")[-1] == 1


def test_avoidance_grows_with_each_failure_and_a_success_forgets_it() -> None:
    servers = ring(down_interval=1.0, max_down_interval=4.0)
    periods = [servers.mark_down(0) for _ in range(4)]
    assert periods[0] <= 1.0 and periods[1] > 1.0 and periods[-1] <= 4.0
    assert periods == sorted(periods) or periods[-1] >= 0.9 * 4.0  # jitter never lifts the cap
    servers.mark_up(0)
    assert not servers.is_avoided(0)
    assert servers.mark_down(0) <= 1.0


def test_when_avoidance_ends_exactly_one_caller_probes_the_server() -> None:
    servers = ring(down_interval=0.0, probe_timeout=60.0)
    servers.mark_down(0)  # avoided "until now": due for a probe at once
    assert servers.is_avoided(0)
    firsts = [servers.order(0)[0] for _ in range(10)]
    assert firsts[0] == 0, "the first caller starting at server 0 probes it"
    assert all(first != 0 for first in firsts[1:]), "everyone else keeps avoiding it"


def test_probe_claims_across_threads_go_to_one_thread() -> None:
    servers = ring(down_interval=0.0, probe_timeout=60.0)
    servers.mark_down(2)
    claims: list[int] = []
    lock = threading.Lock()

    def caller() -> None:
        first = servers.order(2)[0]
        with lock:
            claims.append(first)

    threads = [threading.Thread(target=caller) for _ in range(16)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(10)
    assert claims.count(2) == 1


def test_a_failed_probe_avoids_the_server_again_and_a_lost_probe_expires() -> None:
    servers = ring(down_interval=0.0, probe_timeout=0.05)
    servers.mark_down(0)
    assert servers.order(0)[0] == 0  # probe claimed ...
    assert servers.order(0)[0] != 0
    time.sleep(0.06)  # ... and never reported: another caller may probe after probe_timeout
    assert servers.order(0)[0] == 0
    servers.mark_down(0)  # that probe failed: avoided again (its period grows)
    assert servers.is_avoided(0)


def test_retry_rounds_pause_by_the_backoff_rule() -> None:
    servers = ring(retries=3, backoff=0.1, max_backoff=0.3)
    pauses = [pause for pause, _ in servers.attempts(servers.plan(b""))]
    assert len(pauses) == 4 * len(SERVERS)
    assert [round(pause, 6) for pause in pauses if pause] == [0.1, 0.2, 0.3]
