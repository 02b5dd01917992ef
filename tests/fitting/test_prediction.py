"""Predictions of fitted cells: an independent simulation, the cohort's recordings, refusals."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from brian2 import ms, mV, pA, second

from ahp_models import LifAhpParams, long_square, simulate
from ahp_models.stimuli import ALLEN_LONG_SQUARE_ONSET
from analysis.long_square import features_of_simulation
from analysis.population_features import POPULATION_SWEEP_COLUMNS
from fitting.cohort import cohort_parameters, default_cohort
from fitting.prediction import MAX_AMPLITUDES, PREDICTION_COLUMNS, PredictionError, predict_cells
from fitting.synthetic import record_cells
from fitting.targets import SWEEP_COLUMNS

#: Eleven amplitudes for each of the 20 recovery cells: the population the cells were recorded
#: in (`record_cells` simulates 11 sweeps each), so that its compiled simulator is reused.
AMPLITUDES_PA = np.arange(0.0, 330.0, 30.0)


def test_predictions_equal_an_independent_simulation(recovery_cells):
    """The same neurons run by `simulate` (runtime backend, numpy) on Allen's own long square
    (step at 1.02 s, not the fit's 20 ms), their sweeps measured one by one
    (`analysis.sweep_features`)."""
    rows = [
        {"specimen_id": c.targets.specimen_id, "status": "fitted", "model": "lif_ahp"}
        | c.parameters.to_row()
        for c in recovery_cells
    ]
    table = pd.DataFrame([*rows, {"specimen_id": 999, "status": "unfittable", "model": "lif_ahp"}])
    predictions = predict_cells(table, AMPLITUDES_PA * pA)
    assert list(predictions.columns) == list(PREDICTION_COLUMNS)
    n_amplitudes = AMPLITUDES_PA.size
    ids = [c.targets.specimen_id for c in recovery_cells]
    assert predictions.specimen_id.tolist() == np.repeat(ids, n_amplitudes).tolist()
    assert set(predictions.model) == {"lif_ahp"} and predictions.spike_count.dtype == np.int64

    checked = recovery_cells[:3]  # numpy runs step by step: a few cells are enough
    params = LifAhpParams.concatenate([c.parameters for c in checked], repeat=n_amplitudes)
    stimulus = long_square(
        np.tile(AMPLITUDES_PA, len(checked)) * pA,
        width=1 * second,
        duration=ALLEN_LONG_SQUARE_ONSET + 1 * second,
        dt=0.1 * ms,
    )
    result = simulate("lif_ahp", params, stimulus, codegen_target="numpy")
    expected = features_of_simulation(result, stimulus).sweeps
    ours = predictions.head(len(expected))
    np.testing.assert_array_equal(ours.amplitude_pA, expected.amplitude_pA)
    np.testing.assert_array_equal(ours.spike_count, expected.spike_count)
    for column in POPULATION_SWEEP_COLUMNS:
        np.testing.assert_allclose(ours[column], expected[column], rtol=1e-9, atol=1e-12)
    assert (expected.spike_count >= 3).sum() >= 10  # adaptation indices were compared


@pytest.fixture(scope="module")
def cohort():
    """The default cohort recorded as `fitting.cohort.write_cohort` records it."""
    table = default_cohort()
    return table, record_cells(cohort_parameters(table), np.asarray(table.specimen_id))


def test_the_cohorts_true_parameters_predict_its_recorded_sweeps(cohort):
    table, cells = cohort
    fits = table.assign(status="fitted", model="lif_ahp")
    amplitudes = {
        c.targets.specimen_id: c.targets.sweeps.amplitude_pA.to_numpy() * pA for c in cells
    }
    predictions = predict_cells(fits, amplitudes)
    assert predictions.specimen_id.unique().tolist() == table.specimen_id.tolist()
    for cell in cells:
        rows = predictions[predictions.specimen_id == cell.targets.specimen_id]
        recorded = cell.targets.sweeps
        np.testing.assert_array_equal(rows.amplitude_pA, recorded.amplitude_pA)
        np.testing.assert_array_equal(rows.spike_count, recorded.spike_count)
        for column in SWEEP_COLUMNS:
            np.testing.assert_array_equal(rows[column], recorded[column])
    assert predictions.spike_count.sum() > 1000


def _table(**changes) -> pd.DataFrame:
    row = {"specimen_id": 5, "status": "fitted", "model": "lif_ahp"} | LifAhpParams().to_row()
    return pd.DataFrame([row | changes])


@pytest.mark.parametrize(
    ("table", "amplitudes", "options", "message"),
    [
        (_table(status="unfittable"), [100.0] * pA, {}, "no fitted cell"),
        (_table().drop(columns="model"), [100.0] * pA, {}, r"no column\(s\) \['model'\]"),
        (_table(tau_m_ms=-1.0), [100.0] * pA, {}, "specimen 5: .*tau_m"),
        (_table(model="glif3"), [100.0] * pA, {}, "specimen 5: .*cannot be fitted"),
        (pd.concat([_table(), _table()]), [100.0] * pA, {}, "specimen 5 is fitted twice"),
        (_table(), [100.0, 200.0], {}, "has no unit"),
        (_table(), [100.0] * mV, {}, "wrong units"),
        (_table(), [100.0, np.nan] * pA, {}, "finite currents within"),
        (_table(), [2e6] * pA, {}, "finite currents within"),
        (_table(), [100.0, 100.0] * pA, {}, "100 pA is given twice"),
        (_table(), np.zeros(0) * pA, {}, "1 to 1000 amplitudes"),
        (_table(), np.arange(MAX_AMPLITUDES + 1) * pA, {}, "1 to 1000 amplitudes"),
        (_table(), [[100.0, 200.0]] * pA, {}, "a flat list"),
        (_table(), {6: [100.0] * pA}, {}, r"not for fitted cell\(s\) \[5\]"),
        (_table(), {5: [100.0] * pA, 6: [1.0] * pA}, {}, r"specimen\(s\) \[6\], which the"),
        (_table(), {5: [100.0, 100.0] * pA}, {}, "amplitudes of specimen 5: 100 pA is given"),
        (_table(), [100.0] * pA, {"duration": 0 * second}, "one positive, finite time"),
        (_table(), [100.0] * pA, {"duration": np.nan * second}, "one positive, finite time"),
        (_table(), [100.0] * pA, {"duration": 5 * mV}, "wrong units"),
        (_table(), [100.0] * pA, {"duration": 1.00005 * second}, "whole number of time steps"),
        (_table(), [100.0] * pA, {"duration": 1e4 * second}, "at most 2e[+]07 steps"),
        (_table(), [100.0] * pA, {"dt": 0 * ms}, "dt = .*positive"),
    ],
)
def test_bad_requests_are_refused_before_simulating(table, amplitudes, options, message):
    with pytest.raises(PredictionError, match=message):
        predict_cells(table, amplitudes, **options)
