"""Perl, PHP, Node and shell clients call the example jobs served by `manage.py gearman_worker`.

The worker runs as a subprocess against the test's private gearmand, with the example project's
settings (`gearman_example.settings`), or with signing on (`tests.interop.django_settings`).
"""

from __future__ import annotations

import json
import subprocess
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from serializers import DecodePolicy, decode
from tests.interop.peers import (
    REPO,
    PeerFailed,
    background_process,
    django_worker_command,
    log_tail,
    peer_client,
)
from tests.support.gearmand import Gearmand

CLIENT_LANGS = ["perl", "php", "node"]
SIGNING_SECRET = b"interop-django-secret-0001"
ORDER = {
    "customer": "ACME",
    "lines": [
        {"sku": "bolt", "quantity": 3, "unit_price": "0.25"},
        {"sku": "nut", "quantity": 10, "unit_price": "0.10"},
    ],
}


class DjangoWorker:
    def __init__(self, server: Gearmand, log: Path) -> None:
        self.server = server
        self.log = log

    def call(self, lang: str, function: str, call: dict[str, Any], **how: Any) -> dict[str, Any]:
        try:
            outcome = peer_client(lang, self.server.address, function, call, **how)
        except PeerFailed as exc:
            raise AssertionError(f"{exc}\nworker log:\n{log_tail(self.log)}") from exc
        assert outcome.get("state") in ("complete", "exception"), (outcome, log_tail(self.log))
        return outcome


def run_django_worker(settings: str, server: Gearmand, tmp_path: Path) -> Iterator[DjangoWorker]:
    log = tmp_path / "django-worker.log"
    command = django_worker_command(settings, server.address)
    with background_process(command, env={"DJANGO_SETTINGS_MODULE": settings}, log_path=log):
        yield DjangoWorker(server, log)


@pytest.fixture
def django_worker(gearmand: Gearmand, tmp_path: Path) -> Iterator[DjangoWorker]:
    yield from run_django_worker("gearman_example.settings", gearmand, tmp_path)


@pytest.fixture
def signing_django_worker(gearmand: Gearmand, tmp_path: Path) -> Iterator[DjangoWorker]:
    yield from run_django_worker("tests.interop.django_settings", gearmand, tmp_path)


def call(*args: Any, **kwargs: Any) -> dict[str, Any]:
    return {"args": list(args), "kwargs": kwargs}


@pytest.mark.parametrize("lang", CLIENT_LANGS)
def test_client_calls_example_jobs(django_worker: DjangoWorker, lang: str) -> None:
    reversed_ = django_worker.call(lang, "gearman_example.reverse", call("héllo wörld ✓"))
    assert (reversed_["state"], reversed_["value"]) == ("complete", "✓ dlröw olléh")

    quote = django_worker.call(
        lang, "gearman_example.quote_order", call(ORDER, discount_percent=10), zlib=True
    )
    assert quote["state"] == "complete"
    assert quote["value"]["customer"] == "ACME" and quote["value"]["items"] == 13
    assert Decimal(quote["value"]["total"]) == Decimal("1.58")  # (0.75 + 1.00) * 0.9, rounded


@pytest.mark.parametrize("lang", CLIENT_LANGS)
def test_invalid_call_comes_back_as_an_error_envelope(
    django_worker: DjangoWorker, lang: str
) -> None:
    outcome = django_worker.call(lang, "gearman_example.reverse", call(12345))
    assert outcome["state"] == "exception"
    error = outcome["value"]["error"]
    assert error["type"] == "serializers.errors.ValidationFailed"
    assert "args.0" in error["message"] and isinstance(error["traceback"], str)


@pytest.mark.parametrize("lang", CLIENT_LANGS)
def test_signed_call_to_a_signing_worker(signing_django_worker: DjangoWorker, lang: str) -> None:
    key = ("k1", SIGNING_SECRET)
    outcome = signing_django_worker.call(lang, "gearman_example.reverse", call("signed"), key=key)
    assert (outcome["state"], outcome["value"], outcome["kid"]) == ("complete", "dengis", "k1")

    unsigned = signing_django_worker.call(
        lang, "gearman_example.reverse", call("unsigned"), verify_key=key
    )
    assert unsigned["state"] == "exception"
    assert unsigned["value"]["error"]["type"] == "serializers.errors.SignatureMissing"

    wrong = ("k1", b"not-the-right-secret-000")
    forged = signing_django_worker.call(
        lang, "gearman_example.reverse", call("forged"), key=wrong, verify_key=key
    )
    assert forged["state"] == "exception"
    assert forged["value"]["error"]["type"] == "serializers.errors.BadSignature"


SHELL_SCRIPT = REPO / "interop" / "shell" / "gearman-submit.sh"


def shell_submit(
    server: Gearmand, function: str, call_json: str, timeout_ms: int
) -> subprocess.CompletedProcess[bytes]:
    host, port = server.address.split(":")
    return subprocess.run(
        [str(SHELL_SCRIPT), host, port, function, call_json],
        capture_output=True,
        timeout=timeout_ms / 1000 + 20,
        env={"PATH": "/usr/local/bin:/usr/bin:/bin", "GEARMAN_TIMEOUT_MS": str(timeout_ms)},
        check=False,
    )


def test_gearman_command_line_tool_calls_a_django_job(django_worker: DjangoWorker) -> None:
    """The shell example of docs/interop.md: a hand-written JSON envelope, the C `gearman` tool."""
    sentence = json.dumps({"args": ["hello from the shell"], "kwargs": {}})
    done = shell_submit(django_worker.server, "gearman_example.reverse", sentence, 20000)
    assert done.returncode == 0, (done.stderr, log_tail(django_worker.log))
    reply = decode(done.stdout, DecodePolicy(), job="gearman_example.reverse")
    assert reply.value == "llehs eht morf olleh"
