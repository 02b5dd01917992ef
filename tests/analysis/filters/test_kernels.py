"""Kernel and transfer-function estimators on systems whose answer is known."""

import numpy as np
import pytest
import scipy.signal
from brian2 import ms, second

from analysis.filters.kernels import FilterEstimateError, spectral_transfer, wiener_kernels

DT_S = 1e-3


def adapting_filter(lags_s):
    """A fast positive lobe and a slow negative one: the shape of an AHP neuron's kernel."""
    return np.exp(-lags_s / 0.01) / 0.01 - 0.5 * np.exp(-lags_s / 0.1) / 0.1


def drive(system_kernel, seed=0, n=200_000, trials=4, noise=2.0):
    rng = np.random.default_rng(seed)
    stimulus = 10.0 * rng.standard_normal((n, trials))
    response = np.stack(
        [scipy.signal.fftconvolve(stimulus[:, k], system_kernel)[:n] * DT_S for k in range(trials)],
        axis=1,
    )
    return stimulus, response + 20.0 + noise * rng.standard_normal((n, trials))


def relative_error(estimate, truth):
    return np.linalg.norm(estimate - truth) / np.linalg.norm(truth)


def test_first_order_kernel_recovers_a_known_linear_filter():
    lags = np.arange(300) * DT_S
    truth = adapting_filter(lags)
    stimulus, response = drive(truth)
    kernels = wiener_kernels(stimulus, response, 1 * ms, 300 * ms)
    assert relative_error(kernels.first, truth) < 0.05
    assert kernels.mean_response == pytest.approx(20.0, abs=0.05)
    # its transfer function is the filter's, and so is the Welch estimate
    spectral = spectral_transfer(stimulus, response, 1 * ms, segment=2 * second)
    band = (spectral["frequency_Hz"] > 0.5) & (spectral["frequency_Hz"] < 100)
    f = spectral["frequency_Hz"][band].to_numpy()
    exact = np.abs(np.exp(-2j * np.pi * np.outer(f, lags)) @ truth * DT_S)
    assert np.abs(np.abs(kernels.transfer(f)) / exact - 1).max() < 0.05
    # Welch bins are noisier one by one (0.5 Hz wide): the error over the band
    assert relative_error(spectral["gain"][band].to_numpy(), exact) < 0.05


def test_coloured_input_is_deconvolved():
    # the Wiener-Hopf solve undoes the input's own correlation (reverse correlation would not)
    lags = np.arange(200) * DT_S
    truth = adapting_filter(lags)
    rng = np.random.default_rng(3)
    white = rng.standard_normal((200_000, 4))
    coloured = scipy.signal.lfilter([1.0], [1.0, -0.8], white, axis=0)
    response = np.stack(
        [scipy.signal.fftconvolve(coloured[:, k], truth)[:200_000] * DT_S for k in range(4)],
        axis=1,
    )
    kernels = wiener_kernels(coloured, response, 1 * ms, 200 * ms)
    assert relative_error(kernels.first, truth) < 0.05


def test_second_order_kernel_recovers_a_squared_filter():
    # y = (g * s)^2 has h2(t1, t2) = g(t1) g(t2) and no first-order kernel
    lags = np.arange(30) * DT_S
    g = np.exp(-lags / 0.005)
    stimulus, _ = drive(g, noise=0.0)
    linear = np.stack(
        [scipy.signal.fftconvolve(stimulus[:, k], g)[: stimulus.shape[0]] * DT_S for k in range(4)],
        axis=1,
    )
    kernels = wiener_kernels(stimulus, linear**2, 1 * ms, 30 * ms, order=2)
    assert relative_error(kernels.second, np.outer(g, g)) < 0.05
    assert np.linalg.norm(kernels.first) < 0.01 * np.linalg.norm(np.outer(g, g))
    # and the two kernels predict the output
    predicted = kernels.predict(stimulus[:, 0])
    explained = 1 - np.var(predicted[100:] - linear[100:, 0] ** 2) / np.var(linear[100:, 0] ** 2)
    assert explained > 0.95


def test_bad_input_is_refused():
    s = np.zeros((100, 2))
    with pytest.raises(FilterEstimateError, match=r"shape \(100, 2\) and response \(100,\)"):
        wiener_kernels(s, np.zeros(100), 1 * ms, 10 * ms)
    with pytest.raises(
        FilterEstimateError, match=r"max_lag = 50\. ms is 50 samples; allowed: 1 to"
    ):
        wiener_kernels(np.ones(100), np.ones(100), 1 * ms, 50 * ms)
    with pytest.raises(FilterEstimateError, match="the stimulus is constant"):
        wiener_kernels(np.ones(100), np.ones(100), 1 * ms, 10 * ms)
    with pytest.raises(FilterEstimateError, match="order = 3; allowed: 1 or 2"):
        wiener_kernels(np.ones(100), np.ones(100), 1 * ms, 10 * ms, order=3)
