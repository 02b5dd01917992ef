"""Ridge readouts and filtered spike trains: exact values, a target the population can
represent exactly, the memory summary's crossing, and refused splits."""

import numpy as np
import pandas as pd
import pytest
from brian2 import ms, second

from analysis.filters.config import parse_config
from analysis.filters.kernels import FilterEstimateError
from analysis.filters.population import draw_population, run_driven
from analysis.filters.readout import ReadoutSplit, filtered_spike_trains, ridge_scores
from analysis.filters.study import memory_summary
from analysis.filters.tasks import held_signal


def test_filtered_spike_trains_by_hand():
    neuron, time_s = np.array([0, 1, 0]), np.array([0.001, 0.0015, 0.0025])
    features = filtered_spike_trains(neuron, time_s, 2, np.array([1, 2, 3]) * ms, 1 * ms)
    expected = [
        [1.0, 0.0],
        [np.exp(-1), np.exp(-0.5)],
        [np.exp(-2) + np.exp(-0.5), np.exp(-1.5)],
    ]
    np.testing.assert_allclose(features, expected, rtol=1e-12)


def test_readout_reproduces_a_combination_of_the_populations_own_outputs():
    config = parse_config(
        {"population": {"size": 60}, "signal": {"duration": "60 s", "hold": "100 ms"},
         "simulation": {"backend": "runtime"}, "tasks": {"memory": {"max_delay": "1 s"}}}
    )  # fmt: skip
    drawn = draw_population(config.population, seed=3)
    u = held_signal(config.samples, seed=3)
    bias = np.full(60, 160.0)
    neuron, time_s = run_driven(drawn.params, bias, drawn.weights_pA, u[None, :], hold=0.1,
                                dt=1e-4, backend="runtime")  # fmt: skip
    times = (np.arange(1, u.size + 1) * 0.1 - 5e-5) * second
    features = filtered_spike_trains(neuron, time_s, 60, times, 50 * ms)
    assert (features.std(axis=0) > 0).sum() > 40  # most neurons fire
    weights = np.random.default_rng(0).standard_normal(60)
    target = features @ weights
    scores = ridge_scores(features, np.c_[target, np.roll(target, 7)], names=["own", "shifted"])
    assert scores.loc[0, "r2_test"] > 0.99
    assert scores.loc[0, "n_test"] == 120 and scores.loc[0, "n_train"] == 480
    # the same numbers shifted in time are not a combination of the outputs at that time
    assert scores.loc[1, "r2_test"] < scores.loc[0, "r2_test"]


def test_memory_summary_interpolates_the_crossing_and_sums_the_curve():
    rows = [{"variant": "ahp", "seed": 0, "task": "memory", "delay_s": d, "r2_test": r}
            for d, r in zip([0.0, 0.1, 0.2, 0.3], [1.0, 0.7, 0.3, -0.1], strict=True)]  # fmt: skip
    summary = memory_summary(pd.DataFrame(rows))
    assert summary.loc[0, "delay_below_threshold_s"] == pytest.approx(0.15)
    assert summary.loc[0, "memory_capacity_s"] == pytest.approx((1.0 + 0.7 + 0.3) * 0.1)


def test_splits_that_leave_too_few_samples_are_refused():
    with pytest.raises(FilterEstimateError, match="99 readout samples give 79 for training in 5"):
        ReadoutSplit(0.2, 5).check(99)
    with pytest.raises(FilterEstimateError, match="folds = 1; allowed: 2 or more"):
        ReadoutSplit(0.2, 1).check(1000)
    with pytest.raises(FilterEstimateError, match=r"features .* and targets"):
        ridge_scores(np.zeros((10, 2)), np.zeros(11))


def test_a_gap_keeps_a_slow_target_from_leaking_across_the_test_boundary():
    # a target correlated over ~50 samples: the gap takes its width out of the training part
    # before the test (and around each fold), and a gap too wide for the samples is refused
    rng = np.random.default_rng(2)
    slow = np.convolve(rng.standard_normal(2100), np.ones(50) / 50, mode="valid")[:2000]
    features = np.stack([np.roll(slow, k) + 0.5 * rng.standard_normal(2000) for k in range(5)], 1)
    plain = ridge_scores(features, slow, split=ReadoutSplit(0.2, 5))
    gapped = ridge_scores(features, slow, split=ReadoutSplit(0.2, 5, gap=50))
    assert gapped.loc[0, "n_train"] == plain.loc[0, "n_train"] - 50
    assert gapped.loc[0, "n_test"] == plain.loc[0, "n_test"] == 400
    with pytest.raises(FilterEstimateError, match="600 left out around each fold"):
        ReadoutSplit(0.2, 5, gap=600).check(2000)
