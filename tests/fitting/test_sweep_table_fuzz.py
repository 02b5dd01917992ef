"""Fuzzing of per-sweep tables (`ahp fit --sweeps`), both layouts: every bad value is refused
naming the file and row, and reordered columns change nothing.

Real tables (Allen's per-sweep spike counts, and the toolkit's per-sweep features) are mutated
cell by cell: ids, amplitudes and counts made NaN, infinite, huge, negative, fractional, text,
empty or boolean; each required column deleted; the files truncated, emptied or made binary.
"""

from __future__ import annotations

import random

import pandas as pd
import pytest

from analysis.allen_tables import AllenTableError
from fitting.sweep_tables import read_sweep_table
from tests.mutations import CLEAN, REFUSED, SAME, run_cases

BAD = {
    "specimen_id": ["nan", "abc", "", "-5", "1.5", "True", "1e300"],
    "amplitude": ["nan", "inf", "-inf", "1e300", "abc", ""],
    "count": ["nan", "inf", "-1", "2.5", "1e12", "abc", ""],
}


@pytest.fixture(scope="module")
def layouts() -> dict[str, tuple[pd.DataFrame, str, str]]:
    """Each layout: its table, amplitude column and count column."""
    summaries = pd.DataFrame({
        "specimen_id": [101, 101, 101, 102, 102], "source_dir": "data",
        "sweep": [10, 11, 12, 20, 21], "amp_pA": [50.0, 100.0, 150.0, 80.0, 120.0],
        "n_spikes": [0, 4, 9, 1, 6],
    })  # fmt: skip
    features = pd.DataFrame({
        "specimen_id": [101, 101, 102], "amplitude_pA": [100.0, 150.0, 120.0],
        "spike_count": [4, 9, 6], "latency_s": [0.05, 0.02, 0.04],
    })  # fmt: skip
    return {
        "summaries": (summaries, "amp_pA", "n_spikes"),
        "features": (features, "amplitude_pA", "spike_count"),
    }


def _equal(got, expected) -> bool:
    return got.keys() == expected.keys() and all(
        got[k].sort_index(axis=1).equals(expected[k].sort_index(axis=1)) for k in expected
    )


@pytest.mark.parametrize("layout", ["summaries", "features"])
def test_every_bad_value_in_a_sweep_table_is_refused(layouts, layout, tmp_path):
    table, amplitude, count = layouts[layout]
    path = tmp_path / "sweeps.csv"
    table.to_csv(path, index=False)
    expected = read_sweep_table(path)
    columns = {"specimen_id": "specimen_id", "amplitude": amplitude, "count": count}
    cases = [
        (f"{column}[{row}] = {value!r}", _with(table, row, column, value), REFUSED)
        for kind, column in columns.items()
        for row in range(len(table))
        for value in BAD[kind]
    ]
    cases += [
        (f"{c} deleted", table.drop(columns=c).to_csv(index=False), REFUSED)
        for c in columns.values()
    ]
    text = table.to_csv(index=False)
    rng = random.Random(41)
    cases += [
        ("reordered columns", table[table.columns[::-1]].to_csv(index=False), SAME),
        ("empty", "", REFUSED),
        ("binary", b"\x00\xff\x01", REFUSED),
        *((f"truncated at {n}", text[:n], CLEAN) for n in rng.sample(range(len(text)), 15)),
    ]
    run_cases(cases, path, read_sweep_table, AllenTableError, lambda got: _equal(got, expected))


def _with(table: pd.DataFrame, row: int, column: str, value: str) -> str:
    changed = table.astype(object).copy()
    changed.loc[row, column] = value
    return changed.to_csv(index=False)
