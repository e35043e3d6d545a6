"""The back office's chart of minutes present: one horizontal bar per slice of the event's length."""

from __future__ import annotations

from dataclasses import dataclass

SLICES = 6


@dataclass
class PresenceBar:
    low: int  # minutes, included
    high: int  # minutes, excluded (the last slice includes the end and beyond)
    count: int
    y: float
    width: float
    text_y: float


@dataclass
class PresenceChart:
    bars: list[PresenceBar]
    width: int
    height: int
    plot_left: int
    bar_height: int


def presence_chart(
    minutes: list[int], length: int, width: int = 640, row: int = 32
) -> PresenceChart:
    """Count the present registrants in six slices of the event's length, and lay out the bars."""
    step = max(1, -(-max(length, 1) // SLICES))  # rounded up: six slices cover the event
    counts = [0] * SLICES
    for value in minutes:
        counts[min(value // step, SLICES - 1)] += 1
    plot_left, plot_right, top = 110, width - 80, 8  # room for "75–90 min" and "12"
    bar_height = row - 10
    most = max(counts) or 1
    bars = []
    for index, count in enumerate(counts):
        y = top + index * row
        bars.append(
            PresenceBar(
                low=index * step,
                high=(index + 1) * step,
                count=count,
                y=y,
                width=round((plot_right - plot_left) * count / most, 2),
                text_y=y + bar_height / 2 + 4,
            )
        )
    return PresenceChart(bars, width, top * 2 + row * SLICES, plot_left, bar_height)
