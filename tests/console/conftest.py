"""Fixtures for the console tests: a running test site, a browser, and an operator using both."""

from __future__ import annotations

import functools
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from selenium import webdriver

from tests.console.harness import ConsoleSite, Operator, new_site, start_browser
from tests.django.conftest import live, start_worker  # noqa: F401 - fixtures used here
from tests.django.support import WorkerProcess
from tests.support.gearmand import Gearmand


@pytest.fixture(scope="session")
def prepared_database() -> Path:
    """A migrated database with the operator account; every site starts on a copy of it."""
    template = new_site(["127.0.0.1:4730"])
    template.prepare_database()
    return template.database


@pytest.fixture
def site_database(gearmand: Gearmand, prepared_database: Path) -> ConsoleSite:
    """The test site's database and settings for ``manage.py`` commands, without a server.

    Tests reach the database only through such subprocesses: this test process keeps no
    database connection (the suite's other tests run without one)."""
    return new_site([gearmand.address]).use_database(prepared_database)


@pytest.fixture
def site(gearmand: Gearmand, prepared_database: Path) -> Iterator[ConsoleSite]:
    """The test site (runserver + its own database) against a private gearmand."""
    console = new_site([gearmand.address])
    try:
        console.start(prepared_database)
        yield console
    finally:
        console.stop()


@pytest.fixture
def site_worker(
    site: ConsoleSite,
    start_worker: Callable[..., WorkerProcess],  # noqa: F811 - the fixture imported above
) -> Callable[..., WorkerProcess]:
    """Start ``gearman_worker`` processes of the site (its settings and database); all are
    stopped at teardown."""
    return functools.partial(start_worker, env=site.env)


@pytest.fixture
def browser() -> Iterator[webdriver.Chrome]:
    driver = start_browser()
    try:
        yield driver
    finally:
        driver.quit()


@pytest.fixture
def operator(browser: webdriver.Chrome, site: ConsoleSite) -> Operator:
    return Operator(browser, site)
