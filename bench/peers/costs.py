"""``python -m bench.peers.costs KEY [KEY ...]``: what one round trip of a peer costs, alone.

For each peer (a key of ``bench.peers.peers.PEERS``), on the run's own servers (private gearmand,
Redis, SQLite file, PostgreSQL if the peer needs it) with one worker process: the median wall
time of ``--calls`` sequential round trips, the CPU time per job (user + system) of the
worker's process tree and of this client process, and the queries this client makes per round
trip (the worker's own queries are the store's: ``django_gearman/store.py``). Without other
peers and without interleaving: a profile to read next to the tables, not a comparison.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import statistics
import time
from pathlib import Path

from bench.harness import private_gearmand
from bench.peers.base import TEXT, Peer, PeerEnvironment, check_echo
from bench.peers.peers import PEERS
from bench.peers.shared import shared_servers
from bench.peers.workers import PeerWorkers

WARM_UP = 30
LIFETIME = 600.0  # seconds: the workers exit by themselves after this


def cpu_seconds(pids: list[int]) -> tuple[float, float]:
    """User and system CPU time so far of ``pids`` (those that still exist)."""
    user = system = 0
    for pid in pids:
        with contextlib.suppress(OSError, IndexError, ValueError):
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
            user, system = user + int(fields[11]), system + int(fields[12])
    tick = os.sysconf("SC_CLK_TCK")
    return user / tick, system / tick


def measure(peer: Peer, env: PeerEnvironment, calls: int) -> str:
    from django.db import connections
    from django.test.utils import CaptureQueriesContext

    client = peer.client(env)
    try:
        client.purge()
        with PeerWorkers(peer.workers(env, 1)) as workers:
            for _ in range(WARM_UP):
                check_echo(client.call(TEXT), TEXT)
            alias = "results" if peer.needs_postgres else "default"
            with CaptureQueriesContext(connections[alias]) as queries:
                check_echo(client.call(TEXT), TEXT)
            pids = workers.pids()
            worker_cpu, client_cpu = cpu_seconds(pids), os.times()
            took = []
            for _ in range(calls):
                started = time.perf_counter()
                check_echo(client.call(TEXT), TEXT)
                took.append(time.perf_counter() - started)
            worker_after, client_after = cpu_seconds(pids), os.times()
        worker = (worker_after[0] - worker_cpu[0], worker_after[1] - worker_cpu[1])
        client_used = (client_after.user - client_cpu.user, client_after.system - client_cpu.system)

        def per_job(user: float, system: float) -> str:
            return f"{user / calls * 1e3:.2f} + {system / calls * 1e3:.2f}"

        return (
            f"| {peer.key} | {statistics.median(took) * 1e3:.2f} | "
            f"{per_job(*worker)} | {per_job(*client_used)} | "
            f"{len(queries.captured_queries)} |"
        )
    finally:
        client.purge()
        client.close()


def main(argv: list[str] | None = None) -> int:
    keys = [peer.key for peer in PEERS]
    parser = argparse.ArgumentParser(prog="python -m bench.peers.costs", description=__doc__)
    parser.add_argument("peers", nargs="+", choices=keys, metavar="KEY", help=", ".join(keys))
    parser.add_argument("--calls", type=int, default=1_000, help="timed round trips (1000)")
    args = parser.parse_args(argv)
    chosen = [peer for peer in PEERS if peer.key in args.peers]
    print(f"load average: {os.getloadavg()}; {args.calls} round trips per peer, one worker")
    print(
        "| peer | wall ms (p50) | worker CPU ms/job (user + system) | client CPU ms/job "
        "(user + system) | client queries/job |"
    )
    print("|---|---|---|---|---|")
    with shared_servers(postgres=any(peer.needs_postgres for peer in chosen)) as shared:
        for peer in chosen:
            with private_gearmand() as server:
                env = PeerEnvironment(
                    server.address, shared.redis_port, Path(shared.database), LIFETIME
                )
                print(measure(peer, env, max(1, args.calls)), flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
