"""The console's pages: the live status page (and its refresh fragment) and the metrics text.

Staff only: the status page needs a staff login with the ``view_jobrecord`` permission; the
metrics endpoint takes the same login or, for scrapers, ``GEARMAN_METRICS_TOKEN`` as a bearer
token. Servers that do not answer are shown as down, never turned into an error page.
"""

from __future__ import annotations

import datetime as dt
import hmac
from typing import Any

from django.contrib import admin
from django.contrib.admin.views.decorators import staff_member_required
from django.contrib.auth.decorators import permission_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.urls import NoReverseMatch, reverse
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET

from .activity import recent_activity
from .chart import render_bars
from .conf import console_settings
from .metrics import CONTENT_TYPE, collect_record_metrics, render_metrics
from .status import StatusSnapshot, take_snapshot

VIEW_PERMISSION = "django_gearman.view_jobrecord"


def _servers() -> tuple[tuple[str, ...], str]:
    """The configured servers, or none and the settings problem to show instead."""
    from django_gearman import ConfigurationError
    from django_gearman.conf import get_settings

    try:
        return get_settings().servers, ""
    except ConfigurationError as exc:
        return (), str(exc)


def _snapshot(timeout: float) -> tuple[StatusSnapshot, str]:
    servers, problem = _servers()
    return take_snapshot(servers, timeout), problem


def _changelist_url() -> str:
    try:
        return reverse("admin:django_gearman_jobrecord_changelist")
    except NoReverseMatch:
        return ""


def _status_context(request: HttpRequest) -> dict[str, Any]:
    options = console_settings()
    snapshot, problem = _snapshot(options.timeout)
    now = dt.datetime.now(dt.UTC)
    activity = recent_activity(now, options.window_minutes)
    return {
        "snapshot": snapshot,
        "settings_problem": problem,
        "activity": activity,
        "chart": render_bars(
            activity.bars, title=f"Finished jobs per minute, last {activity.minutes} minutes"
        ),
        "now": now,
        "refresh_seconds": options.refresh_seconds,
        "changelist_url": _changelist_url(),
    }


@never_cache
@require_GET
@staff_member_required
@permission_required(VIEW_PERMISSION, raise_exception=True)
def status_page(request: HttpRequest) -> HttpResponse:
    """The whole page, in the admin's look."""
    context = {
        **admin.site.each_context(request),
        **_status_context(request),
        "title": "Gearman status",
    }
    return render(request, "django_gearman/console/status.html", context)


@never_cache
@require_GET
@staff_member_required
@permission_required(VIEW_PERMISSION, raise_exception=True)
def status_panels(request: HttpRequest) -> HttpResponse:
    """Only the live panels: what the page's script swaps in on every refresh."""
    return render(request, "django_gearman/console/panels.html", _status_context(request))


def _token_matches(request: HttpRequest, token: str | None) -> bool:
    if token is None:
        return False
    scheme, _, given = request.headers.get("Authorization", "").partition(" ")
    return scheme.lower() == "bearer" and hmac.compare_digest(given.encode(), token.encode())


@never_cache
@require_GET
def metrics(request: HttpRequest) -> HttpResponse:
    """Prometheus text: a valid bearer token, or a staff login with the view permission."""
    options = console_settings()
    user = getattr(request, "user", None)  # a token-only project may have no auth middleware
    allowed = _token_matches(request, options.metrics_token) or (
        user is not None and user.is_active and user.is_staff and user.has_perm(VIEW_PERMISSION)
    )
    if not allowed:
        response = HttpResponse("authentication required\n", status=401, content_type="text/plain")
        response["WWW-Authenticate"] = 'Bearer realm="gearman metrics"'
        return response
    snapshot, _ = _snapshot(options.timeout)
    text = render_metrics(snapshot, collect_record_metrics())
    return HttpResponse(text, content_type=CONTENT_TYPE)
