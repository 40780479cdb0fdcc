"""The fidelity table in docs/serializers.md matches what really arrives, and key facts hold."""

from __future__ import annotations

import decimal

from tests.serializers import fidelity


def test_doc_table_matches_the_code() -> None:
    text = fidelity.DOC.read_text("utf-8")
    assert fidelity.START in text and fidelity.END in text
    assert fidelity.render_doc(text) == text, "run python3 -m tests.serializers.fidelity"


def test_readme_examples_keep_their_types_under_schema_and_pickle() -> None:
    readme_dict = {"foo": "becomes", "this": "dict"}
    readme_decimal = decimal.Decimal(1.0)  # noqa: RUF032  # the README's own example
    for column in ("pickle", "pydantic schema"):
        got = fidelity.send(column, readme_dict, dict[str, str])
        assert got == readme_dict and type(got) is dict
        got = fidelity.send(column, readme_decimal, decimal.Decimal)
        assert got == readme_decimal and type(got) is decimal.Decimal


def test_json_and_msgpack_deliver_exactly_these_values() -> None:
    for column in ("json", "msgpack"):
        assert fidelity.send(column, {"foo": "becomes", "this": "dict"}, None) == {
            "foo": "becomes",
            "this": "dict",
        }
        assert fidelity.send(column, decimal.Decimal(1.0), None) == "1"  # noqa: RUF032
        assert fidelity.send(column, (1, {2}), None) == [1, [2]]
    assert fidelity.send("msgpack", b"\x00", None) == b"\x00"
