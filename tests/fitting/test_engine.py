"""The batched engine: each cell's fit is independent of its neighbours and reproducible."""

from __future__ import annotations

import contextlib
import dataclasses

import numpy as np
import pytest

from fitting.engine import FitEngine, FitSettings
from fitting.pipeline import fit_cells
from fitting.quality import features_within
from fitting.targets import FEATURES

#: One step throughout: these tests follow one search (`test_fit_two_step` covers the coarse
#: search and the polish).
QUICK = FitSettings(
    popsize=6,
    max_generations=6,
    max_restarts=0,
    slots=2,
    seed=5,
    fallback_model=None,
    coarse_dt_ms=None,
)


#: Allen's grid (the features) and the recorded cells' 11 sweeps (their counts).
N_AMPLITUDES = 22


@pytest.fixture(scope="module")
def engine():
    engine = FitEngine(QUICK, n_amplitudes=N_AMPLITUDES)
    yield engine
    engine.close()


def _key(fit):
    return fit.cost, fit.generations, tuple(sorted(fit.free.items()))


def test_a_cells_fit_does_not_depend_on_the_cells_beside_it(engine, recovery_cells):
    first, second, third = (c.targets for c in recovery_cells[:3])
    together = {f.specimen_id: _key(f) for f in engine.fit([first, second, third])}
    alone = {f.specimen_id: _key(f) for f in engine.fit([third])}
    # the third cell ran in a refilled slot beside another cell; alone it runs beside an idle
    # slot: its own seed and rows make the fits identical, bit for bit
    assert alone[third.specimen_id] == together[third.specimen_id]
    assert together[first.specimen_id] != together[second.specimen_id]


def test_the_seed_changes_the_search_and_the_report_is_complete(engine, recovery_cells):
    targets = recovery_cells[4].targets
    (fit,) = engine.fit([targets])
    other = FitEngine(QUICK.__class__(**{**QUICK.__dict__, "seed": 6}), n_amplitudes=N_AMPLITUDES)
    try:
        (refit,) = other.fit([targets])
    finally:
        other.close()
    assert _key(fit) != _key(refit)
    assert fit.evaluations == fit.generations * QUICK.popsize
    assert set(fit.errors) >= {f for f in FEATURES if np.isfinite(targets.features[f])}
    assert set(fit.errors) >= {"spike_count", "latency_s", "mean_isi_s", "adaptation_index"}
    # the reported cost is the sum of the squared reported errors
    assert fit.cost == pytest.approx(sum(e**2 for e in fit.errors.values()))


def test_results_table_has_parameters_with_units_features_and_errors(recovery_cells):
    table = fit_cells([c.targets for c in recovery_cells[:2]], QUICK)
    assert len(table) == 2
    for column in ("tau_ahp_ms", "b_ahp_pA", "V_th_mV", "t_ref_ms", "cost", "stop_reason"):
        assert column in table.columns
    for feature in FEATURES:
        assert {f"model_{feature}", f"cell_{feature}", f"error_{feature}"} <= set(table.columns)
    assert "error_sweep_spike_count" in table.columns


@contextlib.contextmanager
def settings_of(engine, **changes):
    """The module's engine with other search settings (same population: no new compilation)."""
    original = engine.settings
    engine.settings = dataclasses.replace(original, **changes)
    try:
        yield engine
    finally:
        engine.settings = original


@pytest.fixture(scope="module")
def grid_engine():
    """An engine for cells fitted to Allen's features alone (Allen's grid of 11 amplitudes)."""
    engine = FitEngine(QUICK, n_amplitudes=11)
    yield engine
    engine.close()


def test_a_fit_stops_as_soon_as_it_is_within_the_margin_of_every_tolerance(
    grid_engine, recovery_cells
):
    engine = grid_engine
    cells = [dataclasses.replace(c.targets, sweeps=None) for c in recovery_cells[:4]]
    # a wide margin (3 tolerances), which these short searches reach
    with settings_of(engine, stop_within=3.0, max_generations=30):
        fits = list(engine.fit(cells))
    stopped = [f for f in fits if f.stop_reason.startswith("within_tolerance")]
    assert stopped
    for fit in stopped:
        assert features_within(fit.model_features, fit.target_features, 3.0)
    # one generation earlier (the same seed, so the same search) it was not yet within
    first = max(stopped, key=lambda fit: fit.generations)
    assert first.generations > 1
    with settings_of(engine, stop_within=None, max_generations=first.generations - 1):
        (earlier,) = engine.fit([c for c in cells if c.specimen_id == first.specimen_id])
    assert earlier.generations == first.generations - 1
    assert not features_within(earlier.model_features, earlier.target_features, 3.0)


def test_a_cell_fitted_to_its_sweeps_does_not_stop_for_its_features(engine, recovery_cells):
    cells = [c.targets for c in recovery_cells[:4]]  # with their recorded sweeps
    with settings_of(engine, stop_within=3.0, max_generations=8):
        fits = list(engine.fit(cells))
    assert not [f for f in fits if f.stop_reason.startswith("within_tolerance")]
    # the same margin is reached: the features alone would have stopped some of them
    assert any(features_within(f.model_features, f.target_features, 3.0) for f in fits)


def test_the_last_cells_move_to_a_smaller_population_with_the_same_fits(engine, recovery_cells):
    cells = [c.targets for c in recovery_cells[5:8]]
    with settings_of(engine, tail_slots=None):
        beside_idle = {f.specimen_id: _key(f) for f in engine.fit(cells)}
    with settings_of(engine, tail_slots=1):
        moved = {f.specimen_id: _key(f) for f in engine.fit(cells)}
    assert 1 in engine._simulations  # the last cell did run in a population of one slot
    assert moved == beside_idle
