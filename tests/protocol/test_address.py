"""Server address strings, as used by the Django system checks."""

from __future__ import annotations

import pytest

from django_gearman.protocol import InvalidServerAddress, ServerAddress, parse_server
from django_gearman.protocol.address import parse_servers


@pytest.mark.parametrize(
    ("text", "host", "port"),
    [
        ("localhost", "localhost", 4730),
        ("127.0.0.1:4731", "127.0.0.1", 4731),
        ("gearman-1.example.com:1", "gearman-1.example.com", 1),
        ("[::1]", "::1", 4730),
        ("[::1]:4999", "::1", 4999),
        ("[fe80::1%eth0]:80", "fe80::1%eth0", 80),
        (" host:65535 ", "host", 65535),
    ],
)
def test_valid_addresses(text, host, port):
    assert parse_server(text) == ServerAddress(host, port)


@pytest.mark.parametrize(
    "text",
    [
        "",
        ":4730",
        "host:",
        "host:0",
        "host:65536",
        "host:abc",
        "host:-1",
        "::1",
        "[::1",
        "[::1]x",
        "[]:80",
        "[host]:80",
        "ho st",
        "host:4730:1",
        "http://host",
        "host:٣",
    ],
)
def test_malformed_addresses_raise_a_value_error_subclass(text):
    with pytest.raises(InvalidServerAddress) as info:
        parse_server(text)
    assert isinstance(info.value, ValueError)


def test_non_string_is_rejected_clearly():
    with pytest.raises(InvalidServerAddress, match="string"):
        parse_server(4730)  # type: ignore[arg-type]


def test_canonical_string_form_round_trips():
    for text in ("h:1", "[::1]:2"):
        assert str(parse_server(text)) == text
        assert parse_server(str(parse_server(text))) == parse_server(text)


def test_server_lists():
    assert parse_servers("a") == [ServerAddress("a", 4730)]
    assert parse_servers(["a:1", "b"]) == [ServerAddress("a", 1), ServerAddress("b", 4730)]
    with pytest.raises(InvalidServerAddress):
        parse_servers([])
    with pytest.raises(InvalidServerAddress):
        parse_servers(None)  # type: ignore[arg-type]
