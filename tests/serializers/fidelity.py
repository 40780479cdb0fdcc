"""The type fidelity table of docs/serializers.md, computed by really sending each value.

`python3 -m tests.serializers.fidelity` rewrites the table in the doc; test_fidelity.py fails
when the doc and the code disagree.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import decimal
import re
import uuid
from pathlib import Path
from typing import Any

from pydantic import BaseModel

from serializers import (
    DecodePolicy,
    SchemaSerializer,
    SerializerError,
    SigningKey,
    decode,
    encode,
)

DOC = Path(__file__).resolve().parents[2] / "docs" / "serializers.md"
START, END = "<!-- fidelity:start -->", "<!-- fidelity:end -->"
KEY = SigningKey("k", b"fidelity")
POLICY = DecodePolicy(
    accept={"application/json", "application/msgpack", "application/x-python-pickle"},
    verify_keys={"k": b"fidelity"},
)


@dataclasses.dataclass
class Point:
    x: int
    y: int


class Money(BaseModel):
    amount: decimal.Decimal
    currency: str


# (row label, value, annotation for the pydantic schema column)
SAMPLES: list[tuple[str, Any, Any]] = [
    ("str", "caf\u00e9", str),
    ("bytes", b"\x00\xff", bytes),
    ("int", 12, int),
    ("float", 1.5, float),
    ("Decimal", decimal.Decimal("1.10"), decimal.Decimal),
    ("Decimal(1.0) (README)", decimal.Decimal(1.0), decimal.Decimal),  # noqa: RUF032
    ("datetime (naive)", dt.datetime(2024, 5, 6, 7, 8, 9), dt.datetime),
    ("datetime (aware)", dt.datetime(2024, 5, 6, 7, 8, 9, tzinfo=dt.UTC), dt.datetime),
    ("date", dt.date(2024, 5, 6), dt.date),
    ("time", dt.time(7, 8, 9), dt.time),
    ("UUID", uuid.UUID(int=1), uuid.UUID),
    ("tuple", (1, "a"), tuple[int, str]),
    ("set", {2, 1}, set[int]),
    ("dataclass", Point(1, 2), Point),
    ("pydantic model", Money(amount=decimal.Decimal("9.99"), currency="EUR"), Money),
    ("None", None, type(None)),
    ("dict (README)", {"foo": "becomes", "this": "dict"}, dict[str, str]),
    ("nested containers", {"k": [(1, 2), {"d": decimal.Decimal("2")}]}, dict[str, list[Any]]),
]
COLUMNS = ["json", "msgpack", "pickle", "pydantic schema"]


def send(column: str, value: Any, annotation: Any) -> Any:
    """Encode and decode one value the way a receiver would; raises SerializerError on refusal."""
    if column == "pydantic schema":
        schema = SchemaSerializer(annotation, "fidelity")
        return decode(encode(value, schema), POLICY, serializer=schema).value
    return decode(encode(value, column, job="f", signing_key=KEY), POLICY, job="f").value


def describe_arrival(value: Any, received: Any) -> str:
    """One table cell: 'same' when the value and its type survive, else what arrives."""
    if type(received) is type(value) and received == value:
        return "same"
    text = repr(received)
    text = re.sub(r"datetime\.(datetime|date|time)", r"\1", text).replace("tzinfo=datetime.", "")
    text = text.replace("|", "\\|")
    return f"`{text}` ({type(received).__name__})"


def cell(column: str, value: Any, annotation: Any) -> str:
    try:
        return describe_arrival(value, send(column, value, annotation))
    except SerializerError as exc:
        return f"{type(exc).__name__}"


def table() -> str:
    """The markdown table (value rows x serializer columns)."""
    lines = ["| value sent | " + " | ".join(COLUMNS) + " |", "|---" * (len(COLUMNS) + 1) + "|"]
    for label, value, annotation in SAMPLES:
        cells = [cell(column, value, annotation) for column in COLUMNS]
        lines.append(f"| {label}: `{value!r}` | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def render_doc(text: str) -> str:
    """The doc text with the table between the markers replaced by the current one."""
    before, _, rest = text.partition(START)
    _, _, after = rest.partition(END)
    return f"{before}{START}\n{table()}\n{END}{after}"


def main() -> None:
    DOC.write_text(render_doc(DOC.read_text("utf-8")), "utf-8")
    print(f"updated the fidelity table in {DOC}")


if __name__ == "__main__":
    main()
