"""Fuzzing of fit results tables (`ahp map`, `ahp validate --fits`): every bad value in a
fitted row is refused naming the file, and changes that keep the meaning are accepted.

A real table (two fitted cells and a failed one, as `ahp fit` writes it) is mutated cell by
cell: each value of each fitted row made NaN, infinite, huge, negative, text, empty or a
boolean, each column deleted, rows repeated, the file truncated or re-encoded. The oracle:

- a mutation that breaks a fitted row (its id, model or any parameter of its model) is refused
  with a `MappingError` whose one-line message names the file;
- a mutation that keeps every fitted row (a failed row's value, an unknown extra column,
  reordered columns) is accepted and gives exactly the original neurons.
"""

from __future__ import annotations

import random

import pandas as pd
import pytest
from brian2 import ms, pA

from ahp.cell_mapping import read_fit_table
from ahp_models import LifAhpParams
from fitting.evaluation import fitted_parameters
from hardware_mapping.neuron_mapping import MappingError
from tests.mutations import CLEAN, REFUSED, SAME, run_cases

BAD_VALUES = ["nan", "inf", "-inf", "1e300", "-1e300", "-1e6", "abc", "", "True"]


@pytest.fixture(scope="module")
def table() -> pd.DataFrame:
    rows = [
        {"status": "fitted", "specimen_id": specimen, "model": "lif_ahp", "settings": "abc123",
         **params.to_row()}
        for specimen, params in ((11, LifAhpParams()),
                                 (12, LifAhpParams(tau_m=35 * ms, b_ahp=40 * pA)))
    ]  # fmt: skip
    rows.append({"status": "failed", "specimen_id": 13, "model": "lif_ahp"})
    return pd.DataFrame(rows)


def _neurons(fitted: pd.DataFrame) -> dict[int, object]:
    return {int(r["specimen_id"]): fitted_parameters(r.to_dict()) for _, r in fitted.iterrows()}


def _same(got: pd.DataFrame, expected: dict) -> bool:
    neurons = _neurons(got)
    return neurons.keys() == expected.keys() and all(
        neurons[s].to_dict() == expected[s].to_dict() for s in expected
    )


def mutations(table: pd.DataFrame, rng: random.Random) -> list[tuple[str, str, str]]:
    """(label, CSV text, what it must do) for every cell and column mutation."""
    text = table.to_csv(index=False)
    cases = []
    parameter_columns = [c for c in table.columns if c not in ("status", "settings")]
    for column in table.columns:
        for row in range(len(table)):
            fitted_row = table.loc[row, "status"] == "fitted"
            for value in BAD_VALUES:
                changed = table.astype(object).copy()
                changed.loc[row, column] = value
                if column == "status":  # a fitted row no longer fitted: another valid table
                    expected = CLEAN if fitted_row else SAME
                else:  # a fitted row's id, model or parameter broken; other values are inert
                    expected = REFUSED if fitted_row and column in parameter_columns else SAME
                cases.append((f"{column}[{row}] = {value!r}", changed.to_csv(index=False),
                              expected))  # fmt: skip
        dropped = table.drop(columns=column).to_csv(index=False)
        must = column in parameter_columns or column == "status"
        cases.append((f"column {column} deleted", dropped, REFUSED if must else CLEAN))
    cases += [
        ("columns reordered", table[table.columns[::-1]].to_csv(index=False), SAME),
        ("extra column", table.assign(note="x").to_csv(index=False), SAME),
        ("a fitted row repeated", pd.concat([table, table.iloc[:1]]).to_csv(index=False), REFUSED),
        ("header only", ",".join(table.columns) + "\n", REFUSED),
        ("empty", "", REFUSED),
        ("binary", "\x00\x01\x02\xff", REFUSED),
        ("latin-1", text.replace("abc123", "caf\u00e9").encode("latin-1"), CLEAN),
    ]
    cases += [(f"truncated at {n}", text[:n], CLEAN) for n in rng.sample(range(len(text)), 20)]
    return cases


def test_every_mutation_of_a_fit_table_is_refused_or_harmless(table, tmp_path):
    expected = _neurons(table[table.status == "fitted"])
    cases = mutations(table, random.Random(31))
    assert len(cases) >= 300
    run_cases(cases, tmp_path / "fit_results.csv", read_fit_table, MappingError,
              lambda got: _same(got, expected))  # fmt: skip
