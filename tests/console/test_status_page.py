"""The live status page and the metrics endpoint, used as an operator and a scraper would."""

from __future__ import annotations

import re
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from selenium import webdriver

from django_gearman.protocol import Client
from tests.console.harness import ConsoleSite, Operator, new_site, table_rows
from tests.django.support import WorkerProcess
from tests.support.gearmand import Gearmand

PARKED = "tests.console.site.parked"
IMPORT = "tests.console.site.import_file"
TOKEN = "console-test-metrics-token"  # GEARMAN_METRICS_TOKEN of the test site


@pytest.fixture
def two_server_site(
    two_gearmands: tuple[Gearmand, Gearmand], prepared_database: Path
) -> Iterator[ConsoleSite]:
    site = new_site([two_gearmands[0].address, two_gearmands[1].address])
    try:
        site.start(prepared_database)
        yield site
    finally:
        site.stop()


def park_jobs(address: str, count: int) -> None:
    """Queue background jobs for a function no worker serves (they stay in gearmand)."""
    with Client([address]) as client:
        for number in range(count):
            client.submit(PARKED, f"note {number}".encode(), background=True)


def fetch(url: str, headers: dict[str, str] | None = None) -> tuple[int, str]:
    request = urllib.request.Request(url, headers=headers or {})
    try:
        with urllib.request.urlopen(request, timeout=20) as response:
            return response.status, response.read().decode()
    except urllib.error.HTTPError as error:
        return error.code, error.read().decode()


def test_status_page_shows_servers_functions_workers_and_a_dead_server_live(
    two_gearmands: tuple[Gearmand, Gearmand],
    two_server_site: ConsoleSite,
    browser: webdriver.Chrome,
) -> None:
    first, second = two_gearmands
    site = two_server_site
    worker = site.worker("-q", "imports")
    worker.start()
    try:
        worker.wait_for_workers(IMPORT, 1)
        park_jobs(first.address, 3)
        site.shell(
            "import json; from tests.console.site import seed; "
            f"print(json.dumps(seed.history([{IMPORT!r}, {PARKED!r}], 400)))"
        )
        site.shell(  # one stored job waiting too (GEARMAN_SERVERS of the site: both servers)
            "import json; from tests.console.site import seed; "
            f"print(json.dumps(seed.queued({PARKED!r}, 'stored')))"
        )
        operator = Operator(browser, site)
        operator.log_in()
        operator.open("/gearman/")
        operator.wait_for_text("Gearman status")

        servers = {row["Server"]: row for row in table_rows(operator, "gearman-servers")}
        assert servers[first.address]["State"] == "up"
        assert servers[first.address]["Version"].startswith("1.1")
        assert servers[second.address]["State"] == "up"
        functions = {
            (row["Server"], row["Function"]): row
            for row in table_rows(operator, "gearman-functions")
        }
        parked_rows = [row for (_, name), row in functions.items() if name == PARKED]
        assert sum(int(row["Waiting"]) for row in parked_rows) == 4
        parked = functions[(first.address, PARKED)]
        assert int(parked["Waiting"]) >= 3
        assert parked["high / normal / low"] == f"0 / {parked['Waiting']} / 0"
        assert parked["Job"] == PARKED
        assert "no worker" in parked["Workers"]
        assert functions[(first.address, IMPORT)]["Workers"] == "1"
        workers = table_rows(operator, "gearman-workers")
        assert any(IMPORT in row["Functions"] and row["Server"] == first.address for row in workers)
        # From the records: 400 finished jobs over the last 10 minutes, every 7th failed.
        jobs = {row["Job"]: row for row in table_rows(operator, "gearman-jobs")}
        assert set(jobs) == {IMPORT, PARKED}
        finished = sum(int(row["Successful"]) + int(row["Failed"]) for row in jobs.values())
        assert finished == 400
        assert sum(int(row["Failed"]) for row in jobs.values()) == 58  # 0, 7, ..., 399
        [queue] = table_rows(operator, "gearman-queues")
        assert queue["Queue"] == "parked" and queue["Waiting"] == "1"
        assert queue["Age of the oldest"].endswith(" s")
        bars = operator.find_all("svg.gearman-chart rect")
        assert len(bars) > 15  # successful and failed bars in most minutes
        operator.screenshot("status")

        # The page refreshes itself in place: a marker set in this document survives, and the
        # second server, killed now, turns "down" without a reload.
        browser.execute_script("window.gearmanMarker = 'still here';")
        second.kill()

        def second_is_down() -> bool:
            rows = {row["Server"]: row for row in table_rows(operator, "gearman-servers")}
            return rows[second.address]["State"] == "down"

        operator.wait_until(second_is_down, 20.0, "the killed server shown as down")
        assert browser.execute_script("return window.gearmanMarker") == "still here"
        down = browser.find_element("css selector", f'tr[data-server="{second.address}"]')
        assert "connect" in down.text.lower() or "refused" in down.text.lower()
        assert "server-down" in (down.get_attribute("class") or "")

        # Signed out elsewhere: the next refresh says so and keeps the last panels.
        browser.delete_all_cookies()
        operator.wait_for_text("signed out: reload the page to sign in")
        assert operator.find_all("#gearman-servers") and "Username" not in operator.text()
    finally:
        worker.stop()


def test_status_page_is_a_plain_table_without_javascript(
    site: ConsoleSite, operator: Operator, gearmand: Gearmand
) -> None:
    park_jobs(gearmand.address, 2)
    operator.log_in()
    cookies = "; ".join(f"{c['name']}={c['value']}" for c in operator.driver.get_cookies())
    status, html = fetch(f"{site.url}/gearman/", {"Cookie": cookies})
    assert status == 200
    row = re.search(rf'<tr data-function="{re.escape(PARKED)}".*?</tr>', html, re.S)
    assert row is not None, html[:2000]
    assert '<td class="num waiting">2</td>' in row.group(0)
    assert "<svg" in html and "gearman-chart" in html
    status, panels = fetch(f"{site.url}/gearman/panels", {"Cookie": cookies})
    assert status == 200 and "<html" not in panels and PARKED in panels
    status, text = fetch(f"{site.url}/gearman/metrics", {"Cookie": cookies})  # a staff login
    assert status == 200 and f'function="{PARKED}",priority="normal"}} 2' in text


def test_status_page_and_metrics_refuse_anonymous_callers(site: ConsoleSite) -> None:
    status, html = fetch(f"{site.url}/gearman/")
    assert status == 200 and 'name="username"' in html  # the admin's login form, not the page
    assert PARKED not in html
    status, text = fetch(f"{site.url}/gearman/metrics")
    assert status == 401 and "gearman_" not in text
    status, text = fetch(
        f"{site.url}/gearman/metrics", {"Authorization": "Bearer wrong-token-123456"}
    )
    assert status == 401


def test_metrics_endpoint_with_the_token(
    site: ConsoleSite, gearmand: Gearmand, site_worker: Callable[..., WorkerProcess]
) -> None:
    site_worker("-q", "imports", wait_for=IMPORT)
    park_jobs(gearmand.address, 4)
    status, text = fetch(f"{site.url}/gearman/metrics", {"Authorization": f"Bearer {TOKEN}"})
    assert status == 200
    server = gearmand.address
    assert f'gearman_server_up{{server="{server}"}} 1' in text
    waiting = (
        f'gearman_function_waiting{{server="{server}",function="{PARKED}",priority="normal"}} 4'
    )
    assert waiting in text
    assert f'gearman_function_workers{{server="{server}",function="{IMPORT}"}} 1' in text
    assert f'gearman_worker_connections{{server="{server}"}} 1' in text
    for line in text.splitlines():
        assert line.startswith("#") or re.fullmatch(r"[a-z_]+(\{[^}]*\})? [0-9.e+-]+", line), line
