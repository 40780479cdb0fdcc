"""Tables, targets and the markdown/JSON files one run leaves in its output folder."""

from __future__ import annotations

import json
import statistics
from dataclasses import dataclass, field
from pathlib import Path

from bench.measure import Sample, median_rate


@dataclass
class Table:
    """A titled table; ``key`` names its markdown file (``<key>.md``)."""

    key: str
    title: str
    columns: list[str]
    rows: list[list[str]] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    def add(self, *cells: object) -> None:
        self.rows.append([str(cell) for cell in cells])

    def markdown(self) -> str:
        lines = [f"### {self.title}", ""]
        lines.append("| " + " | ".join(self.columns) + " |")
        lines.append("|" + "|".join("---" for _ in self.columns) + "|")
        lines.extend("| " + " | ".join(row) + " |" for row in self.rows)
        if self.notes:
            lines.append("")
            lines.extend(self.notes)
        return "\n".join(lines) + "\n"


@dataclass(frozen=True)
class TargetCheck:
    """One goal from the issue: ``measured`` against ``goal`` (higher is better unless not)."""

    name: str
    measured: float | None
    goal: float
    unit: str
    higher_is_better: bool = True

    @property
    def verdict(self) -> str:
        if self.measured is None:
            return "N/A"
        met = self.measured >= self.goal if self.higher_is_better else self.measured <= self.goal
        return "PASS" if met else "MISS"

    def row(self) -> list[str]:
        relation = ">=" if self.higher_is_better else "<="
        shown = "not measured" if self.measured is None else f"{self.measured:.2f}{self.unit}"
        return [self.name, f"{relation} {self.goal:g}{self.unit}", shown, self.verdict]


@dataclass
class Report:
    """Everything one run produced; ``metrics`` holds the raw numbers behind the tables."""

    tables: list[Table] = field(default_factory=list)
    metrics: dict[str, float] = field(default_factory=dict)
    series: dict[str, list[float]] = field(default_factory=dict)  # per-repetition rates
    figures: list[str] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)

    def metric(self, name: str) -> float | None:
        return self.metrics.get(name)

    def ratio(self, numerator: str, denominator: str) -> float | None:
        """Median of the per-repetition ratios when both were measured in the same rounds
        (neighbours in time share the machine's load), else the ratio of the medians."""
        tops, bottoms = self.series.get(numerator), self.series.get(denominator)
        if tops and bottoms and len(tops) == len(bottoms) and all(bottoms):
            return statistics.median(
                top / bottom for top, bottom in zip(tops, bottoms, strict=True)
            )
        top, bottom = self.metrics.get(numerator), self.metrics.get(denominator)
        if top is None or not bottom:
            return None
        return top / bottom


def fmt_rate(value: float | None) -> str:
    return "n/a" if value is None else f"{value:,.0f}"


def fmt_ratio(value: float | None) -> str:
    return "n/a" if value is None else f"{value:.2f}x"


def fmt_us(seconds: float | None) -> str:
    return "n/a" if seconds is None else f"{seconds * 1e6:,.2f}"


def write_outputs(report: Report, targets: list[TargetCheck], header: str, out: Path) -> Path:
    """Write one markdown file per table, the summary README.md and results.json."""
    out.mkdir(parents=True, exist_ok=True)
    target_table = Table("targets", "Targets (informational)", ["target", "goal", "measured", ""])
    for check in targets:
        target_table.rows.append(check.row())
    sections = [header, target_table.markdown()]
    for table in report.tables:
        (out / f"{table.key}.md").write_text(table.markdown())
        sections.append(table.markdown())
    (out / "targets.md").write_text(target_table.markdown())
    if report.figures:
        sections.append("### Plots\n\n" + "\n".join(f"![{f}]({f})" for f in report.figures) + "\n")
    if report.problems:
        sections.append(
            "### Problems during the run\n\n"
            + "\n".join(f"- {problem}" for problem in report.problems)
            + "\n"
        )
    summary = out / "README.md"
    summary.write_text("\n".join(sections))
    payload = {
        "metrics": report.metrics,
        "targets": [
            {"name": t.name, "goal": t.goal, "measured": t.measured, "verdict": t.verdict}
            for t in targets
        ],
        "problems": report.problems,
        "series": report.series,
    }
    (out / "results.json").write_text(json.dumps(payload, indent=2, sort_keys=True) + "\n")
    return summary


def rate_table(
    report: Report,
    key: str,
    title: str,
    unit: str,
    samples: dict[str, list[Sample]],
    labels: dict[str, str],
    baseline: str = "pygearman",
    ceiling: str = "raw",
) -> Table:
    """Median rate per implementation, its spread, and its ratios to pygearman and the ceiling.

    Each median is also stored as metric ``<key>.<implementation>``.
    """
    table = Table(
        key,
        title,
        ["implementation", f"{unit} (median)", "min - max", "vs pygearman", "vs ceiling"],
    )
    medians = {name: median_rate(found) for name, found in samples.items()}
    for name, value in medians.items():
        report.metrics[f"{key}.{name}"] = value
        report.series[f"{key}.{name}"] = [sample.rate for sample in samples[name]]
    for name, value in medians.items():
        rates = [sample.rate for sample in samples[name]]
        table.add(
            labels.get(name, name),
            fmt_rate(value),
            f"{fmt_rate(min(rates))} - {fmt_rate(max(rates))}",
            fmt_ratio(report.ratio(f"{key}.{name}", f"{key}.{baseline}")),
            fmt_ratio(report.ratio(f"{key}.{name}", f"{key}.{ceiling}")),
        )
    runs = max((len(found) for found in samples.values()), default=0)
    table.notes.append(
        f"Median of {runs} interleaved repetition(s); a ratio is the median of the ratios of "
        f"the same round."
    )
    report.tables.append(table)
    return table
