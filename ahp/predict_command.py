"""`ahp predict`: fitted cells on long squares at chosen amplitudes -> predictions.csv."""

from __future__ import annotations

import argparse
import re
from pathlib import Path

import numpy as np
from brian2 import Quantity, pA, second

from ahp.arguments import path_argument
from ahp.cell_mapping import select_fitted_rows
from ahp.fit_command import specimen_ids
from ahp_models.files import atomic_write_text
from ahp_models.quantities import QuantityError, parse_quantity, positive_time_s
from ahp_models.stimuli import ALLEN_LONG_SQUARE_WIDTH
from fitting.prediction import PredictionError, check_amplitudes, predict_cells

__all__ = ["PREDICTIONS_FILE", "add_arguments", "run"]

PREDICTIONS_FILE = "predictions.csv"


#: One item of a current list: a number and, optionally, its unit.
_CURRENT = re.compile(r"\s*([-+]?(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?)\s*(\S*?)\s*")


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


def _duration(text: str) -> Quantity:
    """A step length with its unit (``1 s``, ``500 ms``); positive and finite."""
    try:
        return positive_time_s(text, "duration") * second
    except QuantityError as err:
        raise argparse.ArgumentTypeError(f"{text!r}: {err}") from None


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Declare the options of ``ahp predict``."""
    parser.add_argument("results", type=path_argument, help="fit results table (`ahp fit` output)")
    parser.add_argument(
        "--amplitudes",
        type=currents_argument,
        required=True,
        help="step amplitudes, comma separated, with their unit after the last, e.g. "
        "100,150,200pA (a negative first value: --amplitudes=-50,100pA)",
    )
    parser.add_argument("--specimen", type=specimen_ids, help="specimen ids, comma separated")
    parser.add_argument(
        "--duration",
        type=_duration,
        default=ALLEN_LONG_SQUARE_WIDTH,
        help="length of each step, a multiple of the fit's 0.1 ms step (default: Allen's 1 s)",
    )
    parser.add_argument("--out", type=path_argument, default=Path("predictions"))


def run(args: argparse.Namespace) -> Path:
    """Run ``ahp predict``; return the predictions table's path."""
    # checked: every fitted row's parameters valid, the --specimen cells among them
    table = select_fitted_rows(args.results, args.specimen)
    predictions = predict_cells(table, args.amplitudes, duration=args.duration)
    path = args.out / PREDICTIONS_FILE
    atomic_write_text(path, predictions.to_csv(index=False))
    print(
        f"predict: {len(table)} cells x {len(args.amplitudes)} amplitudes "
        f"({float(args.duration / second):g} s steps) in {path}"
    )
    return path
