"""A client process with OpenTelemetry's SDK (tests.contracts.settings, TEST_CONTRACTS_SPANS).

    python -m tests.contracts.traced_client submit ADDRESS JOB TEXT   # prints {"result": ...}
    python -m tests.contracts.traced_client payload JOB TEXT          # prints {"payload_hex": ...}

Both run inside a span ``request``, as a web view calling a job would.
"""

from __future__ import annotations

import json
import sys

import django


def main(argv: list[str]) -> int:
    django.setup()
    from opentelemetry import trace

    from django_gearman import GearmanClient, JobFailed
    from django_gearman.calls import job_spec
    from django_gearman.declaration import registry

    command, *rest = argv
    with trace.get_tracer("tests.contracts").start_as_current_span("request"):
        if command == "payload":
            name, text = rest
            payload = job_spec(registry.get(name)).encode_call((text,), {})
            print(json.dumps({"payload_hex": payload.hex()}))
            return 0
        address, name, text = rest
        job = registry.get(name).using(client=GearmanClient([address]))
        try:
            print(json.dumps({"result": job.submit(text)}))
        except JobFailed as exc:
            print(json.dumps({"failed": exc.remote_type}))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
