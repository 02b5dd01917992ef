"""The default cohort spans the real mouse and human feature ranges (Allen's 5-95 % ranges)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from analysis.allen_tables import load_cells
from fitting.cohort import REFERENCE_RANGES, default_cohort, write_cohort
from fitting.sweep_tables import read_sweep_features, read_sweep_table
from fitting.synthetic import SWEEP_FILE, TRUTH_FILE
from fitting.targets import CellTargets


@pytest.fixture(scope="module")
def cohort(tmp_path_factory):
    folder = write_cohort(tmp_path_factory.mktemp("cohort"))
    return folder, load_cells(folder)


@pytest.mark.parametrize("species", ["mouse", "human"])
@pytest.mark.parametrize("feature", sorted(REFERENCE_RANGES))
def test_features_span_the_allen_range_of_each_species(cohort, feature, species):
    _, cells = cohort
    values = cells.loc[cells.species == species, feature].to_numpy(dtype=float)
    low, median, high = REFERENCE_RANGES[feature][species]
    # from the lower quarter of Allen's 5-95 % interval to its upper quarter, across the median
    quarter = 0.25 * (high - low)
    assert values.min() <= low + quarter and values.max() >= high - quarter, (values, low, high)
    assert values.min() < median < values.max()


def test_cohort_holds_adapting_and_non_adapting_cells_with_fast_and_slow_ahps(cohort):
    folder, cells = cohort
    truth = pd.read_csv(folder / TRUTH_FILE).set_index("specimen_id")
    table = cells.set_index("specimen_id").join(truth)
    for species, members in table.groupby("species"):
        assert len(members) == 8, species
        assert (members.adaptation < 0.02).any() and (members.adaptation > 0.1).any(), species
        assert (members.tau_ahp_ms <= 80).any() and (members.tau_ahp_ms >= 1000).any(), species
    assert set(table.dendrite_type) == {"spiny", "aspiny"}


def test_written_tables_read_back_as_fit_targets(cohort):
    folder, cells = cohort
    sweeps = read_sweep_features(folder / SWEEP_FILE)
    assert read_sweep_table(folder / SWEEP_FILE).keys() == sweeps.keys()
    assert list(sweeps) == list(default_cohort().specimen_id)
    for _, row in cells.iterrows():
        targets = CellTargets.from_row(row, sweeps[row.specimen_id])
        recorded = targets.sweeps
        # Allen's rheobase is the lowest recorded sweep with a spike
        first = recorded.amplitude_pA[recorded.spike_count > 0].min()
        assert first == targets.rheobase_pA
        assert np.isfinite(recorded.latency_s[recorded.spike_count > 0]).all()


def test_a_malformed_sweep_table_names_the_file_and_the_problem(tmp_path):
    path = tmp_path / "sweeps.csv"
    path.write_text("specimen_id,amplitude_pA,spike_count,colour\n1,10,0,red\n")
    with pytest.raises(ValueError, match=r"sweeps\.csv: unknown column\(s\) \['colour'\]"):
        read_sweep_features(path)
    path.write_text("specimen_id,amplitude_pA,spike_count\n1,ten,0\n")
    with pytest.raises(ValueError, match=r"row 2: amplitude_pA = 'ten'; allowed: a finite"):
        read_sweep_features(path)
