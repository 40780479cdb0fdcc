"""The job record admin in a real browser: list, filters, search, detail, cancel, purge."""

from __future__ import annotations

import json
from collections.abc import Callable

from django_gearman.protocol import AdminClient
from tests.console.harness import ConsoleSite, Operator, content, table_rows
from tests.django.support import WorkerProcess
from tests.support.gearmand import Gearmand

PARKED = "tests.console.site.parked"
IMPORT = "tests.console.site.import_file"
CHANGELIST = "/admin/django_gearman/jobrecord/"


def seed(site: ConsoleSite, call: str) -> str:
    """Run a ``tests.console.site.seed`` function in the site; returns the record id it made."""
    return str(site.call("seed", call))


def waiting_in_gearmand(address: str, function: str) -> int:
    with AdminClient(address, timeout=5.0) as admin:
        return sum(s.queued for s in admin.status() if s.function == function)


def changelist_rows(operator: Operator) -> list[dict[str, str]]:
    return table_rows(operator, "result_list")


def test_failed_job_detail_shows_arguments_error_and_traceback(
    site: ConsoleSite, operator: Operator
) -> None:
    seed(site, "history(['tests.console.site.import_file', 'tests.console.site.parked'], 60)")
    failed = seed(
        site, "failed('tests.console.site.import_file', '/data/in.csv', password='pw-123')"
    )
    operator.log_in()
    operator.open(CHANGELIST)
    operator.wait_for_text("Select job record to view")
    rows = changelist_rows(operator)
    assert len(rows) == 50  # one page of 61
    assert {"ID", "Status", "Job name", "Attempts", "Duration", "Worker"} <= set(rows[0]), rows[0]
    assert {row["Status"] for row in rows} == {"Successful", "Failed"}
    assert all(row["Attempts"] == "1 of 1" and row["Duration"].endswith(" s") for row in rows)
    operator.screenshot("job-list", max_height=1300)

    operator.open(f"{CHANGELIST}?status__exact=FAILED&q={failed[:10]}")
    rows = changelist_rows(operator)
    assert [row["ID"] for row in rows] == [failed[:8]]
    operator.find(f'a[href*="{_dashed(failed)}"]').click()
    operator.wait_for_text("/data/in.csv")
    page = operator.text()
    assert "FileNotFoundError" in page and "does not exist yet" in page
    assert "Traceback (most recent call last)" in content(operator.find("pre.gearman-traceback"))
    assert "1 of 1" in page
    assert "pw-123" not in page and "sensitive, hidden" in page  # @gearman_job(sensitive=...)
    assert operator.find("#gearman-retry").is_displayed()


def _dashed(hex_id: str) -> str:
    return f"{hex_id[:8]}-{hex_id[8:12]}-{hex_id[12:16]}-{hex_id[16:20]}-{hex_id[20:]}"


def test_cancel_a_queued_job_from_its_page(
    site: ConsoleSite, operator: Operator, gearmand: Gearmand
) -> None:
    queued = seed(site, "queued('tests.console.site.parked', 'wait for me')")
    assert waiting_in_gearmand(gearmand.address, PARKED) == 1
    operator.log_in()
    operator.open(f"{CHANGELIST}{_dashed(queued)}/change/")
    operator.wait_for_text("wait for me")
    operator.find("#gearman-cancel").click()
    operator.wait_for_text("cancelled.")
    assert "Cancelled" in content(operator.find(".field-status_badge"))
    # gearmand keeps a cancelled job in its count but flags it: no worker will ever get it.
    with AdminClient(gearmand.address, timeout=5.0) as admin:
        assert [job.ignore_job for job in admin.show_jobs()] == [True]
    operator.open(f"{CHANGELIST}{_dashed(queued)}/history/")
    operator.wait_for_text("Cancelled before it started.")


def test_purge_old_records_after_confirmation(site: ConsoleSite, operator: Operator) -> None:
    old = seed(site, "failed('tests.console.site.import_file', '/old', minutes_ago=3 * 24 * 60)")
    recent = seed(site, "failed('tests.console.site.import_file', '/recent')")
    operator.log_in()
    operator.open(CHANGELIST)
    operator.driver.find_element("link text", "PURGE OLD RECORDS").click()
    operator.wait_for_text("Queued and running jobs are never purged")
    operator.find("#id_days").clear()
    operator.find("#id_days").send_keys("2")
    operator.find("input[value=Count]").click()
    operator.wait_for_text("1 finished job record")
    operator.find("#gearman-purge").click()
    operator.wait_for_text("Purged 1 finished job record(s).")
    remaining = site.shell(
        "import json; from django_gearman.models import JobRecord; "
        "print(json.dumps(sorted(r.hex for r in JobRecord.objects.values_list('pk', flat=True))))"
    )
    assert remaining == [recent] and old not in json.dumps(remaining)


def test_permissions_guard_every_view_and_action(
    site: ConsoleSite, operator: Operator, site_worker: Callable[..., WorkerProcess]
) -> None:
    failed = seed(site, "failed('tests.console.site.import_file', '/data/x.csv')")
    site.shell(
        "import json; from django.contrib.auth.models import User, Permission; "
        "u = User.objects.create_user('viewer', password='viewer-password', is_staff=True); "
        "u.user_permissions.add(Permission.objects.get(codename='view_jobrecord')); "
        "print(json.dumps(u.pk))"
    )
    operator.log_in("viewer", "viewer-password")
    operator.open(f"{CHANGELIST}{_dashed(str(failed))}/change/")
    operator.wait_for_text("/data/x.csv")
    assert operator.find_all("#gearman-retry") == []  # no add permission: no retry button
    operator.open(CHANGELIST)
    options = [content(o) for o in operator.find_all("select[name=action] option")]
    assert not any("Retry" in o or "Cancel" in o for o in options)
    operator.open(f"{CHANGELIST}purge/")
    assert "403" in operator.text() or "Forbidden" in operator.text()
    operator.open("/gearman/")
    operator.wait_for_text("Gearman status")  # viewing is allowed

    site.shell(
        "import json; from django.contrib.auth.models import User; "
        "print(json.dumps(User.objects.create_user('clerk', password='clerk-password', "
        "is_staff=True).pk))"
    )
    operator.driver.delete_all_cookies()
    operator.log_in("clerk", "clerk-password")  # staff, but no permission on job records
    operator.open("/gearman/")
    assert "403" in operator.text() or "Forbidden" in operator.text()
    operator.open(CHANGELIST)
    assert "Gearman status" not in operator.text() and "Failed" not in operator.text()
