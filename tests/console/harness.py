"""The console test site as real processes: ``runserver``, ``gearman_worker`` and ``shell``
subprocesses sharing one SQLite file, and a headless Chromium driven by Selenium.

A missing browser or driver is a failure with the command that installs them, never a skip.
"""

from __future__ import annotations

import base64
import contextlib
import json
import os
import shutil
import subprocess
import sys
import tempfile
import urllib.error
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from selenium import webdriver
from selenium.common.exceptions import TimeoutException, WebDriverException
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.by import By
from selenium.webdriver.remote.webelement import WebElement
from selenium.webdriver.support.ui import WebDriverWait

from tests.django.support import ROOT, WorkerProcess, wait_until
from tests.support.gearmand import free_port

SETTINGS = "tests.console.site.settings"
ADMIN_USER = "operator"
ADMIN_PASSWORD = "a-console-test-password"
SCREENSHOTS = ROOT / "docs" / "console"
BROWSER_CANDIDATES = ("/usr/bin/chromium", "/usr/bin/chromium-browser", "/usr/bin/google-chrome")
DRIVER_CANDIDATES = ("/usr/bin/chromedriver", "/usr/lib/chromium/chromedriver")
WINDOW = (1440, 900)
INSTALL_HINT = "apt-get install chromium chromium-driver (scripts/setup.sh does)"


class BrowserMissing(RuntimeError):
    """Chromium or chromedriver is not installed: the browser tests cannot run (a failure)."""


def _first_executable(candidates: tuple[str, ...], name: str) -> str:
    for candidate in (shutil.which(name), *candidates):
        if candidate and os.access(candidate, os.X_OK):
            return candidate
    raise BrowserMissing(f"{name} not found: {INSTALL_HINT}")


def start_browser(width: int = WINDOW[0], height: int = WINDOW[1]) -> webdriver.Chrome:
    """Headless Chromium with Debian's chromedriver (never a downloaded browser or driver)."""
    options = webdriver.ChromeOptions()
    options.binary_location = _first_executable(BROWSER_CANDIDATES, "chromium")
    for argument in (
        "--headless=new",
        "--no-sandbox",
        "--disable-dev-shm-usage",
        "--disable-gpu",
        f"--window-size={width},{height}",
        "--force-device-scale-factor=1",
    ):
        options.add_argument(argument)
    service = Service(executable_path=_first_executable(DRIVER_CANDIDATES, "chromedriver"))
    driver = webdriver.Chrome(options=options, service=service)
    driver.set_page_load_timeout(30)
    return driver


@dataclass
class ConsoleSite:
    """One test site: its database file, its environment and its ``runserver`` process.

    ``servers`` is the site's GEARMAN_SERVERS; its workers serve the first one."""

    servers: list[str]
    workdir: Path
    port: int = field(default_factory=free_port)
    server: subprocess.Popen[str] | None = None

    @property
    def env(self) -> dict[str, str]:
        return {
            **os.environ,
            "DJANGO_SETTINGS_MODULE": SETTINGS,
            "PYTHONPATH": str(ROOT),
            "CONSOLE_TEST_DB": str(self.database),
            "GEARMAN_SERVERS": ",".join(self.servers),
            "DJANGO_SUPERUSER_PASSWORD": ADMIN_PASSWORD,
        }

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def run(
        self, *args: str, stdin: bytes | None = None, timeout: float = 60.0
    ) -> subprocess.CompletedProcess[bytes]:
        """``manage.py ARGS`` with the site's settings, as a user types it; never raises."""
        return subprocess.run(
            [sys.executable, str(ROOT / "manage.py"), *args],
            cwd=ROOT,
            env=self.env,
            input=stdin,
            capture_output=True,
            timeout=timeout,
        )

    def manage(self, *args: str, timeout: float = 60.0) -> str:
        """``manage.py ARGS`` that must succeed; its standard output."""
        done = self.run(*args, timeout=timeout)
        if done.returncode != 0:
            raise AssertionError(
                f"manage.py {' '.join(args)} failed:\n{done.stderr.decode()}{done.stdout.decode()}"
            )
        return done.stdout.decode()

    def shell(self, code: str) -> Any:
        """Run Python in ``manage.py shell``; the code prints one JSON value, returned here."""
        output = self.manage("shell", "-c", code)
        return json.loads(output.strip().splitlines()[-1])

    def call(self, module: str, expression: str) -> Any:
        """Evaluate ``expression`` (a call of a function of ``tests.console.site.MODULE``) in
        the site's process; its value, through JSON."""
        return self.shell(
            f"import json; from tests.console.site import {module}; "
            f"print(json.dumps({module}.{expression}))"
        )

    @property
    def database(self) -> Path:
        return self.workdir / "console.sqlite3"

    def prepare_database(self) -> None:
        """Migrate and create the operator account (once per session; see ``start``)."""
        self.manage("migrate", "--noinput", "-v", "0")
        self.manage(
            "createsuperuser", "--noinput", "--username", ADMIN_USER, "--email", "op@x.test"
        )

    def use_database(self, prepared: Path) -> ConsoleSite:
        """Work on a copy of a prepared database (``prepare_database``)."""
        shutil.copyfile(prepared, self.database)
        return self

    def start(self, database: Path | None = None) -> None:
        """Start runserver on a copy of ``database`` (a prepared one), or on a new database."""
        if database is not None:
            self.use_database(database)
        else:
            self.prepare_database()
        log = open(self.workdir / "runserver.log", "w")  # noqa: SIM115 - closed with the process
        self.server = subprocess.Popen(
            [
                sys.executable,
                str(ROOT / "manage.py"),
                "runserver",
                "--noreload",
                "--insecure",
                f"127.0.0.1:{self.port}",
            ],
            cwd=ROOT,
            env=self.env,
            stdout=log,
            stderr=subprocess.STDOUT,
            text=True,
        )
        log.close()
        wait_until(self._answers, 30.0, f"runserver on {self.url}")

    def _answers(self) -> bool:
        if self.server is not None and self.server.poll() is not None:
            raise AssertionError(f"runserver exited:\n{self.log()}")
        try:
            with urllib.request.urlopen(f"{self.url}/admin/login/", timeout=2):
                return True
        except (urllib.error.URLError, OSError):
            return False

    def log(self) -> str:
        with contextlib.suppress(OSError):
            return (self.workdir / "runserver.log").read_text()[-5000:]
        return ""

    def worker(self, *args: str) -> WorkerProcess:
        """A ``gearman_worker`` of this site (not yet started)."""
        return WorkerProcess(self.servers[0], list(args), env=self.env)

    def stop(self) -> None:
        if self.server is not None and self.server.poll() is None:
            self.server.terminate()
            try:
                self.server.wait(10)
            except subprocess.TimeoutExpired:
                self.server.kill()
                self.server.wait(5)


def new_site(servers: list[str]) -> ConsoleSite:
    return ConsoleSite(servers, Path(tempfile.mkdtemp(prefix="console-site-")))


class Operator:
    """A person at the browser: logs in, opens pages, clicks, reads, takes screenshots."""

    def __init__(self, driver: webdriver.Chrome, site: ConsoleSite) -> None:
        self.driver = driver
        self.site = site

    def open(self, path: str) -> None:
        self.driver.get(self.site.url + path)

    def log_in(self, username: str = ADMIN_USER, password: str = ADMIN_PASSWORD) -> None:
        self.open("/admin/login/?next=/admin/")
        self.driver.find_element(By.NAME, "username").send_keys(username)
        self.driver.find_element(By.NAME, "password").send_keys(password)
        self.driver.find_element(By.CSS_SELECTOR, "input[type=submit]").click()
        self.wait_for_text("Site administration")
        # Screenshots show the pages, not the admin's navigation sidebar.
        self.driver.execute_script("localStorage.setItem('django.admin.navSidebarIsOpen', 'false')")

    def find(self, css: str) -> WebElement:
        return self.driver.find_element(By.CSS_SELECTOR, css)

    def find_all(self, css: str) -> list[WebElement]:
        return self.driver.find_elements(By.CSS_SELECTOR, css)

    def text(self) -> str:
        return str(self.driver.find_element(By.TAG_NAME, "body").text)

    def wait_for_text(self, text: str, timeout: float = 20.0) -> None:
        """Wait until ``text`` is on the page (a page being replaced is simply read again)."""
        self.wait_until(lambda: text in self.text(), timeout, f"{text!r} on the page")

    def wait_until(self, condition: Callable[[], bool], timeout: float, what: str) -> None:
        def check(_: object) -> bool:
            try:
                return condition()
            except WebDriverException:
                return False

        try:
            WebDriverWait(self.driver, timeout, poll_frequency=0.2).until(check)
        except TimeoutException:
            raise AssertionError(f"timed out waiting for {what}:\n{self.text()[:3000]}") from None

    def screenshot(self, name: str, max_height: int = 2400) -> Path:
        """A PNG of the whole page (at most ``max_height`` pixels tall) in docs/console/,
        taken through the DevTools protocol so that content below the window is included."""
        SCREENSHOTS.mkdir(parents=True, exist_ok=True)
        metrics = self.driver.execute_cdp_cmd("Page.getLayoutMetrics", {})
        size = metrics["cssContentSize"]
        clip = {
            "x": 0,
            "y": 0,
            "width": max(size["width"], WINDOW[0]),
            "height": min(size["height"], max_height),
            "scale": 1,
        }
        shot = self.driver.execute_cdp_cmd(
            "Page.captureScreenshot",
            {"format": "png", "captureBeyondViewport": True, "clip": clip},
        )
        path = SCREENSHOTS / f"{name}.png"
        path.write_bytes(base64.b64decode(shot["data"]))
        return path


def content(element: WebElement) -> str:
    """An element's text as written (the admin's CSS upper-cases headers on screen)."""
    return " ".join((element.get_attribute("textContent") or "").split())


def table_rows(operator: Operator, table_id: str) -> list[dict[str, str]]:
    """The rows of a console table as {header: cell text}; a row whose last cell spans several
    columns (a dead server's reason) maps that cell to the first of them."""
    headers = [content(th) for th in operator.find_all(f"#{table_id} thead th")]
    rows = []
    for row in operator.find_all(f"#{table_id} tbody tr"):
        cells = [content(cell) for cell in row.find_elements(By.CSS_SELECTOR, "td, th")]
        if 1 < len(cells) <= len(headers):
            rows.append(dict(zip(headers, cells, strict=False)))
    return rows
