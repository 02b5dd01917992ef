"""The float neuron's sensitivity floor: perturbed copies, seeded, against the neuron itself."""

import numpy as np
import pytest
from brian2 import ms, pA

from ahp_models import LifAhpParams
from hardware_mapping.long_square_runs import float_trains, stacked_magnitudes
from hardware_mapping.sensitivity import perturbed_magnitudes, sensitivity_floors, sweeps_gamma


def test_every_parameter_of_every_copy_moves_by_exactly_the_perturbation():
    magnitudes = stacked_magnitudes([LifAhpParams(), LifAhpParams(tau_ahp=80 * ms)])
    rngs = [np.random.default_rng(3), np.random.default_rng(4)]
    copies = perturbed_magnitudes(magnitudes, 20, 1e-4, rngs)
    for name, values in magnitudes.items():
        ratio = copies[name] / np.repeat(values, 20, axis=0)
        assert np.allclose(np.abs(ratio - 1.0), 1e-4, rtol=1e-9), name
        assert (ratio > 1).any() and (ratio < 1).any()  # random signs


def test_floors_are_reproducible_and_below_a_neuron_against_itself():
    neurons = {"cell": LifAhpParams(tau_ahp=300 * ms, b_ahp=20 * pA)}
    amplitudes = {"cell": np.array([200.0, 260.0, 320.0])}
    reference = float_trains(neurons, amplitudes, 1.0, "runtime")
    assert sweeps_gamma(reference["cell"], reference["cell"]) == pytest.approx(1.0, abs=1e-12)
    first = sensitivity_floors(neurons, amplitudes, reference, dt_ms=1.0, backend="runtime",
                               seed=4)  # fmt: skip
    again = sensitivity_floors(neurons, amplitudes, reference, dt_ms=1.0, backend="runtime",
                               seed=4)  # fmt: skip
    floor, gammas = first["cell"]
    assert gammas.size == 20 and np.array_equal(gammas, again["cell"][1])
    # a neuron's copies do not depend on the others validated with it
    together = sensitivity_floors({**neurons, "other": LifAhpParams()},
                                  {**amplitudes, "other": np.array([300.0])},
                                  {**reference, "other": reference["cell"][:1]}, dt_ms=1.0,
                                  backend="runtime", seed=4)  # fmt: skip
    assert np.array_equal(together["cell"][1], gammas)
    assert floor == np.percentile(gammas, 5) and floor <= 1.0
    # 1e-4 moves spikes by at most a step or two here: the copies stay close to the neuron
    assert gammas.min() > 0.5
