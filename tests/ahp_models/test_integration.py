"""Closed-form step coefficients against their defining formulas."""

import numpy as np
import pytest

from ahp_models.integration import coupling_factor, decay_factor, mean_factor, phi


def test_phi_is_accurate_near_zero():
    mpmath = pytest.importorskip("mpmath")
    mpmath.mp.dps = 50
    x = np.array([-1e-300, -1e-9, 0.0, 1e-12, 1e-5, 0.3, -2.0])
    expected = [1.0 if v == 0 else float(mpmath.expm1(mpmath.mpf(v)) / mpmath.mpf(v)) for v in x]
    assert np.allclose(phi(x), expected, rtol=1e-15, atol=0)


def test_coupling_matches_the_two_exponential_formula():
    tau_m, tau_k, dt = np.array([0.02, 0.01]), np.array([0.3, 0.05]), 1e-4
    direct = tau_k * (np.exp(-dt / tau_k) - np.exp(-dt / tau_m)) / (tau_k - tau_m)
    assert np.allclose(coupling_factor(tau_m, tau_k, dt), direct, rtol=1e-9)


def test_coupling_is_finite_and_exact_at_equal_time_constants():
    tau, dt = 0.02, 1e-4
    limit = (dt / tau) * np.exp(-dt / tau)  # d/dtau_k of the formula above at tau_k = tau_m
    assert coupling_factor(tau, tau, dt) == pytest.approx(limit, rel=1e-15)
    # continuity: a hair away from equality gives the same value
    assert coupling_factor(tau, tau * (1 + 1e-7), dt) == pytest.approx(limit, rel=1e-9)


def test_mean_and_decay_factors():
    tau, dt = 0.3, 1e-3
    assert decay_factor(tau, dt) == pytest.approx(np.exp(-dt / tau), rel=1e-15)
    assert mean_factor(tau, dt) == pytest.approx(tau * (1 - np.exp(-dt / tau)) / dt, rel=1e-12)
