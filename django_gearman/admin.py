"""The Django admin for job records: list, filters, search, a readable detail page, and the
operator's actions (retry, cancel queued jobs, purge old records).

Records are written by clients and workers only, so the admin never edits one: the detail page
is read-only and shows the decoded call (sensitive parameters hidden), result, error and
traceback. Every action checks a Django permission (retry: ``add_jobrecord``, cancel:
``change_jobrecord``, purge: ``delete_jobrecord``) and is written to the admin log.
"""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Any, cast

from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.db.models import Q, QuerySet
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.template.response import TemplateResponse
from django.urls import URLPattern, path, reverse
from django.utils import timezone
from django.utils.html import format_html, format_html_join
from django.utils.safestring import SafeString, mark_safe
from django.views.decorators.http import require_POST

from .console.activity import format_age
from .console.envelopes import DecodedEnvelope, decode_envelope, pretty_value
from .console.operations import RETRYABLE, RetryRefused, cancel, purgeable, retry
from .models import JobRecord, ResultStatus

SHORT_ID = 8  # hex digits of a record id in lists and messages (search takes any prefix)
MAX_SHOWN = 20_000  # characters of a decoded value on the detail page
LIST_SKIPS = ("call", "result", "traceback", "attempt_errors", "error_message")
DEFAULT_PURGE_DAYS = 30
MAX_PURGE_DAYS = 36_500


def _uuid_prefix(term: str) -> str | None:
    """A search term that can only be (the start of) a record id: hex digits, maybe hyphens."""
    compact = term.replace("-", "").lower()
    if 4 <= len(compact) <= 32 and all(c in "0123456789abcdef" for c in compact):
        return compact
    return None


def _user_has(request: HttpRequest, permission: str) -> bool:
    user: Any = request.user  # the admin only lets in users of a permission-aware model
    return bool(user.has_perm(permission))


def _when(moment: dt.datetime | None, same_day_as: dt.datetime | None = None) -> str:
    """A compact local timestamp for list columns, the time alone on the day of
    ``same_day_as`` (the detail page shows Django's long form)."""
    if moment is None:
        return ""
    local = timezone.localtime(moment)
    if same_day_as is not None and timezone.localtime(same_day_as).date() == local.date():
        return local.strftime("%H:%M:%S")
    return local.strftime("%Y-%m-%d %H:%M:%S")


def format_duration(seconds: float) -> str:
    return f"{seconds:.3f} s" if seconds < 60 else format_age(seconds)


@admin.register(JobRecord)
class JobRecordAdmin(admin.ModelAdmin):
    list_display = (
        "short_id",
        "status_badge",
        "job_name",
        "queue",
        "attempts_shown",
        "enqueued",
        "started",
        "finished",
        "duration",
        "worker",
    )
    list_display_links = ("short_id",)
    list_filter = ("status", "job_name", "queue", "enqueued_at")
    search_fields = ("job_name",)
    search_help_text = "A record id (or its first characters) or part of a job name."
    ordering = ("-enqueued_at",)
    list_per_page = 50
    show_full_result_count = False
    actions = ("retry_selected", "cancel_selected")
    change_form_template = "admin/django_gearman/jobrecord/change_form.html"
    change_list_template = "admin/django_gearman/jobrecord/change_list.html"
    fieldsets = (
        (
            None,
            {"fields": ("id", "status_badge", "job_name", "queue", "priority", "retry_links")},
        ),
        (
            "Error",
            {"fields": ("error_type", "error_message", "traceback_text", "earlier_errors")},
        ),
        ("Arguments", {"fields": ("arguments",)}),
        ("Result", {"fields": ("result_value",)}),
        (
            "Timing",
            {
                "fields": (
                    "enqueued_at",
                    "run_after",
                    "released_at",
                    "started_at",
                    "finished_at",
                    "duration",
                )
            },
        ),
        (
            "Attempts",
            {
                "fields": (
                    "attempts_shown",
                    "worker",
                    "handle",
                    "server",
                    "cancel_requested",
                    "task_priority",
                    "backend",
                )
            },
        ),
    )
    readonly_fields = tuple(
        name for _, options in fieldsets for name in cast(tuple[str, ...], options["fields"])
    )

    class Media:
        css = {"all": ("django_gearman/console/console.css",)}

    # -- permissions -----------------------------------------------------------------------

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False  # clients write records; an operator retries one instead

    def has_change_permission(self, request: HttpRequest, obj: JobRecord | None = None) -> bool:
        return False  # a record is history: never edited by hand

    def has_retry_permission(self, request: HttpRequest) -> bool:
        return _user_has(request, "django_gearman.add_jobrecord")

    def has_cancel_permission(self, request: HttpRequest) -> bool:
        return _user_has(request, "django_gearman.change_jobrecord")

    # -- list and detail columns -----------------------------------------------------------

    @admin.display(description="ID", ordering="id")
    def short_id(self, record: JobRecord) -> str:
        return record.id.hex[:SHORT_ID]

    @admin.display(description="status", ordering="status")
    def status_badge(self, record: JobRecord) -> SafeString:
        note = (
            " (cancel requested)" if record.cancel_requested and record.status == "RUNNING" else ""
        )
        return format_html(
            '<span class="gearman-badge badge-{}">{}</span>{}',
            record.status.lower(),
            ResultStatus(record.status).label,
            note,
        )

    @admin.display(description="enqueued", ordering="enqueued_at")
    def enqueued(self, record: JobRecord) -> str:
        return _when(record.enqueued_at)

    @admin.display(description="started", ordering="started_at")
    def started(self, record: JobRecord) -> str:
        return _when(record.started_at, same_day_as=record.enqueued_at)

    @admin.display(description="finished", ordering="finished_at")
    def finished(self, record: JobRecord) -> str:
        return _when(record.finished_at, same_day_as=record.enqueued_at)

    @admin.display(description="attempts")
    def attempts_shown(self, record: JobRecord) -> str:
        return f"{record.attempts} of {record.max_attempts}"

    @admin.display(description="duration")
    def duration(self, record: JobRecord) -> str:
        if record.started_at is None or record.finished_at is None:
            return ""
        return format_duration(max((record.finished_at - record.started_at).total_seconds(), 0))

    @admin.display(description="retries")
    def retry_links(self, record: JobRecord) -> SafeString | str:
        parts: list[SafeString] = []
        original = record.retry_of
        if original is not None:
            parts.append(
                format_html(
                    'retry of <a href="{}">{}</a>',
                    self._detail_url(original.pk),
                    original.pk.hex[:SHORT_ID],
                )
            )
        retried = list(
            JobRecord.objects.filter(retry_of=record)
            .order_by("enqueued_at")
            .values_list("pk", "status")[:20]
        )
        if retried:
            links = format_html_join(
                ", ",
                '<a href="{}">{}</a> ({})',
                (
                    (self._detail_url(pk), pk.hex[:SHORT_ID], status.lower())
                    for pk, status in retried
                ),
            )
            parts.append(format_html("retried as {}", links))
        return format_html_join(mark_safe("<br>"), "{}", ((p,) for p in parts)) or "-"

    def _decoded(self, blob: bytes | memoryview | None, record: JobRecord, call: bool) -> Any:
        if not blob:
            return None
        return decode_envelope(bytes(blob), job_name=record.job_name, is_call=call)

    @staticmethod
    def _show(decoded: DecodedEnvelope | None) -> SafeString | str:
        if decoded is None:
            return "-"
        if not decoded.ok:
            return format_html('<span class="gearman-problem">{}</span>', decoded.problem)
        note = (
            format_html('<p class="help">Hidden: {} (sensitive)</p>', ", ".join(decoded.hidden))
            if decoded.hidden
            else ""
        )
        signed = "signed, verified" if decoded.signed else "unsigned"
        header = decoded.header
        content_type = header.content_type if header is not None else ""
        return format_html(
            '<pre class="gearman-value">{}</pre>{}<p class="help">{}, {}</p>',
            decoded.pretty(MAX_SHOWN),
            note,
            content_type,
            signed,
        )

    @admin.display(description="arguments")
    def arguments(self, record: JobRecord) -> SafeString | str:
        return self._show(self._decoded(record.call, record, call=True))

    @admin.display(description="result")
    def result_value(self, record: JobRecord) -> SafeString | str:
        if record.status == ResultStatus.FAILED:
            return "-"  # a failure's envelope is the error, shown below
        return self._show(self._decoded(record.result, record, call=False))

    @admin.display(description="traceback")
    def traceback_text(self, record: JobRecord) -> SafeString | str:
        if not record.traceback:
            return "-"
        return format_html('<pre class="gearman-traceback">{}</pre>', record.traceback)

    @admin.display(description="earlier attempts")
    def earlier_errors(self, record: JobRecord) -> SafeString | str:
        if not record.attempt_errors:
            return "-"
        return format_html(
            '<pre class="gearman-value">{}</pre>', pretty_value(record.attempt_errors)
        )

    def get_fieldsets(self, request: HttpRequest, obj: JobRecord | None = None) -> Any:
        """The error section only for a record that has one."""
        fieldsets = super().get_fieldsets(request, obj)
        if obj is not None and not (obj.error_type or obj.traceback or obj.attempt_errors):
            return [(name, options) for name, options in fieldsets if name != "Error"]
        return fieldsets

    # -- list queries ----------------------------------------------------------------------

    def get_queryset(self, request: HttpRequest) -> QuerySet[JobRecord]:
        """The list never shows envelopes or tracebacks: it does not load them."""
        queryset = super().get_queryset(request)
        match = request.resolver_match
        if match is not None and match.url_name == "django_gearman_jobrecord_changelist":
            queryset = queryset.defer(*LIST_SKIPS)
        return queryset

    # -- search ----------------------------------------------------------------------------

    def get_search_results(
        self, request: HttpRequest, queryset: QuerySet[JobRecord], search_term: str
    ) -> tuple[QuerySet[JobRecord], bool]:
        term = search_term.strip()
        if not term:
            return queryset, False
        condition = Q(job_name__icontains=term)
        prefix = _uuid_prefix(term)
        if prefix is not None:
            condition |= Q(id__startswith=prefix)
        return queryset.filter(condition), False

    # -- actions ---------------------------------------------------------------------------

    @admin.action(description="Retry selected failed or cancelled jobs", permissions=("retry",))
    def retry_selected(self, request: HttpRequest, queryset: QuerySet[JobRecord]) -> None:
        for record in queryset.filter(status__in=RETRYABLE).only("pk", "job_name")[:1000]:
            self._retry(request, record.pk)
        skipped = queryset.exclude(status__in=RETRYABLE).count()
        if skipped:
            self.message_user(
                request,
                f"{skipped} selected job(s) not retried: not failed or cancelled.",
                messages.WARNING,
            )

    @admin.action(description="Cancel selected queued jobs", permissions=("cancel",))
    def cancel_selected(self, request: HttpRequest, queryset: QuerySet[JobRecord]) -> None:
        for record_id in queryset.values_list("pk", flat=True)[:1000]:
            self._cancel(request, record_id)

    def _retry(self, request: HttpRequest, record_id: uuid.UUID) -> uuid.UUID | None:
        try:
            outcome = retry(record_id)
        except RetryRefused as exc:
            self.message_user(request, str(exc), messages.ERROR)
            return None
        old = JobRecord.objects.get(pk=outcome.original)
        new = JobRecord.objects.get(pk=outcome.new)
        self.log_change(request, old, f"Retried as {outcome.new.hex}.")
        self.log_addition(request, new, f"Retry of {outcome.original.hex}.")
        self.message_user(
            request,
            f"Job {outcome.original.hex[:SHORT_ID]} retried as {outcome.new.hex[:SHORT_ID]}.",
            messages.SUCCESS,
        )
        return outcome.new

    def _cancel(self, request: HttpRequest, record_id: uuid.UUID) -> None:
        cancelled = cancel(record_id)
        record = JobRecord.objects.get(pk=record_id)
        if cancelled:
            self.log_change(request, record, "Cancelled before it started.")
            self.message_user(
                request, f"Job {record_id.hex[:SHORT_ID]} cancelled.", messages.SUCCESS
            )
        else:
            message = (
                "asked to stop (it is running)"
                if record.status == ResultStatus.RUNNING
                else f"not cancelled: it is {ResultStatus(record.status).label.lower()}"
            )
            if record.status == ResultStatus.RUNNING:
                self.log_change(request, record, "Cancellation requested while running.")
            self.message_user(
                request, f"Job {record_id.hex[:SHORT_ID]} {message}.", messages.WARNING
            )

    # -- per-record buttons and the purge page ---------------------------------------------

    def get_urls(self) -> list[URLPattern]:
        wrap = self.admin_site.admin_view
        return [
            path("purge/", wrap(self.purge_view), name="django_gearman_jobrecord_purge"),
            path(
                "<uuid:record_id>/retry/",
                wrap(require_POST(self.retry_view)),
                name="django_gearman_jobrecord_retry",
            ),
            path(
                "<uuid:record_id>/cancel/",
                wrap(require_POST(self.cancel_view)),
                name="django_gearman_jobrecord_cancel",
            ),
            *super().get_urls(),
        ]

    def _detail_url(self, record_id: uuid.UUID) -> str:
        return reverse("admin:django_gearman_jobrecord_change", args=[record_id])

    def retry_view(self, request: HttpRequest, record_id: uuid.UUID) -> HttpResponse:
        if not self.has_retry_permission(request):
            raise PermissionDenied
        new_id = self._retry(request, record_id)
        return HttpResponseRedirect(self._detail_url(new_id or record_id))

    def cancel_view(self, request: HttpRequest, record_id: uuid.UUID) -> HttpResponse:
        if not self.has_cancel_permission(request):
            raise PermissionDenied
        if not JobRecord.objects.filter(pk=record_id).exists():
            self.message_user(request, f"No job record {record_id.hex}.", messages.ERROR)
            return HttpResponseRedirect(reverse("admin:django_gearman_jobrecord_changelist"))
        self._cancel(request, record_id)
        return HttpResponseRedirect(self._detail_url(record_id))

    def purge_view(self, request: HttpRequest) -> HttpResponse:
        """Delete finished records older than N days, after a confirmation showing how many."""
        if not self.has_delete_permission(request):
            raise PermissionDenied
        source = request.POST if request.method == "POST" else request.GET
        try:
            days = int(source.get("days", DEFAULT_PURGE_DAYS))
        except ValueError:
            days = -1
        if not 0 <= days <= MAX_PURGE_DAYS:
            self.message_user(request, f"Days must be 0 to {MAX_PURGE_DAYS}.", messages.ERROR)
            days = DEFAULT_PURGE_DAYS
        cutoff = timezone.now() - dt.timedelta(days=days)
        doomed = JobRecord.objects.filter(pk__in=purgeable(dt.timedelta(days=days)))
        if request.method == "POST" and source.get("confirm") == "yes":
            count = doomed.count()
            self.log_deletions(request, doomed)
            doomed.delete()
            self.message_user(request, f"Purged {count} finished job record(s).", messages.SUCCESS)
            return HttpResponseRedirect(reverse("admin:django_gearman_jobrecord_changelist"))
        context = {
            **self.admin_site.each_context(request),
            "opts": self.opts,
            "title": "Purge old job records",
            "days": days,
            "cutoff": cutoff,
            "count": doomed.count(),
        }
        return TemplateResponse(request, "admin/django_gearman/jobrecord/purge.html", context)

    def changelist_view(
        self, request: HttpRequest, extra_context: dict[str, Any] | None = None
    ) -> HttpResponse:
        extra = {
            **(extra_context or {}),
            **self._links(),
            "can_purge": self.has_delete_permission(request),
        }
        return super().changelist_view(request, extra)

    def change_view(
        self,
        request: HttpRequest,
        object_id: str,
        form_url: str = "",
        extra_context: dict[str, Any] | None = None,
    ) -> HttpResponse:
        record = self.get_object(request, object_id)
        extra = {
            **(extra_context or {}),
            **self._links(),
            "can_retry": record is not None
            and record.status in RETRYABLE
            and self.has_retry_permission(request),
            "can_cancel": record is not None
            and record.status in (ResultStatus.READY, ResultStatus.RUNNING)
            and self.has_cancel_permission(request),
        }
        return super().change_view(request, object_id, form_url, extra)

    def _links(self) -> dict[str, str]:
        try:
            status_url = reverse("django_gearman:status")
        except Exception:  # the project did not include django_gearman.urls
            status_url = ""
        return {"gearman_status_url": status_url}
