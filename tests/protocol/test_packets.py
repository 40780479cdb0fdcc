"""Sans-I/O core: packet encoding, incremental parsing, typed errors and bounded memory."""

from __future__ import annotations

import struct
import subprocess
import sys

import pytest
from hypothesis import given
from hypothesis import strategies as st

from django_gearman.protocol import PacketParser, PacketType, ProtocolError
from django_gearman.protocol.packets import (
    ARGUMENT_COUNTS,
    HEADER_SIZE,
    REQ,
    RES,
    Frame,
    SkippedBody,
    encode_handle_data,
    encode_packet,
)


def res(ptype: int, *args: bytes) -> bytes:
    return encode_packet(ptype, args, magic=RES)


def test_header_layout_matches_protocol_document():
    packet = encode_packet(PacketType.CAN_DO, (b"fn",))
    assert packet == b"\0REQ" + struct.pack(">II", 1, 2) + b"fn"


def test_submit_encoding_puts_nul_between_arguments_and_keeps_payload_nuls():
    packet = encode_packet(PacketType.SUBMIT_JOB, (b"fn", b"u1", b"a\0b"))
    assert packet[HEADER_SIZE:] == b"fn\0u1\0a\0b"
    parser = PacketParser(expect_magic=REQ)
    parser.feed(packet)
    assert parser.packets()[0].args == (b"fn", b"u1", b"a\0b")


@pytest.mark.parametrize("bad", [(b"f\0n", b"u"), (b"fn", b"u\0")])
def test_nul_in_non_final_argument_is_a_protocol_error(bad):
    with pytest.raises(ProtocolError):
        encode_packet(PacketType.SUBMIT_JOB, (bad[0], bad[1], b""))


def test_parser_splits_only_up_to_the_argument_count():
    parser = PacketParser()
    parser.feed(
        encode_handle_data(PacketType.WORK_COMPLETE, b"H:x:1", b"\0\0data\0").replace(REQ, RES, 1)
    )
    (packet,) = parser.packets()
    assert packet.type == PacketType.WORK_COMPLETE
    assert packet.args == (b"H:x:1", b"\0\0data\0")


def test_byte_at_a_time_feeding_gives_the_same_packets():
    stream = (
        res(PacketType.JOB_CREATED, b"H:x:1")
        + res(PacketType.NOOP)
        + res(PacketType.STATUS_RES, b"H:x:1", b"1", b"0", b"3", b"4")
    )
    parser = PacketParser()
    seen = []
    for byte in stream:
        parser.feed(bytes([byte]))
        seen.extend(parser.packets())
    assert [p.type for p in seen] == [
        PacketType.JOB_CREATED,
        PacketType.NOOP,
        PacketType.STATUS_RES,
    ]
    assert seen[2].args == (b"H:x:1", b"1", b"0", b"3", b"4")
    assert parser.buffered == 0


def test_oversized_header_is_rejected_before_the_body_arrives():
    parser = PacketParser(max_packet=1024)
    with pytest.raises(ProtocolError, match="exceeds"):
        parser.feed(RES + struct.pack(">II", PacketType.WORK_DATA, 1025))
    assert parser.buffered == 0
    with pytest.raises(ProtocolError):  # poisoned: framing is lost for good
        parser.feed(res(PacketType.NOOP))


def test_default_limit_rejects_a_4gib_announcement_without_buffering():
    parser = PacketParser()
    with pytest.raises(ProtocolError):
        parser.feed(RES + struct.pack(">II", PacketType.WORK_DATA, 0xFFFFFFFF))
    assert parser.buffered == 0


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (b"HTTP/1.1 200 OK\r\n", "magic"),
        (REQ + struct.pack(">II", PacketType.NOOP, 0), "unexpected packet magic"),
        (RES + struct.pack(">II", 999, 0), "unknown packet type"),
        (RES + struct.pack(">II", PacketType.NOOP, 1) + b"x", "no arguments"),
        (RES + struct.pack(">II", PacketType.STATUS_RES, 3) + b"a\0b", "needs 5 arguments"),
    ],
)
def test_malformed_streams_raise_typed_errors(data, message):
    parser = PacketParser()
    with pytest.raises(ProtocolError, match=message):
        parser.feed(data)
        parser.packets()


def test_every_packet_type_round_trips_with_its_argument_count():
    for ptype, count in ARGUMENT_COUNTS.items():
        args = tuple(b"a%d" % i for i in range(count - 1)) + ((b"last\0nul",) if count else ())
        parser = PacketParser(expect_magic=None)
        parser.feed(encode_packet(ptype, args))
        (packet,) = parser.packets()
        assert packet.type == ptype
        assert packet.args == args


def test_negative_max_packet_is_refused():
    with pytest.raises(ValueError):
        PacketParser(max_packet=-1)


def check_any_bytes(data: bytes, chunk: int) -> None:
    parser = PacketParser(max_packet=4096, expect_magic=None)
    try:
        for start in range(0, len(data), chunk):
            parser.feed(data[start : start + chunk])
            for packet in parser.packets():
                assert packet.type in ARGUMENT_COUNTS
                assert len(packet.args) == ARGUMENT_COUNTS[packet.type]
            # Memory is bounded: never more buffered than one packet header + limit.
            assert parser.buffered <= HEADER_SIZE + 4096 + chunk
    except ProtocolError:
        pass


@given(st.binary(max_size=2048), st.integers(min_value=1, max_value=64))
def test_fuzz_any_bytes_give_packets_or_protocol_error(data, chunk):
    check_any_bytes(data, chunk)


def packet_streams():
    """Mostly well-framed packets (with random types and bodies) so the fuzzer gets past headers."""
    header = st.tuples(
        st.sampled_from([REQ, RES, b"\0RE\x00", b"abcd"]),
        st.integers(min_value=0, max_value=50),
        st.integers(min_value=0, max_value=80),
    )
    frame = st.tuples(header, st.binary(max_size=80)).map(
        lambda item: struct.pack(">4sII", *item[0]) + item[1]
    )
    return st.lists(frame, max_size=12).map(b"".join)


@pytest.mark.fuzz
@given(st.one_of(st.binary(max_size=4096), packet_streams()), st.integers(1, 128))
def test_long_fuzz_any_bytes_give_packets_or_protocol_error(data, chunk):
    check_any_bytes(data, chunk)


@given(packet_streams(), st.integers(min_value=1, max_value=64))
def test_fuzz_framed_garbage_gives_packets_or_protocol_error(data, chunk):
    check_any_bytes(data, chunk)


@given(
    st.lists(
        st.tuples(
            st.sampled_from(sorted(ARGUMENT_COUNTS)),
            st.lists(st.binary(max_size=30).filter(lambda b: b"\0" not in b), max_size=8),
            st.binary(max_size=60),
        ),
        max_size=10,
    ),
    st.integers(min_value=1, max_value=50),
)
def test_fuzz_valid_streams_round_trip_in_any_chunking(specs, chunk):
    expected = []
    stream = b""
    for ptype, heads, last in specs:
        count = ARGUMENT_COUNTS[ptype]
        args = (*(heads + [b""] * count)[: count - 1], last) if count else ()
        expected.append((ptype, args))
        stream += encode_packet(ptype, args, magic=RES)
    parser = PacketParser()
    got: list[tuple[int, tuple[bytes, ...]]] = []
    for start in range(0, len(stream), chunk):
        parser.feed(stream[start : start + chunk])
        got.extend((p.type, p.args) for p in parser.packets())
    assert got == expected


def test_importing_the_transport_does_not_import_django():
    code = (
        "import sys, django_gearman.protocol as p; "
        "assert p.Client and p.Worker and p.AsyncClient and p.AdminClient; "
        "bad = [m for m in sys.modules if m == 'django' or m.startswith('django.')]; "
        "assert not bad, bad; print('ok')"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=60, check=False
    )
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "ok"


def test_good_packets_before_a_bad_one_are_delivered_first():
    parser = PacketParser()
    parser.feed(
        res(PacketType.NOOP) + res(PacketType.JOB_CREATED, b"H:x:1") + b"\0RES" + b"junk" * 3
    )
    first = parser.packets()
    assert [p.type for p in first] == [PacketType.NOOP, PacketType.JOB_CREATED]
    with pytest.raises(ProtocolError):
        parser.packets()
    with pytest.raises(ProtocolError):
        parser.next_packet()


def test_next_packet_returns_one_at_a_time():
    parser = PacketParser()
    parser.feed(res(PacketType.NOOP) * 3)
    assert [parser.next_packet() for _ in range(4)][3] is None


def feed_packets_in_chunks(parser: PacketParser, data: bytes, chunk: int, got: list[Frame]) -> None:
    for start in range(0, len(data), chunk):
        got.extend(parser.feed_packets(memoryview(data[start : start + chunk])))
        assert parser.buffered <= HEADER_SIZE + parser.max_packet + chunk


@given(st.one_of(st.binary(max_size=2048), packet_streams()), st.integers(1, 64))
def test_fuzz_feed_packets_equals_feed_then_packets(data, chunk):
    """The receive path's one-pass ``feed_packets`` gives what ``feed`` + ``packets`` give."""
    reference, fast = (PacketParser(max_packet=4096, expect_magic=None) for _ in range(2))
    expected: list[Frame] = []
    got: list[Frame] = []
    expected_error = got_error = None
    try:
        for start in range(0, len(data), chunk):
            reference.feed(data[start : start + chunk])
            expected.extend(reference.packets())
        expected.extend(reference.packets())
    except ProtocolError as exc:
        expected_error = str(exc)
    try:
        feed_packets_in_chunks(fast, data, chunk, got)
        got.extend(fast.packets())
    except ProtocolError as exc:
        got_error = str(exc)
    assert got == expected
    assert got_error == expected_error


def test_feed_packets_delivers_good_packets_before_the_error():
    good = encode_packet(PacketType.JOB_CREATED, (b"H:1",), magic=RES)
    parser = PacketParser()
    assert [p.args for p in parser.feed_packets(memoryview(good + b"\0RES" + b"\xff" * 8))] == [
        (b"H:1",)
    ]
    assert isinstance(parser.error, ProtocolError)
    with pytest.raises(ProtocolError):
        parser.feed_packets(memoryview(good))


def test_feed_packets_keeps_only_the_incomplete_tail_and_refuses_huge_headers_at_once():
    good = encode_packet(PacketType.WORK_COMPLETE, (b"H:1", b"x" * 100), magic=RES)
    parser = PacketParser(max_packet=1000)
    assert parser.feed_packets(memoryview(good + good[:20])) == [
        (RES, PacketType.WORK_COMPLETE, (b"H:1", b"x" * 100))
    ]
    assert parser.buffered == 20
    assert len(parser.feed_packets(memoryview(good[20:]))) == 1
    assert parser.buffered == 0
    huge = RES + struct.pack(">II", PacketType.WORK_COMPLETE, 1001)
    with pytest.raises(ProtocolError, match="exceeds the limit"):
        parser.feed_packets(memoryview(huge))


# -- skipping oversized bodies (a worker refuses a job too large for it, without buffering it) --

SKIP_ASSIGN = frozenset({PacketType.JOB_ASSIGN_UNIQ})


def skipping_parser(limit: int = 64) -> PacketParser:
    return PacketParser(max_packet=limit, skip_oversized=SKIP_ASSIGN)


@given(st.integers(65, 5000), st.integers(1, 300))
def test_an_oversized_body_of_a_skipped_type_is_delivered_in_order_unread(
    size: int, chunk: int
) -> None:
    before = res(PacketType.NOOP)
    big = res(PacketType.JOB_ASSIGN_UNIQ, b"H:1", b"fn", b"u", b"x" * size)
    after = res(PacketType.NO_JOB)
    stream = before + big + after
    parser = skipping_parser()
    got: list[Frame] = []
    feed_packets_in_chunks(parser, stream, chunk, got)
    assert [frame.type for frame in got] == [
        PacketType.NOOP,
        PacketType.JOB_ASSIGN_UNIQ,
        PacketType.NO_JOB,
    ]
    skipped = got[1]
    assert isinstance(skipped, SkippedBody)
    assert skipped.args == (b"H:1", b"fn", b"u")
    assert skipped.size == len(big) - HEADER_SIZE
    assert parser.error is None and parser.buffered == 0


def test_feed_then_packets_skips_the_same_way_without_keeping_the_body() -> None:
    parser = skipping_parser()
    big = res(PacketType.JOB_ASSIGN_UNIQ, b"H:2", b"fn", b"", b"y" * 100_000)
    frames: list[Frame] = []
    for start in range(0, len(big), 4096):
        parser.feed(big[start : start + 4096])
        frames.extend(parser.packets())
        assert parser.buffered <= HEADER_SIZE + 64 + 4096
    assert frames == [SkippedBody(RES, PacketType.JOB_ASSIGN_UNIQ, (b"H:2", b"fn", b""), 100_008)]


def test_other_oversized_types_are_still_refused_at_the_header() -> None:
    parser = skipping_parser()
    with pytest.raises(ProtocolError, match="exceeds the limit"):
        parser.feed_packets(memoryview(res(PacketType.WORK_COMPLETE, b"H", b"z" * 100)))


def test_a_skipped_body_without_its_leading_arguments_is_a_protocol_error() -> None:
    parser = skipping_parser()
    no_separators = struct.pack(">4sII", RES, PacketType.JOB_ASSIGN_UNIQ, 5000) + b"q" * 5000
    with pytest.raises(ProtocolError, match="leading arguments"):
        parser.feed_packets(memoryview(no_separators))
