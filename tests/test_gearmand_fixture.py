import socket

from tests.support.gearmand import Gearmand


def _admin(address: str, command: bytes) -> bytes:
    host, port = address.split(":")
    with socket.create_connection((host, int(port)), timeout=5) as sock:
        sock.sendall(command)
        return sock.recv(4096)


def test_fixture_server_answers_admin_version(gearmand: Gearmand) -> None:
    assert _admin(gearmand.address, b"version\n").startswith(b"OK ")


def test_second_server_on_a_busy_port_is_an_error(gearmand: Gearmand, tmp_path) -> None:
    clash = Gearmand(port=gearmand.port, workdir=tmp_path)
    try:
        clash.start(timeout=3)
    except RuntimeError as exc:
        assert str(gearmand.port) in str(exc)
    else:  # pragma: no cover - the failure this test exists for
        clash.stop()
        raise AssertionError("a gearmand on a busy port was taken for a running server")
    assert gearmand.running


def test_restart_keeps_the_port(gearmand: Gearmand) -> None:
    port = gearmand.port
    gearmand.restart()
    assert gearmand.port == port
    assert _admin(gearmand.address, b"version\n").startswith(b"OK ")
