"""Schedules of periodic jobs: slots of cron expressions and intervals, and the catch-up rule."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest
from hypothesis import given
from hypothesis import strategies as st

from django_gearman.exceptions import ConfigurationError
from django_gearman.schedules import (
    DEFAULT_CATCH_UP,
    Cron,
    Every,
    Schedule,
    ScheduleError,
    check_deferral,
    deferred_until,
    due_slot,
    parse_schedule,
)


def at(hour: int, minute: int, second: int = 0, microsecond: int = 0) -> datetime:
    return datetime(2026, 3, 14, hour, minute, second, microsecond, tzinfo=UTC)


moments = st.datetimes(
    min_value=datetime(2000, 1, 1), max_value=datetime(2100, 1, 1), timezones=st.just(UTC)
)
cron_fields = st.tuples(
    st.sampled_from(["*", "*/5", "0", "7,37", "15-20", "*/13"]),
    st.sampled_from(["*", "3", "*/6", "9-17"]),
    st.sampled_from(["*", "1", "15", "28"]),
    st.sampled_from(["*", "2", "*/3"]),
    st.sampled_from(["*", "1-5", "0", "6"]),
)
schedules = st.one_of(
    cron_fields.map(lambda fields: Cron(" ".join(fields))),
    st.sampled_from(["@hourly", "@daily", "@weekly", "@monthly"]).map(Cron),
    st.integers(min_value=1, max_value=10 * 86400).map(lambda s: Every(timedelta(seconds=s))),
)


def test_a_cron_slot_equal_to_the_moment_is_the_latest_slot() -> None:
    schedule = Cron("*/5 * * * *")
    assert schedule.latest_at_or_before(at(10, 5)) == at(10, 5)
    assert schedule.latest_at_or_before(at(10, 9, 59, 999999)) == at(10, 5)
    assert schedule.next_after(at(10, 5)) == at(10, 10)
    assert schedule.next_after(at(10, 4, 59, 999999)) == at(10, 5)


def test_cron_expressions_are_read_in_utc_whatever_the_moments_zone() -> None:
    schedule = Cron("0 3 * * *")
    paris_noon = datetime(2026, 3, 14, 12, 0, tzinfo=timezone(timedelta(hours=1)))
    assert schedule.latest_at_or_before(paris_noon) == at(3, 0)
    assert schedule.latest_at_or_before(paris_noon).tzinfo is UTC


def test_interval_slots_are_multiples_of_the_interval_since_the_epoch() -> None:
    hourly = Every(timedelta(hours=1))
    assert hourly.latest_at_or_before(at(10, 42, 17)) == at(10, 0)
    assert hourly.next_after(at(10, 0)) == at(11, 0)
    seven = Every(timedelta(minutes=7))
    slot = seven.latest_at_or_before(at(10, 42))
    assert (slot - datetime(1970, 1, 1, tzinfo=UTC)) % timedelta(minutes=7) == timedelta(0)


@given(schedules, moments)
def test_the_latest_slot_is_at_or_before_the_moment_and_the_next_is_after_it(
    schedule: Schedule, moment: datetime
) -> None:
    latest = schedule.latest_at_or_before(moment)
    following = schedule.next_after(moment)
    assert latest <= moment < following
    # no slot lies strictly between them: the next slot after the latest one is the following
    assert schedule.next_after(latest) == following
    assert schedule.latest_at_or_before(following) == following


@given(schedules, moments, st.integers(min_value=0, max_value=10**6))
def test_every_process_computes_the_same_slot_for_the_same_moment(
    schedule: Schedule, moment: datetime, jitter_us: int
) -> None:
    """Slots depend on the schedule and the moment only: a scheduler a little later agrees as
    long as no new slot came in between."""
    later = moment + timedelta(microseconds=jitter_us)
    if schedule.next_after(moment) > later:
        assert schedule.latest_at_or_before(later) == schedule.latest_at_or_before(moment)


def test_only_the_latest_missed_slot_is_due_and_only_within_the_catch_up_window() -> None:
    schedule = Cron("*/5 * * * *", catch_up=timedelta(minutes=10))
    # schedulers were down from 9:50 to 10:07: 9:55, 10:00 and 10:05 were missed; only 10:05 runs
    assert due_slot(schedule, at(10, 7)) == at(10, 5)
    assert due_slot(schedule, at(10, 15)) == at(10, 15)
    daily = Cron("0 3 * * *", catch_up=timedelta(minutes=10))
    assert due_slot(daily, at(3, 10)) == at(3, 0)  # exactly at the edge: still due
    assert due_slot(daily, at(3, 10, 0, 1)) is None  # later: skipped, next run tomorrow 03:00


def test_a_new_daily_job_deployed_in_the_afternoon_first_runs_at_its_next_slot() -> None:
    daily = parse_schedule("0 3 * * *")
    assert daily.catch_up == DEFAULT_CATCH_UP
    assert due_slot(daily, at(14, 0)) is None
    assert daily.next_after(at(14, 0)) == datetime(2026, 3, 15, 3, 0, tzinfo=UTC)


@given(schedules, moments)
def test_a_due_slot_is_never_in_the_future_nor_later_than_the_window(
    schedule: Schedule, moment: datetime
) -> None:
    slot = due_slot(schedule, moment)
    if slot is not None:
        assert timedelta(0) <= moment - slot <= schedule.catch_up


def test_parse_schedule_takes_a_cron_string_a_timedelta_or_a_schedule() -> None:
    assert parse_schedule("*/5  *  * * *") == Cron("*/5 * * * *")
    assert parse_schedule(timedelta(seconds=30)) == Every(timedelta(seconds=30))
    fixed = Every(timedelta(minutes=1), args=["eu"], kwargs={"full": True})
    assert parse_schedule(fixed) is fixed
    assert fixed.args == ("eu",)
    assert hash(fixed) == hash(Every(timedelta(minutes=1), args=("eu",), kwargs={"full": False}))


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ("61 * * * *", "out of range"),
        ("* * * * * *", "five fields"),
        ("* * *", "five fields"),
        ("0 0 31 2 *", "never fires"),
        ("H * * * *", "H * * * *"),
        ("@sometimes", "@sometimes"),
        ("", "1 to 200 characters"),
        ("* " * 150, "1 to 200 characters"),
        (timedelta(milliseconds=999), "1 s or more"),
        (timedelta(seconds=-5), "1 s or more"),
        (300, "cron string, a timedelta"),
        (None, "cron string, a timedelta"),
    ],
)
def test_a_bad_schedule_is_refused_with_a_clear_error(value: object, message: str) -> None:
    with pytest.raises(ScheduleError, match=message):
        parse_schedule(value)


@pytest.mark.parametrize(
    ("make", "message"),
    [
        (lambda: Every(timedelta(minutes=1), catch_up=timedelta(0)), "catch_up"),
        (lambda: Cron("@hourly", catch_up=60), "catch_up"),  # type: ignore[arg-type]
        (lambda: Cron("@hourly", args="abc"), "args"),
        (lambda: Every(timedelta(minutes=1), kwargs={1: 2}), "kwargs"),  # type: ignore[dict-item]
    ],
)
def test_bad_options_of_a_schedule_are_refused(make: object, message: str) -> None:
    with pytest.raises(ScheduleError, match=message):
        make()  # type: ignore[operator]


def test_slots_are_computed_from_aware_datetimes_only() -> None:
    with pytest.raises(TypeError, match="aware"):
        Every(timedelta(minutes=1)).latest_at_or_before(datetime(2026, 1, 1))


def test_a_deferred_job_is_due_at_run_after_or_after_the_countdown() -> None:
    now = at(10, 0)
    paris = timezone(timedelta(hours=1))
    assert deferred_until(datetime(2026, 3, 14, 12, 30, tzinfo=paris), None, now) == at(11, 30)
    assert deferred_until(None, 90, now) == at(10, 1, 30)
    assert deferred_until(None, 0.25, now) == at(10, 0, 0, 250000)
    assert deferred_until(at(9, 0), None, now) == at(9, 0)  # in the past: due at once
    assert deferred_until(None, None, now) is None


@pytest.mark.parametrize(
    ("run_after", "countdown", "message"),
    [
        (datetime(2026, 3, 14, 12, 0), None, "aware datetime"),  # naive
        ("2026-03-14T12:00:00+00:00", None, "aware datetime"),
        (at(12, 0), 5, "not both"),
        (None, -1, "from 0 to"),
        (None, float("nan"), "from 0 to"),
        (None, float("inf"), "from 0 to"),
        (None, True, "from 0 to"),
        (None, "60", "from 0 to"),
    ],
)
def test_a_bad_deferral_is_refused_where_it_is_written(
    run_after: object, countdown: object, message: str
) -> None:
    with pytest.raises(ConfigurationError, match=message):
        check_deferral(run_after, countdown)


def test_a_good_deferral_passes_the_check() -> None:
    check_deferral(at(12, 0), None)
    check_deferral(None, 0)
    check_deferral(None, 3.5)
    check_deferral(None, None)
