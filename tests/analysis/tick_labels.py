"""Where a figure's tick labels land once drawn (Agg renderer), and which of them collide."""

from __future__ import annotations

import numpy as np
from matplotlib.axis import Axis
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure


def drawn_labels(axis: Axis) -> list:
    """The tick labels an axis draws: visible, not empty, at a tick inside the view."""
    low, high = sorted(axis.get_view_interval())
    slack = 1e-9 * max(abs(low), abs(high), 1e-300)
    labels = []
    for minor in (False, True):
        locations = axis.get_minorticklocs() if minor else axis.get_majorticklocs()
        texts = axis.get_ticklabels(minor=minor)
        for location, text in zip(locations, texts, strict=False):
            inside = low - slack <= location <= high + slack
            if inside and text.get_visible() and text.get_text():
                labels.append(text)
    return labels


def overlapping_labels(figure: Figure) -> list[str]:
    """Pairs of tick labels on the same axis whose drawn extents overlap, as text."""
    canvas = FigureCanvasAgg(figure)
    canvas.draw()
    renderer = canvas.get_renderer()
    clashes = []
    for axes in figure.axes:
        for axis in (axes.xaxis, axes.yaxis):
            labels = drawn_labels(axis)
            boxes = [label.get_window_extent(renderer) for label in labels]
            for i, j in zip(*np.triu_indices(len(boxes), 1), strict=True):
                if boxes[i].overlaps(boxes[j]):
                    clashes.append(
                        f"{axes.get_title()!r} {axis.axis_name}: "
                        f"{labels[i].get_text()!r} / {labels[j].get_text()!r}"
                    )
    return clashes
