"""A description of the machine a run happened on, so its numbers can be read in context."""

from __future__ import annotations

import os
import platform
import subprocess
import time
from importlib import metadata

from tests.support.gearmand import gearmand_binary


def _first_cpuinfo(field_name: str) -> str:
    try:
        with open("/proc/cpuinfo") as info:
            for line in info:
                key, _, value = line.partition(":")
                if key.strip() == field_name:
                    return value.strip()
    except OSError:
        pass
    return "unknown"


def _memory_gib() -> str:
    try:
        with open("/proc/meminfo") as info:
            for line in info:
                if line.startswith("MemTotal:"):
                    return f"{int(line.split()[1]) / 1024 / 1024:.1f} GiB"
    except OSError:
        pass
    return "unknown"


def _gearmand_version() -> str:
    try:
        completed = subprocess.run(
            [gearmand_binary(), "--version"], capture_output=True, text=True, timeout=10
        )
    except (OSError, subprocess.TimeoutExpired) as exc:
        return f"unknown ({exc})"
    return completed.stdout.strip().splitlines()[0] if completed.stdout.strip() else "unknown"


def _package_version(name: str) -> str:
    try:
        return metadata.version(name)
    except metadata.PackageNotFoundError:
        return "not installed"


def load_average() -> str:
    return ", ".join(f"{x:.2f}" for x in os.getloadavg())


def describe(load_at_start: str) -> list[tuple[str, str]]:
    """(what, value) pairs for the report's machine table."""
    return [
        ("date (UTC)", time.strftime("%Y-%m-%d %H:%M", time.gmtime())),
        ("nproc", str(os.cpu_count())),
        ("CPU model", _first_cpuinfo("model name")),
        ("memory", _memory_gib()),
        ("load average at start (1, 5, 15 min)", load_at_start),
        ("load average now (1, 5, 15 min)", load_average()),
        ("scheduling niceness of the run (lower: ahead of other work)", str(os.nice(0))),
        ("kernel", platform.release()),
        ("Python", f"{platform.python_implementation()} {platform.python_version()}"),
        ("gearmand", _gearmand_version()),
        ("Django", _package_version("django")),
        (
            "orjson / msgpack / pydantic",
            " / ".join(_package_version(p) for p in ("orjson", "msgpack", "pydantic")),
        ),
        ("pygearman", _package_version("pygearman")),
    ]


def markdown(load_at_start: str) -> str:
    lines = ["### Machine", "", "| what | value |", "|---|---|"]
    lines += [f"| {what} | {value} |" for what, value in describe(load_at_start)]
    return "\n".join(lines) + "\n"
