"""The register search: trained on amplitudes it is not scored on, one register set per neuron,
never worse than the rounded registers on its own objective."""

import numpy as np
import pytest
from brian2 import Mohm, ms, pA

from ahp_models import LifAhpParams
from hardware_mapping.headroom import voltage_bound
from hardware_mapping.register_search import (
    RHEOBASE_MARGIN_PA,
    TRAINING_ONSET_S,
    _cumulative_counts,
    map_and_search,
    training_amplitudes,
)
from hardware_mapping.validation import long_square_amplitudes


@pytest.fixture(scope="module")
def searched():
    neurons = {
        "a": LifAhpParams(tau_ahp=400 * ms, b_ahp=12 * pA, tau_m=18 * ms),
        "b": LifAhpParams(tau_ahp=90 * ms, b_ahp=40 * pA, R=220 * Mohm),
    }
    scored = {k: np.asarray(long_square_amplitudes(p) / pA) for k, p in neurons.items()}
    mappings, unmappable, outcomes = map_and_search(neurons, scored, rounds=3,
                                                    backend="runtime")  # fmt: skip
    rounded, _, _ = map_and_search(neurons, scored, rounds=0, backend="runtime")
    return neurons, scored, mappings, unmappable, outcomes, rounded


def test_training_amplitudes_lie_between_the_scored_ones_and_beside_the_rheobase():
    params = LifAhpParams()  # rheobase (V_th - E_L) / R = 20 mV / 150 Mohm = 133.33 pA
    rheobase = 20.0 / 150.0 * 1e3
    scored = np.array([80.0, 100.0, 120.0, 140.0])
    training = training_amplitudes(params, scored)
    margin = RHEOBASE_MARGIN_PA
    np.testing.assert_allclose(training, [90.0, 110.0, 130.0, rheobase - margin,
                                          rheobase + margin])  # fmt: skip
    assert not set(training) & set(scored)
    # the pair is left out where it falls outside the scored span
    assert np.array_equal(training_amplitudes(params, np.array([10.0, 30.0])), [20.0])


def test_the_rheobase_pair_separates_silence_from_firing():
    from hardware_mapping.long_square_runs import float_trains

    params = LifAhpParams()
    pair = training_amplitudes(params, np.array([100.0, 200.0]))[-2:]
    trains = float_trains({"n": params}, {"n": pair}, 1.0, "runtime", onset_s=TRAINING_ONSET_S)
    below, above = trains["n"]
    assert below.size == 0 and above.size > 0  # the float neuron fires only above it


def test_the_search_never_ends_worse_than_the_rounded_registers(searched):
    _, _, _, unmappable, outcomes, rounded = searched
    assert not unmappable
    for key, outcome in outcomes.items():
        assert outcome.chosen_distance <= outcome.rounded_distance
        assert outcome.candidates > 1
        assert voltage_bound(outcome.mapping).holds
        if outcome.moves:  # its report states every move
            row = outcome.mapping.report.query("quantity == 'register search'").iloc[0]
            assert row["realized"] == len(outcome.moves)
            assert row["note"] == "; ".join(outcome.moves)
        else:
            assert outcome.mapping == rounded[key]
    # a neuron with a nonzero rounded distance improves on it
    improvable = [o for o in outcomes.values() if o.rounded_distance > 0]
    assert improvable and all(o.chosen_distance < o.rounded_distance for o in improvable)


def test_the_distance_is_the_area_between_cumulative_spike_counts(searched):
    neurons, scored, mappings, _, _, _ = searched
    key = "a"
    training = training_amplitudes(neurons[key], scored[key])
    counts = _cumulative_counts([mappings[key]], [training], 1.0)
    assert counts.shape == (1001, training.size)
    # counts only grow, by at most one spike per step
    assert (np.diff(counts, axis=0) >= 0).all() and (np.diff(counts, axis=0) <= 1).all()
    assert TRAINING_ONSET_S < 1.02  # the training protocol is not the scored one either


def test_one_register_set_serves_every_current(searched):
    _, _, mappings, _, _, _ = searched
    for mapping in mappings.values():
        low, high = mapping.current_range_pA
        mant, exp = mapping.bias(np.linspace(low, high, 7) * pA)
        values = mant * 2.0**exp
        assert (np.diff(values) >= 0).all()  # the bias is monotonic in the current


def test_candidates_the_registers_cannot_hold_are_not_run():
    import dataclasses

    from hardware_mapping.mapped_neuron import MAX_BIAS
    from hardware_mapping.neuron_mapping import map_neuron
    from hardware_mapping.register_search import _held_neighbours, _neighbours

    mapping = map_neuron(LifAhpParams(tau_m=5 * ms), current_range=(0 * pA, 3000 * pA))
    # a drive 100 units below the bias register's largest value at the top of the range: the
    # drive's upward moves (one bias step there is 128 units) leave the register
    top = float(mapping.drive_pA(np.array([3000.0]))[0])
    edge = dataclasses.replace(mapping, drive_offset=mapping.drive_offset + MAX_BIAS - top - 100)
    every, held = _neighbours(edge), _held_neighbours(edge)
    assert len(held) < len(every)
    assert all(voltage_bound(m).holds for _, m in held)


def test_training_gamma_is_the_gamma_factor_of_the_counts_spikes():
    from brian2 import second

    from analysis.metrics import gamma_factor
    from hardware_mapping.register_search import _gamma

    rng = np.random.default_rng(3)
    # at least 8 steps apart, so that no pair of spikes lies exactly on the 2 ms window's edge
    steps = 5 + np.cumsum(rng.integers(8, 30, size=40))
    assert steps[-1] < 990

    def cumulative(spike_steps):
        column = np.zeros(1001, dtype=np.int32)
        column[spike_steps] = 1
        return np.cumsum(column)[:, None]

    reference = cumulative(steps)
    assert _gamma(reference, reference, 1.0) == pytest.approx(1.0)
    for shift in (1, 4):  # within the 2 ms window, then beyond it
        moved = cumulative(steps + shift)
        expected = gamma_factor(steps * 1e-3 * second, (steps + shift) * 1e-3 * second,
                                1 * second, window=2e-3 * second)  # fmt: skip
        assert _gamma(moved, reference, 1.0) == pytest.approx(float(expected))
    assert _gamma(cumulative(steps + 1), reference, 1.0) > 0.9
    assert _gamma(cumulative(steps + 4), reference, 1.0) < 0.2


def test_a_restart_is_kept_only_where_it_reaches_a_higher_training_gamma(searched, monkeypatch):
    import hardware_mapping.register_search as search

    neurons, scored, _, _, first, _ = searched
    monkeypatch.setattr(search, "RESTART_BELOW_GAMMA", 1.01)  # every neuron starts again
    _, _, outcomes = search.map_and_search(neurons, scored, rounds=3, backend="runtime")
    for key, outcome in outcomes.items():
        assert np.isfinite(outcome.training_gamma)
        assert outcome.training_gamma >= first[key].training_gamma
        if outcome.training_gamma > first[key].training_gamma:  # a restart won
            assert outcome.moves[0] in ("start at 95% of the largest scale",
                                        "start at 90% of the largest scale")  # fmt: skip
            assert outcome.mapping.vth_mant < first[key].mapping.vth_mant
            row = outcome.mapping.report.query("quantity == 'register search'").iloc[0]
            assert row["note"].startswith(outcome.moves[0])
        else:
            assert outcome.mapping == first[key].mapping
