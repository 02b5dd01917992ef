"""Stimulus protocols: exact sample placement, units, seeds, and clear errors."""

import numpy as np
import pytest
from brian2 import ms, nA, pA, second

from ahp_models import StimulusError, from_array, long_square, noise, ramp, short_square


def test_long_square_is_allens_protocol():
    stim = long_square([100, 120] * pA)
    assert stim.n_neurons == 2
    # 1 s step starting at 1.02 s, sampled at 0.1 ms: samples 10200 .. 20199 are on
    assert stim.waveform[10199] == 0 and stim.waveform[10200] == 1
    assert stim.waveform[20199] == 1 and stim.waveform[20200] == 0
    assert stim.waveform.sum() == 10000
    onset, offset = stim.window()
    assert float(onset / second) == pytest.approx(1.02) and float(offset / second) == pytest.approx(
        2.02
    )
    assert np.allclose(stim.current(1)[10200:10203] / pA, 120)


def test_amplitudes_relative_to_rheobase():
    stim = long_square(np.array([-20, 0, 20, 40]) * pA, rheobase=110 * pA)
    assert np.allclose(stim.amplitude / pA, [90, 110, 130, 150])


def test_short_square_and_ramp():
    pulse = short_square([500] * pA, dt=0.05 * ms)
    assert pulse.waveform.sum() == 60  # 3 ms at 0.05 ms
    slope = ramp(25 * pA / second, onset=0.5 * second, duration=2.5 * second, dt=1 * ms)
    current = slope.current(0) / pA
    assert current[500] == 0 and current[1500] == pytest.approx(25.0)
    assert np.allclose(np.diff(current[500:]), 0.025)


def test_noise_is_seeded_and_has_the_asked_statistics():
    a = noise(50 * pA, 20 * pA, seed=7, duration=20 * second, dt=1 * ms)
    b = noise(50 * pA, 20 * pA, seed=7, duration=20 * second, dt=1 * ms)
    c = noise(50 * pA, 20 * pA, seed=8, duration=20 * second, dt=1 * ms)
    assert np.array_equal(a.current(0), b.current(0))
    assert not np.array_equal(a.current(0), c.current(0))
    values = a.current(0) / pA
    # 20000 samples: mean within 4 standard errors, std within 4%
    assert abs(values.mean() - 50) < 4 * 20 / np.sqrt(values.size)
    assert values.std() == pytest.approx(20, rel=0.04)


def test_ornstein_uhlenbeck_noise_has_its_correlation_time():
    tau = 10 * ms
    stim = noise(0 * pA, 30 * pA, seed=1, duration=200 * second, dt=1 * ms, tau=tau)
    values = stim.current(0) / pA
    lag = 10  # samples = one tau
    correlation = np.corrcoef(values[:-lag], values[lag:])[0, 1]
    assert correlation == pytest.approx(np.exp(-1), abs=0.02)
    assert values.std() == pytest.approx(30, rel=0.05)


def test_independent_noise_per_neuron_and_epoch():
    stim = noise(
        0 * pA,
        10 * pA,
        seed=3,
        duration=1 * second,
        onset=0.2 * second,
        width=0.5 * second,
        n_neurons=4,
    )
    assert stim.waveform.shape == (10000, 4)
    assert np.all(stim.current(2)[:2000] == 0) and np.all(stim.current(2)[7000:] == 0)
    assert not np.array_equal(stim.current(0), stim.current(1))


def test_user_array():
    current = np.sin(np.linspace(0, 6, 300)) * nA
    stim = from_array(current, dt=0.1 * ms)
    assert np.allclose(stim.current(0) / nA, current / nA)
    per_neuron = from_array(np.ones((50, 3)) * pA * np.array([1, 2, 3]), dt=1 * ms)
    assert per_neuron.n_neurons == 3
    assert np.allclose(per_neuron.current(2) / pA, 3)


@pytest.mark.parametrize(
    ("build", "fragment"),
    [
        (lambda: long_square([100] * pA, onset=1.00005 * second), "onset = .* multiples of dt"),
        (lambda: long_square([100] * pA, duration=1.5 * second), "duration >= onset \\+ width"),
        (lambda: long_square([100] * ms), "wrong units"),
        (lambda: long_square([100]), "has no unit"),
        (
            lambda: noise(0 * pA, 1 * pA, seed=1.5, duration=1 * second),
            "seed = 1.5; allowed: a whole number >= 0",
        ),
        (lambda: from_array([1, np.nan] * pA, dt=1 * ms), "NaN"),
    ],
)
def test_bad_stimuli_are_rejected(build, fragment):
    with pytest.raises(StimulusError, match=fragment):
        build()
