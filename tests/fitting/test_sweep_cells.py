"""Cells fitted from their sweeps alone: the features their sweeps give are the feature table's."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from analysis.allen_tables import UNKNOWN, AllenTableError, load_cells
from fitting.sweep_cells import CLASS_COLUMNS, cells_from_sweeps, read_passive_table
from fitting.sweep_tables import read_sweep_table
from fitting.synthetic import SWEEP_FILE, write_allen_tables
from fitting.targets import FEATURES, PASSIVE, SWEEPS, CellTargets, UnfittableCell
from tests.analysis.test_long_square import SLOPE_MISMATCHES


def _passive_file(cells: pd.DataFrame, path, **columns):
    cells[["specimen_id", *PASSIVE]].assign(**columns).to_csv(path, index=False)
    return path


def test_recorded_cells_get_their_feature_table_from_their_sweeps(recovery_cells, tmp_path):
    """The synthetic cells' feature table (as the default cohort's is made) against the same
    features computed from their per-sweep table alone, to the agreement the vectorised and
    per-sweep feature code keep (tests/analysis/test_population_features.py)."""
    folder = write_allen_tables(recovery_cells, tmp_path / "allen")
    table = load_cells(folder).set_index("specimen_id")
    sweeps = read_sweep_table(folder / SWEEP_FILE)
    passive = read_passive_table(_passive_file(table.reset_index(), tmp_path / "passive.csv"))
    ours = cells_from_sweeps(sweeps, passive).set_index("specimen_id")
    assert list(ours.index) == sorted(table.index)
    defined = 0
    for specimen, row in ours.iterrows():
        for feature in FEATURES:
            expected = table.loc[specimen, feature]
            assert row[feature] == pytest.approx(expected, rel=1e-12, abs=1e-15, nan_ok=True)
            defined += not math.isnan(expected)
        from_table = CellTargets.from_row(table.loc[specimen].to_dict() | {"specimen_id": specimen})
        from_sweeps = CellTargets.from_row(
            row.to_dict() | {"specimen_id": specimen}, sweeps[specimen]
        )
        assert from_sweeps.metadata["targets_source"] == SWEEPS
        assert (from_sweeps.vrest_mV, from_sweeps.ri_MOhm, from_sweeps.tau_ms) == (
            from_table.vrest_mV,
            from_table.ri_MOhm,
            from_table.tau_ms,
        )
        assert from_sweeps.features == pytest.approx(from_table.features, rel=1e-12, nan_ok=True)
    assert defined > 0.9 * len(FEATURES) * len(ours)


def test_allens_spike_counts_give_allens_rheobase_and_slope(allen_dir):
    """The real sweep table alone against Allen's feature table, to the agreement documented
    in analysis.long_square: rheobase for all 40 cells, slope for the 35 whose sweeps are
    Allen's (SLOPE_MISMATCHES names the other 5 and why)."""
    table = pd.read_csv(allen_dir / "allen_ephys_features.csv").set_index("specimen_id")
    ours = cells_from_sweeps(read_sweep_table(allen_dir / "osb_longsquare_sweeps.csv"))
    assert len(ours) == 40
    for _, row in ours.iterrows():
        allen = table.loc[row.specimen_id]
        assert row.threshold_i_long_square == pytest.approx(allen.threshold_i_long_square, abs=1e-4)
        if row.specimen_id not in SLOPE_MISMATCHES:
            assert row.f_i_curve_slope == pytest.approx(allen.f_i_curve_slope, rel=1e-6)
    # spike counts hold no ISIs: those features are left to the fit's per-sweep terms
    assert ours[["adaptation", "avg_isi", "latency"]].isna().all(axis=None)
    assert (ours[list(CLASS_COLUMNS)] == UNKNOWN).all(axis=None)
    assert ours[list(PASSIVE)].isna().all(axis=None)


def _sweeps(counts):
    return pd.DataFrame(
        {"amplitude_pA": [50.0, 100.0, 150.0][: len(counts)], "spike_count": counts}
    )


@pytest.mark.parametrize(
    ("counts", "passive", "message"),
    [
        ([0, 3, 8], None, r"no vrest, ri, tau \(the cell has no row in Allen's feature table"),
        ([0, 3, 8], {"vrest": -70.0, "ri": 150.0, "tau": math.nan}, "no tau .*ahp fit --passive"),
        ([0, 0, 0], None, "no sweep has a spike"),  # the sweeps' fault is named first
        ([], {"vrest": -70.0, "ri": 150.0, "tau": 20.0}, "no usable sweep"),
        ([-5.0, 5.0], None, "negative spike count"),
    ],
)
def test_cells_without_what_a_fit_needs_name_the_reason(counts, passive, message):
    sweeps = {7: _sweeps(counts)}
    table = None
    if passive is not None:
        table = pd.DataFrame([passive], index=pd.Index([7], name="specimen_id"))
        table = table.assign(**dict.fromkeys(CLASS_COLUMNS, UNKNOWN))
    row = cells_from_sweeps(sweeps, table).iloc[0]
    with pytest.raises(UnfittableCell, match=message):
        CellTargets.from_row(row.to_dict(), sweeps[7])


def test_passive_table_gives_classes_and_unknown_where_empty(tmp_path):
    path = tmp_path / "passive.csv"
    path.write_text(
        "specimen_id,vrest,ri,tau,species,layer\n5,-65,120,15,human,2/3\n6,-70,200,25,,\n"
    )
    passive = read_passive_table(path)
    assert passive.loc[5].tolist() == [-65.0, 120.0, 15.0, "human", "2/3", *[UNKNOWN] * 3]
    assert passive.loc[6, "species"] == UNKNOWN and passive.loc[6, "layer"] == UNKNOWN
    rows = cells_from_sweeps({5: _sweeps([0, 2, 6]), 8: _sweeps([1, 2, 6])}, passive)
    assert rows.species.tolist() == ["human", UNKNOWN] and rows.ri.isna().tolist() == [False, True]


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("specimen_id,vrest,ri\n5,-65,120\n", r"missing column\(s\) \['tau'\]"),
        (
            "specimen_id,vrest,ri,tau,colour\n5,-65,120,15,red\n",
            r"unknown column\(s\) \['colour'\]",
        ),
        (
            "specimen_id,vrest,ri,tau\n5.5,-65,120,15\n",
            "row 2: specimen_id = 5.5; allowed: a whole",
        ),
        ("specimen_id,vrest,ri,tau\n5,-65,120,15\n5,-60,100,10\n", "specimen 5 is listed twice"),
        # tau in seconds instead of ms
        ("specimen_id,vrest,ri,tau\n5,-65,120,0.015\n", r"'tau' \(unit ms\), specimen 5: 0.015"),
        ("specimen_id,vrest,ri,tau\n5,-65,fast,15\n", "'ri', specimen 5: 'fast' is not a number"),
        ("specimen_id,vrest,ri,tau,species\n5,-65,120,15,rat\n", r"holds \['rat'\]; allowed"),
        ("", "cannot be read as a table"),
    ],
)
def test_bad_passive_tables_are_refused_naming_file_and_value(tmp_path, text, message):
    path = tmp_path / "passive.csv"
    path.write_text(text)
    with pytest.raises(AllenTableError, match=message) as error:
        read_passive_table(path)
    assert str(error.value).startswith(str(path))
    with pytest.raises(AllenTableError, match="no such file"):
        read_passive_table(tmp_path / "nowhere.csv")


def test_nwb_tables_use_their_own_step_window():
    """An NWB table's sweeps carry their step: a 0.5 s step's count is twice the rate."""
    table = _sweeps([0, 2, 6]).assign(stimulus_start_s=0.27, stimulus_end_s=0.77)
    row = cells_from_sweeps({3: table}).iloc[0]
    one_second = cells_from_sweeps({3: _sweeps([0, 2, 6])}).iloc[0]
    assert row.f_i_curve_slope == pytest.approx(2 * one_second.f_i_curve_slope, rel=1e-9)
    assert np.isfinite(one_second.f_i_curve_slope)
