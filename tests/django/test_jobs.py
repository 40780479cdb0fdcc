"""@gearman_job, the job registry, naming, using(), and the Django-free package import."""

from __future__ import annotations

import subprocess
import sys

import pytest

from django_gearman import GearmanJob, gearman_job, registry
from django_gearman.declaration import JobRegistry, default_job_name
from django_gearman.exceptions import ConfigurationError, DuplicateJobName, JobNotFound
from tests.django.jobs_app import gearman_jobs as jobs
from tests.django.support import ROOT


def test_bare_decorator_keeps_a_callable_plain_function() -> None:
    assert isinstance(jobs.add, GearmanJob)
    assert jobs.add(1, 2, three=3) == 6
    assert jobs.add.__wrapped__(1, 2) == 3


def test_default_name_strips_the_gearman_jobs_module() -> None:
    assert jobs.add.name == "tests.django.jobs_app.add"
    assert registry.get("tests.django.jobs_app.add") is jobs.add


def test_default_name_of_a_nested_function() -> None:
    def inner() -> None:
        return None

    inner.__module__ = "shop.gearman_jobs"
    assert default_job_name(inner) == "shop.test_default_name_of_a_nested_function.<locals>.inner"


def test_decorator_options_are_kept() -> None:
    assert jobs.renamed.name == "tests.custom-name"
    assert jobs.msgpack_accepting_json.serializer == "msgpack"
    assert jobs.msgpack_accepting_json.accept == ("json",)
    assert jobs.bytes_result.result_serializer == "msgpack"
    assert jobs.slow_job.queue == "slow"


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"name": "has space"}, "job name"),
        ({"name": ""}, "job name"),
        ({"worker_timeout": 0}, "worker_timeout"),
        ({"worker_timeout": 1.5}, "worker_timeout"),
        ({"serializer": ""}, "serializer"),
        ({"accept": "json"}, "accept"),
        ({"queue": 3}, "queue"),
    ],
)
def test_bad_decorator_options_are_configuration_errors(options: dict, message: str) -> None:
    with pytest.raises(ConfigurationError, match=message):
        gearman_job(**options)(lambda: None)


def test_the_timeout_option_is_a_deprecated_spelling_of_worker_timeout() -> None:
    def sleeper() -> None:
        return None

    name = "tests.django.test_jobs.deprecated-timeout"
    try:
        with pytest.warns(DeprecationWarning, match="worker_timeout"):
            job = gearman_job(name=name, timeout=5)(sleeper)
        assert job.worker_timeout == 5
        assert job.options.timeout is None  # the client's wait is untouched
    finally:
        registry._jobs.pop(name, None)
    with pytest.raises(ConfigurationError, match="worker_timeout only"):
        gearman_job(name=name, timeout=5, worker_timeout=5)


def test_decorating_a_non_callable_is_a_configuration_error() -> None:
    with pytest.raises(ConfigurationError, match="needs a function"):
        gearman_job(name="x")(42)  # type: ignore[arg-type]


def test_using_returns_a_copy_with_options_and_leaves_the_job_alone() -> None:
    high = jobs.add.using(priority="high", unique="k", background=True, timeout=5)
    assert high.options.priority == "high"
    assert high.options.unique == "k"
    assert high.options.background is True
    assert high.options.timeout == 5
    assert jobs.add.options.priority == "normal"
    assert high.name == jobs.add.name and high.func is jobs.add.func


def test_dispatch_submits_in_the_background_with_the_jobs_options() -> None:
    """dispatch/adispatch submit with the job's options plus background=True; submit leaves
    them alone; a copy from using() dispatches with its own options."""
    import asyncio

    from django_gearman.declaration import SubmitOptions

    seen: list[SubmitOptions] = []

    class Recorder:
        def run_job(
            self, job: GearmanJob, args: object, kwargs: object, options: SubmitOptions
        ) -> str:
            seen.append(options)
            return "H:1"

        async def arun_job(
            self, job: GearmanJob, args: object, kwargs: object, options: SubmitOptions
        ) -> str:
            return self.run_job(job, args, kwargs, options)

    job = jobs.add.using(client=Recorder(), priority="low")  # type: ignore[arg-type]
    assert job.dispatch(1, 2) == "H:1" and asyncio.run(job.adispatch(1, 2)) == "H:1"
    assert job.submit(1, 2) == "H:1"
    first, second, foreground = seen
    assert first == second and first.background and first.priority == "low"
    assert foreground is job.options and not job.options.background
    high = job.using(priority="high")
    high.dispatch(1, 2)
    assert seen[-1].background and seen[-1].priority == "high"
    assert high == job


@pytest.mark.parametrize("options", [{"priority": "urgent"}, {"timeout": -1}, {"timeout": True}])
def test_using_rejects_bad_options(options: dict) -> None:
    with pytest.raises(ConfigurationError):
        jobs.add.using(**options)


def test_registry_refuses_a_second_function_under_one_name_naming_both() -> None:
    local = JobRegistry()

    def first() -> int:
        return 1

    def second() -> int:
        return 2

    local.add(GearmanJob(first, name="dup"))
    with pytest.raises(DuplicateJobName) as caught:
        local.add(GearmanJob(second, name="dup"))
    message = str(caught.value)
    assert f"{__name__}.{first.__qualname__}" in message
    assert f"{__name__}.{second.__qualname__}" in message
    assert "@gearman_job(name=...)" in message
    assert caught.value.job_name == "dup"
    assert local.get("dup").func is first


def test_decorating_two_functions_with_one_name_raises_duplicate_job_name() -> None:
    def reverse(text: str) -> str:
        return text[::-1]

    def upper(text: str) -> str:
        return text.upper()

    name = "tests.django.test_jobs.claimed-twice"
    try:
        gearman_job(name=name)(reverse)
        with pytest.raises(DuplicateJobName, match=r"reverse.*upper"):
            gearman_job(name=name)(upper)
        assert registry.get(name).func is reverse
    finally:
        registry._jobs.pop(name, None)


def test_registry_redefinition_of_the_same_function_is_not_a_duplicate() -> None:
    local = JobRegistry()

    def job() -> int:
        return 1

    local.add(GearmanJob(job, name="same"))
    local.add(GearmanJob(job, name="same", queue="q"))
    assert local.get("same").queue == "q"


def test_registry_lookup_of_unknown_name_is_typed() -> None:
    with pytest.raises(JobNotFound, match="no-such-job"):
        registry.get("no-such-job")


def test_queues_select_jobs() -> None:
    slow = registry.for_queues(["slow"])
    assert [job.name for job in slow] == ["tests.django.jobs_app.slow_job"]
    assert len(registry.for_queues([])) == len(registry)


def test_package_import_does_not_import_django() -> None:
    code = (
        "import sys, django_gearman, django_gearman.protocol\n"
        "assert 'django' not in sys.modules, sorted(m for m in sys.modules if 'django' in m)\n"
        "print(len(django_gearman.__all__))"
    )
    done = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 0, done.stderr
    assert int(done.stdout) > 10


def test_unknown_public_name_is_an_attribute_error() -> None:
    import django_gearman

    with pytest.raises(AttributeError, match="no_such_name"):
        django_gearman.no_such_name  # noqa: B018


def test_every_public_name_resolves() -> None:
    import django_gearman

    for name in django_gearman.__all__:
        assert getattr(django_gearman, name) is not None, name
    assert issubclass(django_gearman.JobRefused, django_gearman.JobFailed)


def test_the_0_2_names_stay_importable_from_the_package() -> None:
    """The compatibility surface (docs/usage.md) is reachable as 0.2 code reaches it."""
    import django_gearman
    from django_gearman import RESERVED_KEYWORDS, GearmanClient, Task

    assert set(django_gearman.__all__) == set(django_gearman._PUBLIC)
    assert "background" in RESERVED_KEYWORDS
    assert Task("app.job", "data").data == "data"
    for method in ("submit_job", "do_task", "do_tasks", "dispatch_background_task"):
        assert callable(getattr(GearmanClient, method)), method
