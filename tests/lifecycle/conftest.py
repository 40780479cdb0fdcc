"""Fixtures of the lifecycle tests: a database on SQLite and on PostgreSQL (each module that uses
``store_database`` runs once per database), a gearmand and worker subprocesses on them."""

from __future__ import annotations

import itertools
from collections.abc import Iterator
from pathlib import Path

import pytest
from django.test import override_settings

from tests.django.support import WorkerProcess
from tests.lifecycle.store_support import (
    StoreDatabase,
    default_database,
    sqlite_settings,
    start_worker,
)
from tests.support.gearmand import Gearmand
from tests.support.postgres import PostgresServer

_database_names = itertools.count(1)


@pytest.fixture(scope="session")
def postgres_server() -> Iterator[PostgresServer]:
    """One throwaway PostgreSQL server for the session (each module gets its own database)."""
    server = PostgresServer()
    server.start()
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
def store_database(
    request: pytest.FixtureRequest,
    tmp_path_factory: pytest.TempPathFactory,
    django_db_blocker: object,
) -> Iterator[StoreDatabase]:
    """This process's ``default`` database for the module, migrated, shared with workers."""
    if request.param == "sqlite":
        settings = sqlite_settings(tmp_path_factory.mktemp("store") / "store.sqlite3")
    else:
        server: PostgresServer = request.getfixturevalue("postgres_server")
        name = f"store_{next(_database_names)}"
        server.create_database(name)
        settings = server.database_settings(name)
    with django_db_blocker.unblock(), default_database(settings):  # type: ignore[attr-defined]
        yield StoreDatabase(request.param, settings)


@pytest.fixture(scope="module")
def store_gearmand(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Gearmand]:
    server = Gearmand(workdir=tmp_path_factory.mktemp("gearmand-store"))
    server.start()
    yield server
    server.stop()


@pytest.fixture(scope="module")
def signals_log(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The file the workers' signal receivers append to (see store_jobs)."""
    return tmp_path_factory.mktemp("signals") / "signals.jsonl"


@pytest.fixture(scope="module")
def store_worker(
    store_gearmand: Gearmand, store_database: StoreDatabase, signals_log: Path
) -> Iterator[WorkerProcess]:
    """``gearman_worker -w 2`` serving every store job on the module's database."""
    process = start_worker(
        store_gearmand.address,
        store_database,
        "-w",
        "2",
        wait_for="stored_add",
        count=2,
        STORE_TEST_SIGNALS=str(signals_log),
    )
    yield process
    process.stop()


@pytest.fixture
def gearman_servers(store_gearmand: Gearmand, store_worker: WorkerProcess) -> Iterator[str]:
    """Jobs submitted in the test go to the module's gearmand (served by ``store_worker``)."""
    with override_settings(GEARMAN_SERVERS=[store_gearmand.address], GEARMAN_EAGER=False):
        yield store_gearmand.address
