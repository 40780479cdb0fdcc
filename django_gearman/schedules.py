"""When jobs run: schedules of periodic jobs (cron expressions, fixed intervals), their slots, the
catch-up rule, and the time of a deferred job (``using(run_after=...)``/``using(countdown=...)``).

A *slot* is one scheduled time (an aware UTC datetime). Every scheduler process computes the same
slots from the schedule alone, without shared state: cron slots come from the expression (read in
UTC), interval slots are the multiples of the interval since the Unix epoch. The scheduler runs a
slot at most once (``PeriodicRun`` has one row per job and slot; the insert that wins runs it).

The catch-up rule, when schedulers were down or late: at any moment only the *latest* slot at or
before now is due, and only while it is at most ``catch_up`` late (default one hour). Earlier
missed slots are skipped, never run in a burst; a slot later than ``catch_up`` is skipped too, so a
new daily job deployed in the afternoon first runs at its next slot, not at once.

Pure code: no database, no Django settings; ``croniter`` is imported only for cron schedules.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any, TypeAlias

from .exceptions import ConfigurationError

DEFAULT_CATCH_UP = timedelta(hours=1)
MAX_EXPRESSION_LENGTH = 200
MAX_COUNTDOWN = 10 * 366 * 86400  # ten years: a larger one is a unit mistake
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_SECOND = timedelta(seconds=1)
_PROBE = datetime(2000, 1, 1, tzinfo=UTC)  # a fixed moment to prove an expression fires at all


class ScheduleError(ConfigurationError):
    """A schedule that cannot be used (bad cron expression, interval or catch-up window).

    Raised where the job is declared, so a bad schedule stops the process at import instead of
    silently never running."""


def _utc(moment: datetime) -> datetime:
    if not isinstance(moment, datetime) or moment.utcoffset() is None:
        raise TypeError(f"slots are computed from aware datetimes, not {moment!r}")
    return moment.astimezone(UTC)


def _check_call(args: Any, kwargs: Any) -> tuple[tuple[Any, ...], dict[str, Any]]:
    if isinstance(args, str | bytes) or not isinstance(args, tuple | list):
        raise ScheduleError(f"a schedule's args must be a tuple or list, not {args!r}")
    if not isinstance(kwargs, Mapping) or not all(isinstance(key, str) for key in kwargs):
        raise ScheduleError(f"a schedule's kwargs must be a dict with string keys, not {kwargs!r}")
    return tuple(args), dict(kwargs)


def _check_catch_up(catch_up: Any) -> None:
    if not isinstance(catch_up, timedelta) or catch_up <= timedelta(0):
        raise ScheduleError(f"catch_up must be a positive timedelta, not {catch_up!r}")


@dataclass(frozen=True, slots=True)
class Cron:
    """A standard five-field cron expression (``"*/5 * * * *"``, or ``@hourly``/``@daily``/...),
    read in UTC, with the fixed ``args``/``kwargs`` each run is called with."""

    expression: str
    catch_up: timedelta = DEFAULT_CATCH_UP
    args: Sequence[Any] = ()
    kwargs: Mapping[str, Any] = field(default_factory=dict, hash=False)

    def __post_init__(self) -> None:
        expression = self.expression
        if not isinstance(expression, str) or not 0 < len(expression) <= MAX_EXPRESSION_LENGTH:
            raise ScheduleError(
                f"a cron expression must be a string of 1 to {MAX_EXPRESSION_LENGTH} characters, "
                f"not {expression!r:.80}"
            )
        fields = expression.split()
        if not (len(fields) == 5 or (len(fields) == 1 and fields[0].startswith("@"))):
            raise ScheduleError(
                f"cron expression {expression!r}: five fields (minute hour day month weekday) "
                f"or an alias such as @hourly, not {len(fields)} fields"
            )
        object.__setattr__(self, "expression", " ".join(fields))
        _check_catch_up(self.catch_up)
        args, kwargs = _check_call(self.args, self.kwargs)
        object.__setattr__(self, "args", args)
        object.__setattr__(self, "kwargs", kwargs)
        try:  # parse and prove it fires: "0 0 31 2 *" parses but never comes
            self.next_after(_PROBE)
            self.latest_at_or_before(_PROBE)
        except ScheduleError:
            raise
        except Exception as exc:  # croniter's errors are ValueErrors or its own classes
            raise ScheduleError(f"cron expression {expression!r}: {exc}") from None

    def latest_at_or_before(self, moment: datetime) -> datetime:
        """The latest slot ``<= moment``. Cron slots are whole minutes, so searching back from
        the next whole second includes a slot equal to ``moment``."""
        start = _utc(moment).replace(microsecond=0) + _SECOND
        return _cron_step(self.expression, start, backwards=True)

    def next_after(self, moment: datetime) -> datetime:
        """The first slot ``> moment``."""
        return _cron_step(self.expression, _utc(moment).replace(microsecond=0), backwards=False)

    def describe(self) -> str:
        return f"cron {self.expression} (UTC)"


def _cron_step(expression: str, start: datetime, *, backwards: bool) -> datetime:
    from croniter import CroniterBadDateError, croniter

    iterator = croniter(expression, start)
    try:
        slot = iterator.get_prev(datetime) if backwards else iterator.get_next(datetime)
    except CroniterBadDateError:
        raise ScheduleError(f"cron expression {expression!r} never fires") from None
    return _utc(slot)


@dataclass(frozen=True, slots=True)
class Every:
    """A fixed interval (at least one second); slots are its multiples since the Unix epoch, so
    ``Every(timedelta(hours=1))`` runs on the hour, whichever process computes it."""

    interval: timedelta
    catch_up: timedelta = DEFAULT_CATCH_UP
    args: Sequence[Any] = ()
    kwargs: Mapping[str, Any] = field(default_factory=dict, hash=False)

    def __post_init__(self) -> None:
        if not isinstance(self.interval, timedelta) or self.interval < _SECOND:
            raise ScheduleError(f"an interval must be a timedelta of 1 s or more: {self.interval}")
        _check_catch_up(self.catch_up)
        args, kwargs = _check_call(self.args, self.kwargs)
        object.__setattr__(self, "args", args)
        object.__setattr__(self, "kwargs", kwargs)

    def latest_at_or_before(self, moment: datetime) -> datetime:
        """The latest slot ``<= moment``."""
        return _EPOCH + ((_utc(moment) - _EPOCH) // self.interval) * self.interval

    def next_after(self, moment: datetime) -> datetime:
        """The first slot ``> moment``."""
        return self.latest_at_or_before(moment) + self.interval

    def describe(self) -> str:
        return f"every {self.interval}"


Schedule: TypeAlias = Cron | Every


def parse_schedule(value: object) -> Schedule:
    """``@gearman_job(schedule=...)``: a cron string, a ``timedelta``, or a ``Cron``/``Every``
    (which also take ``catch_up`` and the fixed ``args``/``kwargs`` of each run)."""
    if isinstance(value, Cron | Every):
        return value
    if isinstance(value, str):
        return Cron(value)
    if isinstance(value, timedelta):
        return Every(value)
    raise ScheduleError(
        f"schedule must be a cron string, a timedelta, Cron(...) or Every(...), not {value!r:.80}"
    )


def due_slot(schedule: Schedule, now: datetime) -> datetime | None:
    """The slot to run at ``now`` under the catch-up rule: the latest slot at or before ``now``
    if it is at most ``schedule.catch_up`` late, else none."""
    slot = schedule.latest_at_or_before(now)
    return slot if _utc(now) - slot <= schedule.catch_up else None


def check_deferral(run_after: object, countdown: object) -> None:
    """Validate ``using(run_after=..., countdown=...)`` when the option is given, so that a bad
    one fails where it is written, not when the job is dispatched."""
    if run_after is not None and countdown is not None:
        raise ConfigurationError("pass run_after or countdown, not both")
    if run_after is not None and (
        not isinstance(run_after, datetime) or run_after.utcoffset() is None
    ):
        raise ConfigurationError(
            f"run_after must be an aware datetime (e.g. django.utils.timezone.now() + delta): a "
            f"naive time means something else in every process; got {run_after!r:.80}"
        )
    if countdown is not None and (
        isinstance(countdown, bool)
        or not isinstance(countdown, int | float)
        or not 0 <= countdown <= MAX_COUNTDOWN
    ):
        raise ConfigurationError(
            f"countdown must be a number of seconds from 0 to {MAX_COUNTDOWN}, "
            f"not {countdown!r:.80}"
        )


def deferred_until(
    run_after: datetime | None, countdown: float | None, now: datetime
) -> datetime | None:
    """When a dispatched job may run: ``run_after``, or ``now + countdown``; ``None`` if it was
    not deferred. A time in the past is kept as it is: the job is due at once."""
    if run_after is not None:
        return _utc(run_after)
    if countdown is not None:
        return _utc(now) + timedelta(seconds=countdown)
    return None


__all__ = [
    "DEFAULT_CATCH_UP",
    "Cron",
    "Every",
    "Schedule",
    "ScheduleError",
    "check_deferral",
    "deferred_until",
    "due_slot",
    "parse_schedule",
]
