"""Django's GearmanClient calls jobs served by Perl, PHP and Node workers, by name.

The jobs are not Django jobs, so the client knows them only by name (the default serializer,
GEARMAN_SIGNING_KEYS from the settings). Their error envelopes become JobFailed with the peer's
own type name.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from django_gearman.client import GearmanClient
from django_gearman.exceptions import JobFailed, JobRefused
from tests.interop.test_peer_workers import WORKER_LANGS, PeerWorker, start_worker
from tests.support.gearmand import Gearmand

SECRET = b"django-client-interop-secret-01"


@pytest.fixture(params=WORKER_LANGS)
def peer(
    request: pytest.FixtureRequest, gearmand: Gearmand, tmp_path: Path
) -> Iterator[PeerWorker]:
    yield from start_worker(request.param, gearmand, tmp_path, {})


@pytest.fixture
def client(gearmand: Gearmand) -> Iterator[GearmanClient]:
    with GearmanClient(servers=[gearmand.address], timeout=30) as gearman_client:
        yield gearman_client


def test_call_forms_reach_the_peer(peer: PeerWorker, client: GearmanClient) -> None:
    prefix = peer.prefix
    assert client.submit_job(f"{prefix}.reverse", "héllo ✓") == "✓ olléh"
    assert client.submit_job(f"{prefix}.add", args=[1, 2, 3.5]) == 6.5
    echoed = client.submit_job(
        f"{prefix}.echo", args=[{"n": None}], kwargs={"flags": [True, False]}
    )
    assert echoed == {"args": [{"n": None}], "kwargs": {"flags": [True, False]}}


def test_peer_error_becomes_job_failed(peer: PeerWorker, client: GearmanClient) -> None:
    with pytest.raises(JobFailed) as failed:
        client.submit_job(f"{peer.prefix}.fail", "boom")
    assert not isinstance(failed.value, JobRefused)  # the job ran and raised
    assert failed.value.remote_type.startswith(f"interop.{peer.lang}.")
    assert "failed: boom" in failed.value.remote_message


@pytest.mark.parametrize("lang", WORKER_LANGS)
def test_signed_calls_with_the_signing_settings(
    lang: str, gearmand: Gearmand, tmp_path: Path, settings: Any
) -> None:
    """GEARMAN_SIGNING_KEYS signs the call for the job name; the peer verifies it and signs its
    reply, which the client requires (signing keys configured) and verifies. A call signed with a
    key the peer does not hold is refused, and the refusal itself arrives signed and verified."""
    settings.GEARMAN_SIGNING_KEYS = {"k1": SECRET, "k2": b"a-key-the-peer-does-not-hold"}
    settings.GEARMAN_SIGNING_KEY_ID = "k1"
    for worker in start_worker(lang, gearmand, tmp_path, {"k1": SECRET}):
        with GearmanClient(servers=[gearmand.address], timeout=30) as signed_client:
            assert signed_client.submit_job(f"{worker.prefix}.reverse", "signed") == "dengis"
        settings.GEARMAN_SIGNING_KEY_ID = "k2"
        with (
            GearmanClient(servers=[gearmand.address], timeout=30) as other_key_client,
            pytest.raises(JobRefused) as refused,  # "refused": true in the peer's error
        ):
            other_key_client.submit_job(f"{worker.prefix}.reverse", "other key")
        assert refused.value.remote_type.startswith(f"interop.{lang}.")
        assert "unknown-key" in refused.value.remote_message
