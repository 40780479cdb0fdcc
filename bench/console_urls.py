"""URLs of the console benchmark's in-process site: the admin and the console."""

from django.contrib import admin
from django.urls import include, path

urlpatterns = [
    path("admin/", admin.site.urls),
    path("gearman/", include("django_gearman.urls")),
]
