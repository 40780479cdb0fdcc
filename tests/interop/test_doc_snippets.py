"""The short readers and writers printed in docs/interop.md work as printed.

Each snippet (marked `<!-- snippet: NAME -->` before its code block) is cut out of the page, put in
a small harness that reads requests on stdin, and run against the golden vectors (the readers) or
checked by serializers.decode (the writers).
"""

from __future__ import annotations

import json
import os
import re
import subprocess
from pathlib import Path
from typing import Any

import pytest

from serializers import BadSignature, DecodePolicy, decode
from tests.interop.peers import REPO, canon, differences
from tests.interop.test_vectors import VECTOR_DIR, VECTORS, python_outcome

DOC = REPO / "docs" / "interop.md"
READABLE = ("application/json", "application/msgpack")
# Refusals that come from a policy (limits, required signature, accept list): the short readers
# have no policy, so these vectors are not compared.
POLICY_ERRORS = {"PayloadTooLarge", "SignatureMissing", "ContentTypeNotAccepted"}
# JSON numbers the language's own parser rounds (an integer beyond 64 bits, 1e400): the short
# readers leave these checks to the reference readers in interop/, as docs/interop.md says.
NUMBER_RANGE_VECTORS = {
    "json_int_beyond_64_bits",
    "json_negative_int_beyond_64_bits",
    "json_number_too_large",
}

HARNESS_DIR = Path(__file__).resolve().parent / "harness"
HARNESS = {"perl": "harness.pl", "php": "harness.php", "node": "harness.js"}
PLACEHOLDER = {"perl": "#SNIPPETS#", "php": "/*SNIPPETS*/", "node": "/*SNIPPETS*/"}
INTERPRETER = {"perl": "perl", "php": "php", "node": "node"}


def snippet(name: str) -> str:
    """The code block that follows `<!-- snippet: NAME -->` in docs/interop.md."""
    found = re.search(rf"<!-- snippet: {name} -->\n```\w+\n(.*?)\n```", DOC.read_text(), re.DOTALL)
    assert found, f"docs/interop.md has no snippet {name!r}"
    return found.group(1)


def run_snippets(lang: str, requests: list[dict[str, Any]], tmp_path: Path) -> list[dict[str, Any]]:
    code = snippet(f"reader-{lang}") + "\n" + snippet(f"writer-{lang}")
    if lang == "php":
        code = code.replace("<?php", "")
    template = (HARNESS_DIR / HARNESS[lang]).read_text()
    program = template.replace("{repo}", str(REPO)).replace(PLACEHOLDER[lang], code)
    path = tmp_path / HARNESS[lang]
    path.write_text(program)
    env = {
        **os.environ,
        "PERL5LIB": str(REPO / "interop" / "perl"),
        "NODE_PATH": str(REPO / "interop" / "node" / "node_modules"),
    }
    done = subprocess.run(
        [INTERPRETER[lang], str(path)],
        input=json.dumps(requests).encode(),
        capture_output=True,
        timeout=60,
        env=env,
        check=False,
    )
    assert done.returncode == 0, done.stderr.decode()[-3000:]
    return list(json.loads(done.stdout))


def snippet_expectation(vector: dict[str, Any]) -> str | None:
    """'value' or 'refused' for what a short reader must do with the vector; None: not compared."""
    if vector["name"] in NUMBER_RANGE_VECTORS:
        return None
    outcome = python_outcome(vector)
    if outcome["ok"]:
        enveloped = (VECTOR_DIR / vector["file"]).read_bytes().startswith(b"GME/")
        return "value" if enveloped and outcome["ct"] in READABLE else "refused"
    return None if outcome["python_error"] in POLICY_ERRORS else "refused"


def read_request(vector: dict[str, Any]) -> dict[str, Any]:
    return {
        "mode": "read",
        "payload_hex": (VECTOR_DIR / vector["file"]).read_bytes().hex(),
        "job": vector["job"],
        "keys": vector["policy"]["verify_keys_hex"],
    }


@pytest.mark.parametrize("lang", ["perl", "php", "node"])
def test_short_reader_reads_the_golden_vectors(lang: str, tmp_path: Path) -> None:
    compared = [(v, snippet_expectation(v)) for v in VECTORS if snippet_expectation(v) is not None]
    assert sum(expected == "value" for _, expected in compared) >= 5
    assert sum(expected == "refused" for _, expected in compared) >= 10
    answers = run_snippets(lang, [read_request(vector) for vector, _ in compared], tmp_path)
    problems = []
    for (vector, expected), answer in zip(compared, answers, strict=True):
        if expected == "refused":
            if answer["ok"]:
                problems.append(f"{vector['name']}: accepted, should be refused: {answer}")
        elif not answer["ok"]:
            problems.append(f"{vector['name']}: refused: {answer['error']}")
        else:
            found = differences(canon(vector["value"]), answer["value"])
            problems += [f"{vector['name']}: {d}" for d in found]
    assert not problems, "\n".join(problems)


@pytest.mark.parametrize("lang", ["perl", "php", "node"])
def test_short_writer_output_is_read_by_python(lang: str, tmp_path: Path) -> None:
    value = {"args": ["h\u00e9llo", 2, 2.5, None, True], "kwargs": {"nested": {"list": [1, 2]}}}
    secret = b"doc-snippet-secret-0001"
    requests = [
        {"mode": "write", "value": value, "job": "docs.job"},
        {
            "mode": "write",
            "value": value,
            "job": "docs.job",
            "kid": "k1",
            "secret_hex": secret.hex(),
        },
    ]
    plain, signed = (
        bytes.fromhex(a["payload_hex"]) for a in run_snippets(lang, requests, tmp_path)
    )
    assert decode(plain, job="docs.job").value == value
    strict = DecodePolicy(verify_keys={"k1": secret}, require_signature=True)
    decoded = decode(signed, strict, job="docs.job")
    assert (decoded.value, decoded.key_id) == (value, "k1")
    with pytest.raises(BadSignature):
        decode(signed, strict, job="docs.other")
