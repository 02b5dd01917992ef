"""Spike-train similarity: limits, hand computations, elephant, and Teeter et al.'s formula."""

import numpy as np
import pytest
from brian2 import ms, second
from scipy.signal import fftconvolve
from scipy.signal.windows import gaussian

from analysis.metrics import (
    explained_variance,
    explained_variance_ratio,
    gamma_factor,
    van_rossum_distance,
)
from analysis.spike_trains import SpikeTrainError


def poisson_train(rng, rate_hz, duration_s):
    return np.sort(rng.uniform(0, duration_s, rng.poisson(rate_hz * duration_s)))


def test_gamma_factor_of_identical_trains_is_one():
    rng = np.random.default_rng(1)
    train = poisson_train(rng, 20, 10) * second
    assert gamma_factor(train, train, 10 * second) == pytest.approx(1.0, abs=1e-12)
    assert gamma_factor(train, train, 10 * second, rate_correction=True) == pytest.approx(1.0)
    shifted = train + 1.5 * ms  # within the 2 ms window
    assert gamma_factor(train, shifted[shifted < 10 * second], 10 * second) > 0.99


def test_gamma_factor_by_hand():
    data = [10, 50, 90] * ms
    model = [11, 70] * ms
    # one coincidence; model rate 20 Hz; expected 2 * 20 * 0.002 * 3 = 0.24; norm 1 - 0.08
    expected = (1 - 0.24) / (0.5 * 5) / 0.92
    assert gamma_factor(data, model, 100 * ms) == pytest.approx(expected, rel=1e-12)
    corrected = expected - 2 * abs(3 - 2) / 3
    assert gamma_factor(data, model, 100 * ms, rate_correction=True) == pytest.approx(corrected)


def test_gamma_factor_of_independent_poisson_trains_is_zero():
    rng = np.random.default_rng(2024)
    values = [
        gamma_factor(
            poisson_train(rng, 10, 20) * second, poisson_train(rng, 10, 20) * second, 20 * second
        )
        for _ in range(400)
    ]
    mean, error = np.mean(values), np.std(values) / np.sqrt(len(values))
    assert abs(mean) < 4 * error  # no bias
    assert np.std(values) < 0.2  # and a small spread at 200 spikes per train


def test_gamma_factor_edge_cases():
    assert np.isnan(gamma_factor([] * second, [] * second, 1 * second))
    assert gamma_factor([0.5] * second, [] * second, 1 * second) == 0.0
    assert np.isnan(gamma_factor([] * second, [0.5] * second, 1 * second, rate_correction=True))
    with pytest.raises(SpikeTrainError, match="data has a spike at 2 s, after duration = 1 s"):
        gamma_factor([2.0] * second, [] * second, 1 * second)
    with pytest.raises(SpikeTrainError, match="not strictly increasing"):
        gamma_factor([0.3, 0.2] * second, [] * second, 1 * second)


def pair_sum(x, y, tau_s):
    """Sum of exp(-|x_i - y_j| / tau) over all pairs, by brute force."""
    return np.exp(-np.abs(x[:, None] - y[None, :]) / tau_s).sum()


def test_van_rossum_matches_elephant_and_brute_force():
    neo = pytest.importorskip("neo")
    quantities = pytest.importorskip("quantities")
    from elephant.spike_train_dissimilarity import van_rossum_distance as elephant_distance

    rng = np.random.default_rng(7)
    for tau_ms in (2.0, 10.0, 100.0):
        a, b = poisson_train(rng, 30, 2), poisson_train(rng, 25, 2)
        ours = van_rossum_distance(a * second, b * second, tau_ms * ms)
        trains = [neo.SpikeTrain(x * 1000, units="ms", t_stop=2000) for x in (a, b)]
        theirs = elephant_distance(trains, time_constant=tau_ms * quantities.ms)[0, 1]
        assert ours == pytest.approx(theirs, rel=1e-9)
        tau_s = tau_ms / 1e3
        brute = np.sqrt(pair_sum(a, a, tau_s) + pair_sum(b, b, tau_s) - 2 * pair_sum(a, b, tau_s))
        assert ours == pytest.approx(brute, rel=1e-9)
    assert van_rossum_distance([] * second, [0.3] * second, 10 * ms) == pytest.approx(1.0)
    assert van_rossum_distance([0.3] * second, [0.3] * second, 10 * ms) == 0.0


def teeter_direct(data_trains, model_train, n, dt, sigma):
    """Teeter et al.'s formula written out: Gaussian of 10 sigma, 'same' for the model EV,
    'full' for the data's own EV against the PSTH."""
    window = gaussian(int(10 * sigma / dt), sigma / dt)
    window /= window.sum()

    def binary(train):
        x = np.zeros(n)
        x[np.floor(np.asarray(train) / dt + 1e-6).astype(int)] = 1
        return x

    def ev(x, y):
        vx, vy, vd = np.var(x), np.var(y), np.var(x - y)
        return 1.0 if vd == 0 else (vx + vy - vd) / (vx + vy)

    model = fftconvolve(binary(model_train), window, "same")
    model_ev = np.mean([ev(fftconvolve(binary(d), window, "same"), model) for d in data_trains])
    full = [fftconvolve(binary(d), window, "full") for d in data_trains]
    psth = np.mean(full, axis=0)
    return model_ev, model_ev / np.mean([ev(f, psth) for f in full])


def test_explained_variance_follows_teeters_formula():
    rng = np.random.default_rng(3)
    dt, duration, n = 5e-5, 2.0, 40000
    base = poisson_train(rng, 15, duration)
    data = [np.sort(np.clip(base + rng.normal(0, 0.003, base.size), 0, 1.999)) for _ in range(4)]
    data = [np.unique(np.round(d / dt) * dt) for d in data]
    model = np.unique(
        np.round(np.sort(base + rng.normal(0, 0.01, base.size)).clip(0, 1.999) / dt) * dt
    )
    expected_ev, expected_ratio = teeter_direct(data, model, n, dt, 0.01)
    args = ([d * second for d in data], model * second, duration * second, dt * second)
    assert explained_variance(*args) == pytest.approx(expected_ev, rel=1e-12)
    assert explained_variance_ratio(*args) == pytest.approx(expected_ratio, rel=1e-12)
    # a model equal to the data's common train explains about as much as the repeats do
    assert 0.5 < expected_ratio < 1.5


def test_explained_variance_limits_and_errors():
    train = [0.1, 0.4, 0.45, 0.9] * second
    assert explained_variance([train], train, 1 * second, 1 * ms) == 1.0
    assert explained_variance_ratio([train], train, 1 * second, 1 * ms) == 1.0
    short = [10, 20, 30] * ms
    with pytest.raises(SpikeTrainError, match="shorter than the Gaussian window"):
        explained_variance([short], short, 50 * ms, 1 * ms)
    with pytest.raises(SpikeTrainError, match=r"data\[0\] has a spike at 0.9 s, after the end"):
        explained_variance([train], short, 50 * ms, 1 * ms)
    with pytest.raises(SpikeTrainError, match="non-empty list of spike trains"):
        explained_variance(train, train, 1 * second, 1 * ms)
    with pytest.raises(SpikeTrainError, match=r"sigma = 1e-05 s is too small for dt = 0.001 s"):
        explained_variance([train], train, 1 * second, 1 * ms, sigma=0.01 * ms)
    doublet = [0.1, 0.1004, 0.5] * second  # two spikes in one 1 ms sample
    with pytest.raises(SpikeTrainError, match=r"data\[0\]: spikes at 0.1 s and 0.1004 s fall"):
        explained_variance([doublet], train, 1 * second, 1 * ms)
