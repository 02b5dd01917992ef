"""Self-contained HTML report pages: sections, tables with human headers, embedded figures.

A page holds everything it shows (figures as PNG ``data:`` URIs, the style inline), so it can
be mailed, archived or opened offline as one file. `ahp pipeline` and `ahp fit` build their
pages from these pieces.
"""

from __future__ import annotations

import base64
import html
import io
from collections.abc import Mapping, Sequence

import matplotlib
import pandas as pd
from matplotlib.figure import Figure

from analysis.figures import STYLE

__all__ = ["CSS", "FIGURE_DPI", "figure_tag", "page_html", "section_html", "table_html"]

#: Resolution of embedded figures: sharp on screen, a page of a few hundred kB per dozen figures.
FIGURE_DPI = 80

CSS = """
body { font-family: system-ui, sans-serif; margin: 1.5em auto; max-width: 1150px; color: #222; }
h1 { font-size: 1.5em; } h2 { border-bottom: 1px solid #ccc; margin-top: 1.6em; }
table { border-collapse: collapse; font-size: 0.82em; margin: 0.6em 0; }
th, td { padding: 2px 8px; text-align: right; border-bottom: 1px solid #eee; }
th { background: #f4f4f4; } img { max-width: 100%; display: block; margin: 0.4em 0; }
nav a { margin-right: 1em; } .cell { border-left: 3px solid #ddd; padding-left: 1em; }
.pass { color: #17692b; } .miss { color: #a33; } .note { color: #555; font-size: 0.9em; }
.flag { color: #8a5300; } .table { overflow-x: auto; }
"""


def figure_tag(figure: Figure, alt: str) -> str:
    """An ``<img>`` holding the figure as an embedded PNG.

    Parameters
    ----------
    figure : matplotlib.figure.Figure
        The figure.
    alt : str
        Its text alternative.

    Returns
    -------
    str
        The tag.
    """
    buffer = io.BytesIO()
    with matplotlib.rc_context(STYLE):
        figure.savefig(buffer, format="png", dpi=FIGURE_DPI, bbox_inches="tight")
    data = base64.b64encode(buffer.getvalue()).decode("ascii")
    return f'<img alt="{html.escape(alt)}" src="data:image/png;base64,{data}">'


def table_html(
    table: pd.DataFrame,
    labels: Mapping[str, str] | None = None,
    *,
    index: bool = False,
) -> str:
    """A table with human headers; numbers to 4 significant digits, missing ones as n/a.

    Parameters
    ----------
    table : pandas.DataFrame
        The table, with its machine-readable column names.
    labels : mapping, optional
        Column (or, with ``index``, row label) -> header shown; others are shown as they are.
    index : bool
        Show the row labels as a first column of headers (e.g. quantities of a transposed
        summary, each with its unit).

    Returns
    -------
    str
        The ``<table>``.
    """
    labels = labels or {}
    shown = table.rename(columns=lambda c: labels.get(c, c))
    if index:
        shown = shown.rename(index=lambda r: labels.get(r, r))
    table = shown.to_html(
        index=index, float_format=lambda x: f"{x:.4g}", na_rep="n/a", border=0, escape=True
    )
    return f'<div class="table">{table}</div>'  # a wide table scrolls, the page does not


def section_html(anchor: str, title: str, body: str, level: int = 2) -> str:
    """A ``<section id=anchor>`` with a heading; ``body`` is HTML already."""
    css = ' class="cell"' if level > 2 else ""
    return (
        f'<section id="{html.escape(anchor)}"{css}><h{level}>{html.escape(title)}</h{level}>'
        f"{body}</section>"
    )


def page_html(title: str, heading: str, sections: Sequence[str], body: Sequence[str]) -> str:
    """The whole page: its title, a heading, links to the top-level sections and their HTML.

    Parameters
    ----------
    title : str
        The browser's title.
    heading : str
        The page's heading.
    sections : sequence of str
        Ids of the top-level sections, linked in order at the top.
    body : sequence of str
        The sections' HTML.

    Returns
    -------
    str
        The document.
    """
    return (
        "<!DOCTYPE html><html lang='en'><head><meta charset='utf-8'>"
        f"<title>{html.escape(title)}</title>"
        f"<style>{CSS}</style></head><body>"
        f"<h1>{html.escape(heading)}</h1><nav>"
        + "".join(f'<a href="#{html.escape(s)}">{html.escape(s)}</a>' for s in sections)
        + "</nav>"
        + "".join(body)
        + "</body></html>\n"
    )
