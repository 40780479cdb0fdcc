"""The console's URLs: ``path("gearman/", include("django_gearman.urls"))`` in a project's URLconf.

``gearman/`` is the live status page, ``gearman/panels`` the part it refreshes in place, and
``gearman/metrics`` the Prometheus text endpoint. The job records themselves live in the admin.
"""

from django.urls import path

from .console import views

app_name = "django_gearman"

urlpatterns = [
    path("", views.status_page, name="status"),
    path("panels", views.status_panels, name="status-panels"),
    path("metrics", views.metrics, name="metrics"),
]
