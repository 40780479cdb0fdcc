"""The JavaScript reader sketched in docs/envelope.md runs as printed against the golden vectors.

The sketch leaves out policy (sizes, "signature required", unenveloped) and content types other
than plain JSON; on everything else it must agree with the Python implementation.
"""

import json
import re
import shutil
import subprocess
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
VECTORS = ROOT / "tests" / "vectors" / "envelope-v1"
POLICY_ONLY = {"unsigned_but_required"}  # refused by policy, which the sketch leaves out
# Numbers JSON.parse rounds (an integer beyond 64 bits, 1e400): the sketch leaves these checks out.
NUMBER_RANGE = {
    "json_int_beyond_64_bits",
    "json_negative_int_beyond_64_bits",
    "json_number_too_large",
}

RUNNER = """
const fs = require("fs"), dir = process.argv[2];
const index = JSON.parse(fs.readFileSync(dir + "/vectors.json"));
const out = {};
for (const v of index.vectors) {
  const keys = {};
  for (const [kid, hex] of Object.entries(v.policy.verify_keys_hex)) {
    keys[kid] = Buffer.from(hex, "hex");
  }
  try { out[v.name] = { value: readEnvelope(fs.readFileSync(dir + "/" + v.file), v.job, keys) }; }
  catch (e) { out[v.name] = { error: String(e.message) }; }
}
console.log(JSON.stringify(out));
"""


def _sketch() -> str:
    spec = (ROOT / "docs" / "envelope.md").read_text("utf-8")
    section = spec.split("### Reading an envelope in another language (sketch)", 1)[1]
    match = re.search(r"```js\n(.*?)```", section, re.S)
    assert match, "the JavaScript sketch is missing from docs/envelope.md"
    return match.group(1)


def test_sketch_is_short() -> None:
    assert len(_sketch().strip().splitlines()) < 20


def test_sketch_agrees_with_python_on_the_vectors(tmp_path: Path) -> None:
    node = shutil.which("node")
    assert node, "node is required (Debian nodejs)"
    script = tmp_path / "sketch.js"
    script.write_text(_sketch() + RUNNER, "utf-8")
    done = subprocess.run(
        [node, str(script), str(VECTORS)], capture_output=True, text=True, timeout=60, check=True
    )
    results = json.loads(done.stdout)
    vectors = json.loads((VECTORS / "vectors.json").read_text("utf-8"))["vectors"]
    checked_values = checked_errors = 0
    for vector in vectors:
        got = results[vector["name"]]
        header = (VECTORS / vector["file"]).read_bytes().split(b"\n", 1)[0]
        plain_json = header.startswith(b"GME/1 ct=application/json") and b" enc=" not in header
        if "value" in vector and plain_json:
            assert got == {"value": vector["value"]}, vector["name"]
            checked_values += 1
        elif (
            "value" not in vector
            and vector["error_kind"] != "too_large"
            and (vector["name"] not in POLICY_ONLY | NUMBER_RANGE)
        ):
            assert "error" in got, vector["name"]
            checked_errors += 1
    assert checked_values >= 5 and checked_errors >= 15
