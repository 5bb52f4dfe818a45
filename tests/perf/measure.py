"""Interleaved A/B measurement and the results table.

Each figure is a ratio B/A of two measurements taken back to back (A, B, A, B, …) on the same
server, so whatever else the shared machine is doing weighs on both alike; the table gives the
median ratio of the pairs and their spread (lowest–highest).
"""
import statistics
from dataclasses import dataclass, field


@dataclass
class Row:
    name: str
    value: str
    target: str = ""
    verdict: str = ""
    detail: str = ""


@dataclass
class Ratio:
    a: list = field(default_factory=list)
    b: list = field(default_factory=list)

    @property
    def ratios(self):
        return [b / a for a, b in zip(self.a, self.b) if a]

    @property
    def median(self):
        return statistics.median(self.ratios) if self.ratios else float("nan")

    @property
    def spread(self):
        return (min(self.ratios), max(self.ratios)) if self.ratios else (float("nan"), float("nan"))

    def describe(self):
        low, high = self.spread
        return f"{self.median:.2f}× ({low:.2f}–{high:.2f})"


def interleave(measure_a, measure_b, runs):
    """Run A then B `runs` times; each measure returns a number (a rate). Returns a Ratio."""
    ratio = Ratio()
    for _ in range(runs):
        ratio.a.append(measure_a())
        ratio.b.append(measure_b())
    return ratio


def median_spread(values, fmt="{:.1f}"):
    return f"{fmt.format(statistics.median(values))} ({fmt.format(min(values))}–{fmt.format(max(values))})"


def verdict(value, target, higher_is_better=True):
    if value != value:  # NaN
        return "—"
    ok = value >= target if higher_is_better else value <= target
    return "met" if ok else "MISSED"


class Table:
    def __init__(self):
        self.rows = []

    def add(self, row, echo=True):
        self.rows.append(row)
        if echo:
            print(f"  · {row.name}: {row.value} {('[' + row.verdict + ']') if row.verdict else ''}", flush=True)

    def render(self):
        widths = [max(len(getattr(row, column)) for row in self.rows + [Row("benchmark", "result", "target", "",
                                                                          "how measured")])
                  for column in ("name", "value", "target", "verdict")]
        header = Row("benchmark", "result", "target", "", "how measured")
        lines = []
        for index, row in enumerate([header] + self.rows):
            cells = [row.name.ljust(widths[0]), row.value.ljust(widths[1]), row.target.ljust(widths[2]),
                     row.verdict.ljust(widths[3]), row.detail]
            lines.append("| " + " | ".join(cells) + " |")
            if index == 0:
                lines.append("|" + "|".join("-" * (w + 2) for w in widths) + "|---|")
        return "\n".join(lines)
