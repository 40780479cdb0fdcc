"""An operator's day, end to end: a real job fails on a real worker, the operator finds it from
the status page, fixes the cause, retries it from the admin and sees it succeed; then cancels a
queued job that no worker has taken yet. Everything is a separate process, as in production."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path

from django_gearman.protocol import AdminClient
from tests.console.harness import ConsoleSite, Operator, content, table_rows
from tests.django.support import WorkerProcess
from tests.support.gearmand import Gearmand

IMPORT = "tests.console.site.import_file"
PARKED = "tests.console.site.parked"
CHANGELIST = "/admin/django_gearman/jobrecord/"


def dispatch(site: ConsoleSite, call: str) -> str:
    """Dispatch a job from the site's shell (the way application code does); its record id."""
    return str(
        site.shell(
            "import json; from tests.console.site.gearman_jobs import import_file, parked; "
            f"print(json.dumps(str({call}.id)))"
        )
    )


def record_status(site: ConsoleSite, record_id: str) -> str:
    return str(
        site.shell(
            "import json; from django_gearman.models import JobRecord; "
            f"print(json.dumps(JobRecord.objects.get(pk={record_id!r}).status))"
        )
    )


def test_find_a_failed_job_fix_it_retry_it_and_see_it_succeed(
    site: ConsoleSite,
    operator: Operator,
    site_worker: Callable[..., WorkerProcess],
    tmp_path: Path,
) -> None:
    site_worker("-q", "imports", wait_for=IMPORT)
    source = tmp_path / "orders.csv"
    failed_id = dispatch(site, f"import_file.dispatch({str(source)!r}, password='s3cret-pw')")
    operator.log_in()

    # The status page counts the failure once the worker has reported it.
    def failure_shown() -> bool:
        operator.open("/gearman/")
        jobs = {row["Job"]: row for row in table_rows(operator, "gearman-jobs")}
        return IMPORT in jobs and jobs[IMPORT]["Failed"] == "1"

    operator.wait_until(failure_shown, 30.0, "the failed job on the status page")
    operator.find('#gearman-jobs a[href*="status__exact=FAILED"]').click()
    operator.wait_for_text("Select job record to view")
    [row] = table_rows(operator, "result_list")
    assert (
        row["Status"] == "Failed"
        and row["Job name"] == IMPORT
        and row["ID"] == failed_id.replace("-", "")[:8]
    )
    operator.find("#result_list tbody th a").click()

    operator.wait_for_text("Traceback (most recent call last)")
    page = operator.text()
    assert "InputMissing" in page and "does not exist yet" in page
    assert str(source) in page
    assert "s3cret-pw" not in page and "sensitive, hidden" in page  # never shown
    assert "raise InputMissing" in content(operator.find("pre.gearman-traceback"))
    operator.screenshot("failed-job")

    source.write_text("order 1\norder 2\norder 3\n")  # the operator fixes the cause
    operator.find("#gearman-retry").click()
    operator.wait_for_text("retried as")

    def successful() -> bool:
        operator.driver.refresh()
        return "Successful" in content(operator.find(".field-status_badge"))

    operator.wait_until(successful, 30.0, "the retried job to succeed")
    assert content(operator.find(".field-result_value pre")) == "3"
    assert "retry of" in content(operator.find(".field-retry_links"))
    assert record_status(site, failed_id) == "FAILED"  # the failure stays in the history
    log = site.shell(
        "import json; from django.contrib.admin.models import LogEntry; "
        "print(json.dumps([[e.object_id, e.change_message] for e in LogEntry.objects.all()]))"
    )
    messages = {message for _, message in log}
    assert any(m.startswith("Retried as ") for m in messages)
    assert any(m.startswith("Retry of ") for m in messages)


def test_cancel_a_queued_job_before_any_worker_takes_it(
    site: ConsoleSite,
    operator: Operator,
    gearmand: Gearmand,
    site_worker: Callable[..., WorkerProcess],
) -> None:
    queued_id = dispatch(site, "parked.dispatch('not wanted any more')")
    operator.log_in()
    operator.open(f"{CHANGELIST}?q={queued_id.replace('-', '')[:10]}")
    operator.find("#result_list tbody th a").click()
    operator.wait_for_text("not wanted any more")
    assert "Ready" in content(operator.find(".field-status_badge"))
    operator.find("#gearman-cancel").click()
    operator.wait_for_text("cancelled.")
    assert "Cancelled" in content(operator.find(".field-status_badge"))
    with AdminClient(gearmand.address, timeout=5.0) as admin:
        assert [job.ignore_job for job in admin.show_jobs()] == [True]

    # A worker for the queue arrives: it runs the next job, never the cancelled one.
    site_worker("-q", "parked", wait_for=PARKED)
    later_id = dispatch(site, "parked.dispatch('run me')")
    operator.open(f"{CHANGELIST}?q={later_id.replace('-', '')[:10]}")
    operator.find("#result_list tbody th a").click()

    def later_done() -> bool:
        operator.driver.refresh()
        return "Successful" in content(operator.find(".field-status_badge"))

    operator.wait_until(later_done, 30.0, "the next parked job to run")
    assert record_status(site, queued_id) == "CANCELLED"
    history = json.dumps(
        site.shell(
            "import json; from django.contrib.admin.models import LogEntry; "
            "print(json.dumps([e.change_message for e in LogEntry.objects.all()]))"
        )
    )
    assert "Cancelled before it started." in history
