"""Helpers of the fuzz suites: fields of parsed documents, their mutations, and the oracle that
runs mutated inputs through a reader (refused cleanly, or accepted with the same meaning)."""

from __future__ import annotations

import copy
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path
from typing import Any


def fields(document: Any, prefix: tuple = ()) -> Iterator[tuple[tuple, Any]]:
    """Every (path, value) of a parsed document, the document itself and containers included."""
    yield prefix, document
    if isinstance(document, dict):
        for key, child in document.items():
            yield from fields(child, (*prefix, key))
    elif isinstance(document, list):
        for index, child in enumerate(document):
            yield from fields(child, (*prefix, index))


def value_at(document: Any, path: tuple) -> Any:
    """The value at ``path``."""
    for part in path:
        document = document[part]
    return document


def with_value(document: Any, path: tuple, value: Any) -> Any:
    """A deep copy of ``document`` with ``value`` at ``path``."""
    changed = copy.deepcopy(document)
    value_at(changed, path[:-1])[path[-1]] = value
    return changed


def without(document: Any, path: tuple) -> Any:
    """A deep copy of ``document`` without the field or item at ``path``."""
    changed = copy.deepcopy(document)
    del value_at(changed, path[:-1])[path[-1]]
    return changed


#: What a case must do: be refused; be accepted meaning the same; either of those; or end in
#: a clean refusal or any acceptance (a change that makes another valid input).
REFUSED, SAME, REFUSED_OR_SAME, CLEAN = "refused", "same", "refused or same", "clean"


def run_cases(
    cases: Iterable[tuple[str, bytes | str, str]],
    path: Path,
    read: Callable[[Path], Any],
    error: type[Exception],
    same: Callable[[Any], bool],
) -> dict[str, int]:
    """Write each case to ``path`` and read it; fail with every case that went wrong.

    Parameters
    ----------
    cases : iterable of (label, content, expected)
        ``expected``: `REFUSED`, `SAME`, `REFUSED_OR_SAME` or `CLEAN`.
    path : pathlib.Path
        Where the cases are written.
    read : callable
        The reader under test.
    error : type
        The one exception a refusal may raise; its message must name ``path``, in one line.
    same : callable
        Whether what ``read`` returned means what the unmutated input meant.

    Returns
    -------
    dict
        Counts of ``refused`` and ``accepted`` cases.
    """
    failures, counts, total = [], {"refused": 0, "accepted": 0}, 0
    for label, content, expected in cases:
        total += 1
        if isinstance(content, str):
            path.write_text(content, encoding="utf-8", errors="surrogateescape")
        else:
            path.write_bytes(content)
        try:
            got = read(path)
        except error as refusal:
            message = str(refusal)
            if str(path) not in message or "\n" in message or len(message) > 1000:
                failures.append(f"{label}: unclear refusal {message[:300]!r}")
            elif expected == SAME:
                failures.append(f"{label}: a harmless change refused: {message[:200]}")
            counts["refused"] += 1
            continue
        except Exception as bug:  # the point: any other exception is a bug
            failures.append(f"{label}: {type(bug).__name__}: {str(bug)[:200]}")
            continue
        counts["accepted"] += 1
        if expected == REFUSED:
            failures.append(f"{label}: accepted")
        elif expected in (SAME, REFUSED_OR_SAME) and not same(got):
            failures.append(f"{label}: accepted with a different meaning")
    assert not failures, f"{len(failures)} of {total} cases:\n" + "\n".join(failures[:60])
    return counts
