"""The coarse search and the polish: what a two-step fit reports is measured at its fine step."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest
from brian2 import ms

from analysis.population_features import population_cell_features
from fitting.engine import FitEngine, FitSettings
from fitting.evaluation import simulate_cells
from fitting.objective import normalised_errors, total_cost
from fitting.targets import FEATURES

TWO_STEP = FitSettings(
    popsize=6,
    max_generations=5,
    max_restarts=0,
    slots=2,
    seed=3,
    fallback_model=None,
    coarse_dt_ms=0.5,
    polish_generations=2,
)


def _features_at(params, specimen_id, targets, dt_ms):
    """Allen's features of a neuron on the cell's grid, simulated anew at ``dt_ms`` (the
    refractory period rounded to that step, as the search rounds it)."""
    amplitudes = targets.simulated_amplitudes()
    t_ref_ms = float(params.t_ref[0] / ms)
    params = dataclasses.replace(params, t_ref=[max(round(t_ref_ms / dt_ms), 1) * dt_ms] * ms)
    sweeps = simulate_cells({specimen_id: params}, {specimen_id: amplitudes}, dt_ms)
    row = population_cell_features(
        sweeps.drop(columns=["specimen_id", "amplitude_pA"]), amplitudes[None]
    )
    return {feature: float(row[feature].iloc[0]) for feature in FEATURES}


def _cost(features, targets):
    return float(total_cost(normalised_errors({f: [v] for f, v in features.items()}, targets))[0])


@pytest.fixture(scope="module")
def two_step_fits(recovery_cells):
    cells = [dataclasses.replace(c.targets, sweeps=None) for c in recovery_cells[:3]]
    engine = FitEngine(TWO_STEP, n_amplitudes=11)
    try:
        fits = list(engine.fit(cells))
    finally:
        engine.close()
    return {c.specimen_id: c for c in cells}, fits


def test_a_two_step_fit_reports_features_and_cost_at_the_fine_step(two_step_fits):
    cells, fits = two_step_fits
    assert sorted(f.specimen_id for f in fits) == sorted(cells)
    differs_at_coarse = False
    for fit in fits:
        targets = cells[fit.specimen_id]
        fine = _features_at(fit.parameters, fit.specimen_id, targets, TWO_STEP.dt_ms)
        np.testing.assert_allclose(
            [fine[f] for f in FEATURES], [fit.model_features[f] for f in FEATURES], rtol=1e-12
        )
        assert fit.cost == pytest.approx(_cost(fine, targets), rel=1e-12)
        coarse = _features_at(fit.parameters, fit.specimen_id, targets, TWO_STEP.coarse_dt_ms)
        differs_at_coarse |= not np.allclose(
            [coarse[f] for f in FEATURES], [fine[f] for f in FEATURES], equal_nan=True
        )
    # the coarse step does change the features: reporting them would be wrong
    assert differs_at_coarse


def test_a_two_step_fit_counts_both_stages(two_step_fits):
    cells, fits = two_step_fits
    engine = FitEngine(TWO_STEP, n_amplitudes=11)
    try:  # the search alone, as the two-step fit ran it (each cell's seed is its own)
        searched = {f.specimen_id: f for f in engine.coarse.fit(list(cells.values()))}
    finally:
        engine.close()
    for fit in fits:
        assert f"searched at 0.5 ms: {searched[fit.specimen_id].stop_reason})" in fit.stop_reason
        assert fit.evaluations == fit.generations * TWO_STEP.popsize
        polish = fit.generations - searched[fit.specimen_id].generations
        assert 1 <= polish <= TWO_STEP.polish_generations


def test_the_polish_starts_from_the_searched_point_as_it_is(recovery_cells):
    cell = dataclasses.replace(recovery_cells[0].targets, sweeps=None)
    engine = FitEngine(TWO_STEP, n_amplitudes=11)
    try:
        (searched,) = engine.coarse.fit([cell])
        start = engine.space.unit_of(searched.free)
        # one polish generation: it evaluates the searched point itself among its candidates
        engine.settings = dataclasses.replace(engine.settings, polish_generations=1)
        (polished,) = engine._fit([cell], {cell.specimen_id: start})
        as_is = engine.space.parameters(start[None], cell)
    finally:
        engine.close()
    cost_as_is = _cost(_features_at(as_is, cell.specimen_id, cell, TWO_STEP.dt_ms), cell)
    assert polished.generations == 1
    assert polished.cost <= cost_as_is * (1 + 1e-12)


def test_a_coarse_step_no_coarser_than_the_fine_one_means_one_step():
    assert not FitSettings(dt_ms=0.1, coarse_dt_ms=0.1).two_step
    assert not FitSettings(coarse_dt_ms=None).two_step
    assert FitSettings().two_step
    with pytest.raises(ValueError, match="coarse_dt_ms"):
        FitSettings(coarse_dt_ms=0.0)
    with pytest.raises(ValueError, match="polish_generations"):
        FitSettings(polish_generations=0)


def test_reports_name_both_steps():
    assert FitSettings().steps_text() == (
        "0.1 ms steps (cells fitted to their features alone searched at 0.5 ms, then polished "
        "at 0.1 ms)"
    )
    assert FitSettings(coarse_dt_ms=None).steps_text() == "0.1 ms steps"


def test_cells_fitted_to_their_sweeps_are_searched_at_the_fine_step(recovery_cells):
    cell = recovery_cells[0].targets  # with its recorded sweeps
    engine = FitEngine(TWO_STEP, n_amplitudes=cell.simulated_amplitudes().size)
    try:
        assert engine.coarse is None
        (fit,) = engine.fit([cell])
    finally:
        engine.close()
    assert "searched at" not in fit.stop_reason
    assert fit.generations <= TWO_STEP.max_generations
