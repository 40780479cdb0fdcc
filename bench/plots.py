"""PNG plots of the tables (matplotlib, Agg backend: no display needed)."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt

OURS_COLOR = "#1f77b4"
OTHER_COLOR = "#999999"
CEILING_COLOR = "#2ca02c"


def _color(label: str) -> str:
    if label.startswith(("ours", "envelope", "pydantic call schema")):
        return OURS_COLOR
    if label.startswith("raw"):
        return CEILING_COLOR
    return OTHER_COLOR


def bar_chart(path: Path, title: str, xlabel: str, groups: dict[str, dict[str, float]]) -> Path:
    """One horizontal bar panel per group (e.g. "sequential", "batched"), one bar per label."""
    panels = [(name, values) for name, values in groups.items() if values]
    height = max(2.5, 0.45 * max((len(v) for _, v in panels), default=1) + 1.4)
    figure, axes = plt.subplots(
        len(panels) or 1, 1, figsize=(8, height * max(1, len(panels))), squeeze=False
    )
    for axis, (name, values) in zip(axes[:, 0], panels, strict=False):
        labels = list(values)
        axis.barh(labels, [values[k] for k in labels], color=[_color(k) for k in labels])
        axis.invert_yaxis()
        axis.set_title(name, fontsize=10)
        axis.set_xlabel(xlabel)
        axis.grid(axis="x", alpha=0.3)
        for index, label in enumerate(labels):
            axis.annotate(
                f" {values[label]:,.1f}" if values[label] < 100 else f" {values[label]:,.0f}",
                (values[label], index),
                va="center",
                fontsize=8,
            )
    figure.suptitle(title)
    figure.tight_layout()
    figure.savefig(path, dpi=100)
    plt.close(figure)
    return path


def line_chart(
    path: Path,
    title: str,
    xlabel: str,
    ylabel: str,
    x: Sequence[float],
    series: dict[str, Sequence[float | None]],
) -> Path:
    """Throughput curves against a log2 x axis (jobs in flight)."""
    figure, axis = plt.subplots(figsize=(8, 4.5))
    for label, values in series.items():
        points = [(a, b) for a, b in zip(x, values, strict=True) if b is not None]
        if points:
            axis.plot(*zip(*points, strict=True), marker="o", label=label)
    axis.set_xscale("log", base=2)
    axis.set_xlabel(xlabel)
    axis.set_ylabel(ylabel)
    axis.set_title(title)
    axis.grid(alpha=0.3)
    axis.legend(fontsize=8)
    figure.tight_layout()
    figure.savefig(path, dpi=100)
    plt.close(figure)
    return path
