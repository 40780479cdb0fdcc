"""What importing the transport costs a process: only the standard library it uses."""

from __future__ import annotations

import subprocess
import sys


def modules_after(statement: str) -> set[str]:
    code = f"import sys\n{statement}\nprint('\\n'.join(sorted(sys.modules)))"
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=60, check=True
    )
    return set(out.stdout.split())


def test_importing_the_transport_does_not_import_asyncio_or_django() -> None:
    loaded = modules_after("import django_gearman.protocol")
    assert "asyncio" not in loaded
    assert not any(name == "django" or name.startswith("django.") for name in loaded)


def test_the_asyncio_client_is_loaded_on_first_use() -> None:
    loaded = modules_after("from django_gearman.protocol import AsyncClient")
    assert "asyncio" in loaded and "django_gearman.protocol.async_client" in loaded
