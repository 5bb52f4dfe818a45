"""Server-side SVG bar charts: figures from the ledger drawn without any script or external asset."""
from dataclasses import dataclass

BAR_HEIGHT = 28
GAP = 14
LABEL_HEIGHT = 18
WIDTH = 320


@dataclass
class Bar:
    label: str
    value_text: str
    y: int
    width: int


def horizontal_bars(rows):
    """rows: (label, value, value_text). Returns (bars, height) for `storefront/_chart.html`."""
    largest = max((value for _, value, _ in rows), default=0)
    bars, y = [], 0
    for label, value, value_text in rows:
        width = round(WIDTH * value / largest) if largest > 0 and value > 0 else 0
        bars.append(Bar(label=label, value_text=value_text, y=y, width=max(width, 2 if value > 0 else 0)))
        y += LABEL_HEIGHT + BAR_HEIGHT + GAP
    return bars, y
