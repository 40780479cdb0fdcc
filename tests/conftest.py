"""Shared fixtures: private gearmand servers on free loopback ports.

A missing gearmand fails the tests that need it (GearmandError), it never skips them.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator

import pytest
from hypothesis import HealthCheck, settings

from tests.support.gearmand import Gearmand

settings.register_profile(
    "ci", max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow]
)
settings.register_profile(
    "fuzz", max_examples=50_000, deadline=None, suppress_health_check=list(HealthCheck)
)
settings.load_profile("ci")


@pytest.fixture
def gearmand_factory(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Callable[..., Gearmand]]:
    """Start any number of gearmand processes; all are stopped at teardown."""
    started: list[Gearmand] = []

    def start(**kwargs: object) -> Gearmand:
        server = Gearmand(workdir=tmp_path_factory.mktemp("gearmand"), **kwargs)  # type: ignore[arg-type]
        server.start()
        started.append(server)
        return server

    yield start
    for server in started:
        server.stop()


@pytest.fixture
def gearmand(gearmand_factory: Callable[..., Gearmand]) -> Gearmand:
    """A fresh gearmand for one test."""
    return gearmand_factory()


@pytest.fixture
def two_gearmands(gearmand_factory: Callable[..., Gearmand]) -> tuple[Gearmand, Gearmand]:
    """Two independent servers, for rotation and failover tests."""
    return gearmand_factory(), gearmand_factory()
