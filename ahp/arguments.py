"""Argument types of the command line that refuse bad values while the options are parsed."""

from __future__ import annotations

import argparse
import re
from pathlib import Path

import numpy as np
from brian2 import Quantity, pA

from ahp_models.quantities import QuantityError, parse_quantity
from fitting.prediction import PredictionError, check_amplitudes

__all__ = ["currents_argument", "path_argument"]

#: One item of a current list: a number and, optionally, its unit.
_CURRENT = re.compile(r"\s*([-+]?(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?)\s*(\S*?)\s*")


def path_argument(text: str) -> Path:
    """A file or folder option: refused when empty (``Path("")`` would silently mean the
    current folder) or holding a NUL (no file system accepts one)."""
    if not text.strip() or "\0" in text:
        raise argparse.ArgumentTypeError(f"{text!r}: allowed: a file or folder name")
    return Path(text)


def currents_argument(text: str) -> Quantity:
    """Step amplitudes, comma separated, with a unit after the last one (``100,150,200pA``);
    a number without a unit takes the next unit written after it (``0.1,0.2nA,250pA`` is 100,
    200 and 250 pA).

    Returns
    -------
    Quantity
        The amplitudes (`fitting.prediction.check_amplitudes`: in pA, float noise removed).

    Raises
    ------
    argparse.ArgumentTypeError
        For an item that is not a number, no unit after the last item, a unit that is not a
        current, or values `fitting.prediction.check_amplitudes` refuses (not finite, beyond
        1 uA, repeated, more than it allows).
    """
    items = [_CURRENT.fullmatch(item) for item in text.split(",")]
    if not all(items):
        raise argparse.ArgumentTypeError(
            f"{text!r}: allowed: numbers separated by commas with a current unit after the last "
            "(and any other), e.g. 100,150,200pA or 0.1,0.2nA"
        )
    unit = items[-1].group(2)
    if not unit:
        raise argparse.ArgumentTypeError(
            f"{text!r}: no unit; allowed: currents with their unit, e.g. 100,150,200pA"
        )
    values_pa = []
    try:
        for item in reversed(items):
            number, unit = item.group(1), item.group(2) or unit
            values_pa.append(
                float(parse_quantity(f"{number} {unit}", "pA", field="amplitude") / pA)
            )
        return check_amplitudes(np.array(values_pa[::-1]) * pA, "amplitudes") * pA
    except (QuantityError, PredictionError) as err:
        raise argparse.ArgumentTypeError(f"{text!r}: {err}") from None
