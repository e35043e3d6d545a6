"""The back office's chart of the ratings: one horizontal bar per rating, laid out for an SVG."""

from __future__ import annotations

from dataclasses import dataclass

from eventapp.surveys.services import Summary


@dataclass
class RatingBar:
    rating: int
    count: int
    share: float  # of all answers, 0 to 1
    y: float  # top of the bar
    width: float
    text_y: float  # baseline of the row's labels


@dataclass
class RatingChart:
    """Five bars, the best rating on top, in a width × height drawing with room for the labels."""

    bars: list[RatingBar]
    width: int
    height: int
    plot_left: int
    bar_height: int


def rating_chart(summary: Summary, width: int = 640, row: int = 36) -> RatingChart:
    """Lay out the distribution of a summary: bars in proportion to the largest count."""
    plot_left, plot_right, top = 72, width - 140, 8  # room for "Note 5" and "12 (40 %)"
    bar_height = row - 12
    most = summary.most or 1
    bars = []
    for index, rating in enumerate(sorted(summary.distribution, reverse=True)):
        count = summary.distribution[rating]
        y = top + index * row
        bars.append(
            RatingBar(
                rating=rating,
                count=count,
                share=count / summary.answers if summary.answers else 0.0,
                y=y,
                width=round((plot_right - plot_left) * count / most, 2),
                text_y=y + bar_height / 2 + 4,
            )
        )
    height = top * 2 + row * len(bars)
    return RatingChart(bars, width, height, plot_left, bar_height)
