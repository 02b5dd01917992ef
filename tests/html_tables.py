"""Read what a generated HTML page links to and what its tables say (standard library only)."""

from __future__ import annotations

from dataclasses import dataclass, field
from html.parser import HTMLParser

from analysis.column_labels import UNIT_SUFFIX
from fitting.fit_page import SPECIMEN

#: Headers of identifiers: numbers that name something, not quantities with a unit.
IDENTIFIERS = (SPECIMEN,)


@dataclass
class Table:
    """One ``<table>``: header rows and body rows of (tag, text) cells."""

    head: list[list[tuple[str, str]]] = field(default_factory=list)
    body: list[list[tuple[str, str]]] = field(default_factory=list)

    @property
    def columns(self) -> list[str]:
        """The headers of the columns (the first header row)."""
        return [text for _, text in self.head[0]] if self.head else []


class _PageParser(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.tables: list[Table] = []
        self.references: list[tuple[str, str, str]] = []
        self.ids: list[str] = []
        self._part: str | None = None
        self._row: list[tuple[str, str]] | None = None
        self._cell: tuple[str, list[str]] | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        for name, value in attrs:
            if name in ("src", "href", "srcset", "action", "data"):
                self.references.append((tag, name, value or ""))
            if name == "id":
                self.ids.append(value or "")
        if tag == "table":
            self.tables.append(Table())
        elif tag in ("thead", "tbody"):
            self._part = tag
        elif tag == "tr":
            self._row = []
        elif tag in ("th", "td"):
            self._cell = (tag, [])

    def handle_data(self, data: str) -> None:
        if self._cell is not None:
            self._cell[1].append(data)

    def handle_endtag(self, tag: str) -> None:
        if tag in ("th", "td") and self._cell is not None and self._row is not None:
            self._row.append((self._cell[0], " ".join("".join(self._cell[1]).split())))
            self._cell = None
        elif tag == "tr" and self._row is not None:
            table = self.tables[-1]
            (table.head if self._part == "thead" else table.body).append(self._row)
            self._row = None


def read_page(text: str) -> _PageParser:
    """Parse a page: its ``tables``, ``references`` (tag, attribute, value) and element ``ids``."""
    parser = _PageParser()
    parser.feed(text)
    parser.close()
    return parser


def external_references(text: str) -> list[str]:
    """Every reference of a page to something outside it: all but ``data:`` URIs and links to
    its own sections (``#id``)."""
    return [
        f"<{tag} {name}={value!r}>"
        for tag, name, value in read_page(text).references
        if not value.startswith(("data:", "#"))
    ]


def _is_number(text: str) -> bool:
    try:
        float(text.replace("−", "-"))
    except ValueError:
        return False
    return True


def numbers_without_unit(table: Table) -> list[str]:
    """Numbers of a table whose column header and row header both lack a unit ``(...)``.

    A number's unit is in its column's header (``τ_AHP (ms)``) or, in a table of quantities by
    row, in its row's header (``rheobase (pA)``); identifiers (`IDENTIFIERS`) need none.
    """
    columns = table.columns
    missing = []
    for row in table.body:
        row_header = next((text for tag, text in row if tag == "th"), "")
        for position, (tag, text) in enumerate(row):
            if tag != "td" or not _is_number(text):
                continue
            header = columns[position] if position < len(columns) else ""
            labelled = UNIT_SUFFIX.search(header) or UNIT_SUFFIX.search(row_header)
            if not labelled and header not in IDENTIFIERS:
                missing.append(f"{header or '?'} / {row_header or '?'}: {text}")
    return missing
