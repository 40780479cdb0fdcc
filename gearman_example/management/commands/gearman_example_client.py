"""``manage.py gearman_example_client``: submit each example job and show what comes back."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from django.core.management.base import BaseCommand, CommandParser


class ProgressBar:
    """A one-line text progress bar, redrawn on each WORK_STATUS of the long job."""

    def __init__(self, write: Any, width: int = 30) -> None:
        self.write = write
        self.width = width
        self.updates = 0

    def __call__(self, numerator: int, denominator: int) -> None:
        self.updates += 1
        done = self.width * numerator // denominator if denominator else 0
        bar = "#" * done + "." * (self.width - done)
        self.write(f"\r  [{bar}] {numerator}/{denominator}", ending="")

    def finish(self) -> None:
        self.write("")


class Command(BaseCommand):
    help = "Run the example jobs against a running gearman_worker and print their results."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--sentence", default="Hello, Gearman world!")
        parser.add_argument("--steps", type=int, default=20, help="steps of the long job")

    def handle(self, *args: Any, **options: Any) -> None:
        from django_gearman import GearmanClient, Task
        from gearman_example.gearman_jobs import Order, OrderLine, long_task, quote_order

        client = GearmanClient()
        sentence = options["sentence"]
        self.stdout.write(f"reverse({sentence!r}) ...")
        result = client.do_task(Task("gearman_example.reverse", sentence))
        self.stdout.write(f"  result: {result!r}")

        handle = client.dispatch_background_task("gearman_example.background_counting", None)
        self.stdout.write(f"background_counting queued in the background: handle {handle}")

        order = Order(
            customer="ACME",
            lines=[
                OrderLine(sku="gear-12", quantity=3, unit_price=Decimal("4.50")),
                OrderLine(sku="belt-7", quantity=1, unit_price=Decimal("12.00")),
            ],
        )
        quote = quote_order.submit(order, discount_percent=10)
        self.stdout.write(
            f"quote_order (typed): {quote.customer} pays {quote.total} for {quote.items} items"
        )

        steps = options["steps"]
        self.stdout.write(f"long_task({steps} steps) with progress:")
        bar = ProgressBar(self.stdout.write)
        outcome = long_task.using(on_status=bar, timeout=120).submit(steps=steps)
        bar.finish()
        self.stdout.write(f"  result: {outcome!r} ({bar.updates} progress updates)")
        client.close()
