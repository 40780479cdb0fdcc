"""The console test site's URLs: the admin, and the console where a project would include it."""

from django.contrib import admin
from django.urls import include, path

urlpatterns = [
    path("admin/", admin.site.urls),
    path("gearman/", include("django_gearman.urls")),
]
