"""App config of the example app."""

from django.apps import AppConfig


class GearmanExampleConfig(AppConfig):
    name = "gearman_example"
    verbose_name = "Gearman example"
