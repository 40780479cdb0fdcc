"""GEARMAN_* settings, system checks and autodiscovery of gearman_jobs modules."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from django.apps import apps
from django.core import checks
from django.test import override_settings

from django_gearman.checks import check_jobs, check_settings
from django_gearman.conf import get_settings, read_settings
from django_gearman.declaration import GearmanJob, JobRegistry
from django_gearman.discovery import autodiscover
from django_gearman.exceptions import ConfigurationError, DuplicateJobName


def ids(messages: list[checks.CheckMessage]) -> list[str]:
    return sorted(str(message.id) for message in messages)


def test_servers_accept_a_string_or_a_list() -> None:
    with override_settings(GEARMAN_SERVERS="127.0.0.1:4731"):
        assert get_settings().servers == ("127.0.0.1:4731",)
    with override_settings(GEARMAN_SERVERS=["localhost", "[::1]:4732"]):
        assert get_settings().servers == ("localhost:4730", "[::1]:4732")


def test_settings_are_re_read_when_overridden() -> None:
    before = get_settings()
    with override_settings(GEARMAN_TIMEOUT=7):
        assert get_settings().timeout == 7.0
    assert get_settings() is not before or get_settings().timeout == before.timeout


@pytest.mark.parametrize(
    ("setting", "value", "message"),
    [
        ("GEARMAN_SERVERS", ["bad host:1"], "GEARMAN_SERVERS"),
        ("GEARMAN_SERVERS", 4730, "GEARMAN_SERVERS"),
        ("GEARMAN_SERVERS", ["127.0.0.1:99999"], "port"),
        ("GEARMAN_JOB_NAME", "%(namespace)s.%(job_name)s", "adler32"),
        ("GEARMAN_JOB_NAME", "prefix-without-placeholder", "{name}"),
        ("GEARMAN_JOB_NAME", 12, "GEARMAN_JOB_NAME"),
        ("GEARMAN_SIGNING_KEYS", {"k1": "short"}, "16 bytes"),
        ("GEARMAN_SIGNING_KEYS", ["k1"], "dict"),
        ("GEARMAN_SIGNING_KEY_ID", "nope", "GEARMAN_SIGNING_KEY_ID"),
        ("GEARMAN_TIMEOUT", -1, "GEARMAN_TIMEOUT"),
        ("GEARMAN_MAX_PAYLOAD_SIZE", 1.5, "GEARMAN_MAX_PAYLOAD_SIZE"),
        ("GEARMAN_DEFAULT_SERIALIZER", "", "GEARMAN_DEFAULT_SERIALIZER"),
    ],
)
def test_malformed_settings_raise_and_are_reported_by_checks(
    setting: str, value: object, message: str
) -> None:
    with override_settings(**{setting: value}):
        with pytest.raises(ConfigurationError, match=message):
            get_settings()
        errors = check_settings()
        assert "django_gearman.E001" in ids(errors)
        assert any(message in str(error.msg) for error in errors)


def test_job_name_format_string_and_callable() -> None:
    with override_settings(GEARMAN_JOB_NAME="shop.{name}"):
        assert get_settings().wire_name("app.job") == "shop.app.job"
    with override_settings(GEARMAN_JOB_NAME="%(job_name)s@v2"):
        assert get_settings().wire_name("app.job") == "app.job@v2"
    with override_settings(GEARMAN_JOB_NAME=str.upper):
        assert get_settings().wire_name("app.job") == "APP.JOB"
    assert get_settings().wire_name("app.job") == "app.job"


def test_single_signing_key_is_the_current_one_and_signatures_become_required() -> None:
    with override_settings(GEARMAN_SIGNING_KEYS={"k1": "0123456789abcdef"}):
        current = get_settings()
        assert current.signing_key_id == "k1"
        assert current.signing_keys == {"k1": b"0123456789abcdef"}
        assert current.require_signature is True


def test_secrets_are_not_in_the_settings_repr() -> None:
    with override_settings(GEARMAN_SIGNING_KEYS={"k1": "0123456789abcdef-hidden"}):
        assert "hidden" not in repr(get_settings())
        assert "k1" in repr(get_settings())


def test_several_keys_need_a_current_key_id() -> None:
    keys = {"k1": "0123456789abcdef", "k2": "fedcba9876543210"}
    with override_settings(GEARMAN_SIGNING_KEYS=keys):
        assert any("GEARMAN_SIGNING_KEY_ID" in p for p in read_settings().problems)
    with override_settings(GEARMAN_SIGNING_KEYS=keys, GEARMAN_SIGNING_KEY_ID="k2"):
        assert get_settings().signing_key_id == "k2"


def test_no_servers_is_an_error_unless_eager() -> None:
    with override_settings(GEARMAN_SERVERS=[]):
        assert ids(check_settings()) == ["django_gearman.E002"]
    with override_settings(GEARMAN_SERVERS=[], GEARMAN_EAGER=True):
        assert check_settings() == []


def test_unknown_default_serializer_is_reported() -> None:
    with override_settings(GEARMAN_DEFAULT_SERIALIZER="yaml"):
        assert "django_gearman.E004" in ids(check_settings())


def _registry_with(*jobs: GearmanJob) -> JobRegistry:
    local = JobRegistry()
    for job in jobs:
        local.add(job)
    return local


def plain(value: int) -> int:
    return value


def other(value: int) -> int:
    return value


def test_the_project_jobs_pass_the_checks() -> None:
    from django_gearman import registry

    ours = [
        job
        for job in registry
        if job.func.__module__.startswith(("gearman_example.", "tests.django."))
    ]
    assert len(ours) > 10
    found = check_settings() + check_jobs(_registry_with(*ours))
    assert [m for m in found if m.level >= checks.ERROR] == []
    assert "gearman" in checks.registry.registry.tags_available()


def test_pickle_job_without_signing_keys_is_an_error() -> None:
    local = _registry_with(GearmanJob(plain, name="p", serializer="pickle"))
    assert ids(check_jobs(local)) == ["django_gearman.E003"]
    with override_settings(GEARMAN_SIGNING_KEYS={"k1": "0123456789abcdef"}):
        assert check_jobs(local) == []


def test_pickle_in_accept_also_needs_signing() -> None:
    local = _registry_with(GearmanJob(plain, name="p", accept=("application/x-python-pickle",)))
    assert ids(check_jobs(local)) == ["django_gearman.E003"]


def test_unknown_job_serializer_is_an_error() -> None:
    local = _registry_with(
        GearmanJob(plain, name="a", serializer="yaml"),
        GearmanJob(plain, name="b", result_serializer="toml"),
        GearmanJob(plain, name="c", accept=("text/csv",)),
    )
    assert ids(check_jobs(local)) == ["django_gearman.E004"] * 3


def test_two_functions_with_one_name_are_refused_before_the_checks_run() -> None:
    """What check E005 reported is now ``DuplicateJobName`` at registration, naming both."""
    with pytest.raises(DuplicateJobName, match=r"plain.*other"):
        _registry_with(GearmanJob(plain, name="same"), GearmanJob(other, name="same"))


def test_unresolvable_annotation_is_an_error() -> None:
    def broken(value: NoSuchType) -> int:  # type: ignore[name-defined]  # noqa: F821
        return 1

    assert ids(check_jobs(_registry_with(GearmanJob(broken, name="broken")))) == [
        "django_gearman.E006"
    ]


def test_can_do_timeout_gets_a_warning() -> None:
    warnings = check_jobs(_registry_with(GearmanJob(plain, name="t", worker_timeout=5)))
    assert ids(warnings) == ["django_gearman.W001"]
    assert warnings[0].level == checks.WARNING


def test_unenveloped_job_with_required_signatures_gets_a_warning() -> None:
    local = _registry_with(GearmanJob(plain, name="bare", unenveloped="text/plain"))
    assert check_jobs(local) == []
    with override_settings(GEARMAN_SIGNING_KEYS={"k1": "0123456789abcdef"}):
        assert ids(check_jobs(local)) == ["django_gearman.W002"]


def test_autodiscovery_imported_the_jobs_modules() -> None:
    from django_gearman import registry

    assert registry.find("gearman_example.reverse") is not None
    assert registry.find("tests.django.jobs_app.echo") is not None


def test_autodiscovery_skips_apps_without_a_jobs_module() -> None:
    imported = autodiscover()
    assert "django.contrib.contenttypes.gearman_jobs" not in imported
    assert "gearman_example.gearman_jobs" in imported


def test_import_error_inside_a_jobs_module_is_re_raised(
    settings_with_broken_app: Callable[[], None],
) -> None:
    with pytest.raises(ModuleNotFoundError, match="a_module_that_does_not_exist"):
        settings_with_broken_app()


@pytest.fixture
def settings_with_broken_app() -> Callable[[], None]:
    def run() -> None:
        with override_settings(
            INSTALLED_APPS=[*(c.name for c in apps.get_app_configs()), "tests.django.broken_app"]
        ):
            autodiscover()

    return run
