"""Mapping float AHP neurons to Loihi registers: the paper's registers, exactness, refusals."""

import math

import numpy as np
import pytest
from brian2 import ms, pA

from ahp_models import LifAhpParams
from ahp_models.alif import AlifParams
from ahp_models.glif3 import Glif3Params
from ahp_models.loihi_form import LoihiAhpParams
from hardware_mapping.loihi import CompartmentGroup, Network, Simulator, SpikeInput, SynapseGroup
from hardware_mapping.neuron_mapping import MappingError, map_neuron, quantize_weights
from hardware_mapping.validation import validate_long_squares


def report_row(mapping, quantity):
    rows = mapping.report[mapping.report["quantity"] == quantity]
    assert len(rows) == 1, quantity
    return rows.iloc[0]


def test_paper_parameters_give_the_paper_decays_and_the_mapper_does_better():
    params = LoihiAhpParams()  # tau_v 20, tau_ahp 700 steps (SI Table S1)
    paper = map_neuron(params, decay_rounding="paper", current_range=(0 * pA, 1000 * pA))
    assert paper.decay_v == 204
    assert [compartment.decay for compartment in paper.aux] == [5]
    # int(4096 / 700) = 5 decays with e-folding -1 / ln(1 - 5/4096) = 818.7 steps
    assert round(report_row(paper, "tau_ahp")["realized"]) == 819
    # the mapper's own (nearest) choice is reported beside the paper's
    assert "nearest: decay 205" in report_row(paper, "tau_m")["note"]
    assert "nearest: decay 6" in report_row(paper, "tau_ahp")["note"]
    ours = map_neuron(params, current_range=(0 * pA, 1000 * pA))
    assert sorted(compartment.decay for compartment in ours.aux) == [5, 6]
    # the float model's own factor 1 - 1/700 folds in -1 / ln(1 - 1/700) steps
    wanted = -1 / math.log(1 - 1 / 700)
    row = report_row(ours, "tau_ahp")
    assert row["requested"] == pytest.approx(wanted, rel=1e-12)
    assert row["realized"] == pytest.approx(wanted, rel=1e-9)
    assert report_row(ours, "tau_ahp kernel")["realized"] < 0.01
    assert report_row(paper, "tau_ahp kernel")["realized"] > 0.2


def exactly_representable() -> LifAhpParams:
    """A neuron whose decays are register values (200 and 14) and whose t_ref is 2 steps."""
    tau_m = -1 / math.log(1 - 200 / 4096)
    tau_ahp = -1 / math.log(1 - 14 / 4096)
    return LifAhpParams(tau_m=tau_m * ms, tau_ahp=tau_ahp * ms, t_ref=2 * ms, b_ahp=20 * pA)


def test_exactly_representable_neuron_fires_like_the_float_model():
    params = exactly_representable()
    mapping = map_neuron(params, current_range=(0 * pA, 400 * pA))
    assert mapping.decay_v == 200 and [c.decay for c in mapping.aux] == [14]
    amplitudes = {"cell": np.array([0.0, 150.0, 200.0, 250.0, 300.0, 400.0]) * pA}
    result = validate_long_squares({"cell": params}, amplitudes, backend="runtime")
    sweeps = result.sweeps
    assert (sweeps["float_count"] > 10).sum() >= 4
    assert np.array_equal(sweeps["float_count"], sweeps["fixed_count"])
    # What remains: the AHP weight's rounding to 64 units (0.17 % here) and the truncation of
    # the decaying AHP toward zero (~0.5 unit per step), both weakening the AHP a little, so
    # the registers fire slightly early. Near rheobase, where the interval is most sensitive,
    # that adds up to a few steps over the second (6 ms measured), never to a spike.
    drift_ms = [
        np.abs(fixed - float_).max(initial=0) * 1e3
        for float_, fixed in zip(
            result.float_trains["cell"], result.fixed_trains["cell"], strict=True
        )
    ]
    assert max(drift_ms) <= 10


def test_bias_outside_the_mapped_range_is_refused():
    mapping = map_neuron(LifAhpParams(), current_range=(0 * pA, 300 * pA))
    with pytest.raises(MappingError, match=r"current = 301 pA is outside .* 0\.\.300 pA"):
        mapping.bias(np.array([100.0, 301.0]) * pA)


def test_models_without_a_loihi_form_and_bad_options_are_refused():
    with pytest.raises(MappingError, match="model 'glif3' has no Loihi form"):
        map_neuron(Glif3Params())
    with pytest.raises(MappingError, match="decay_rounding = 'floor'; allowed: nearest, paper"):
        map_neuron(LifAhpParams(), decay_rounding="floor")
    with pytest.raises(MappingError, match=r"current_range = \(10, 0\) pA"):
        map_neuron(LifAhpParams(), current_range=(10 * pA, 0 * pA))
    with pytest.raises(MappingError, match="t_ref = 80 ms is 80 steps"):
        map_neuron(LifAhpParams(t_ref=80 * ms))


def test_an_ahp_of_zero_gets_no_compartment_and_is_reported():
    mapping = map_neuron(LifAhpParams(b_ahp=0 * pA))
    assert mapping.aux == ()
    row = report_row(mapping, "tau_ahp increment")
    assert row["realized"] == 0.0
    assert row["note"].count("below one weight step, no compartment") == 2  # both decays


@pytest.mark.parametrize("value", [64.0, -200.0, 3000.0, 65_000.0, -1_000_000.0, 2_088_000.0])
def test_weights_round_to_the_nearest_representable_input(value):
    weights = quantize_weights(value)
    realized = sum(64 * w * 2**e for w, e in weights)
    assert abs(realized - value) <= 32
    assert all(abs(w) <= 255 and 0 <= e <= 7 for w, e in weights)


def test_alif_maps_its_threshold_onto_an_auxiliary_compartment():
    mapping = map_neuron(AlifParams())
    assert len(mapping.aux) == 1
    # w = v - theta: theta's increase of 2 mV per spike becomes an inhibitory input
    assert mapping.aux[0].input_per_spike < 0


def test_the_pair_bias_cancels_the_truncation_drift_of_a_slow_ahp():
    """Two AHP compartments (decays 4 and 5) hit every 20 steps: their sum vs exact decay."""
    steps, period, weight = 2000, 20, -100  # input -6400 per spike
    drift = {}
    for bias in (0, -1):
        network = Network()
        pair = CompartmentGroup("pair", 2, decay_u=4096, decay_v=[4, 5], bias_mant=[bias, 0])
        spikes = SpikeInput(
            "spikes", 1, steps=range(0, steps, period), indices=[0] * (steps // period)
        )
        network.add(pair, spikes, SynapseGroup("in", spikes, pair, [0, 0], [0, 1], [weight] * 2,
                                               sign_mode="inhibitory"))  # fmt: skip
        v = Simulator(network, record="all").run(steps).v["pair"].sum(axis=1)
        exact = np.zeros(steps)
        level = np.zeros(2)
        for step in range(steps):
            level *= np.array([4092, 4091]) / 4096
            if step >= 1 and (step - 1) % period == 0:
                level += 64 * weight
            exact[step] = level.sum()
        drift[bias] = float(np.mean(v[steps // 2 :] - exact[steps // 2 :]))
    # without the bias the truncation toward zero adds ~1 unit per step, ~0.5 / (1 - a) each
    assert drift[0] > 500
    assert abs(drift[-1]) < 0.2 * drift[0]


def test_threshold_is_chosen_so_ahp_increments_are_whole_weight_steps(monkeypatch):
    import hardware_mapping.quantization as quantization

    def increment_errors(mapping):
        rows = mapping.report[mapping.report["quantity"].str.endswith("increment")]
        return rows["relative_error"].abs()

    friendly = map_neuron(LifAhpParams(), current_range=(0 * pA, 400 * pA))
    monkeypatch.setattr(quantization, "FRIENDLY_RANGE", 1.0)  # the largest mantissa only
    largest = map_neuron(LifAhpParams(), current_range=(0 * pA, 400 * pA))
    assert largest.vth_mant * 0.9 <= friendly.vth_mant < largest.vth_mant
    # each term's increment rounds once to 64 units: ~5e-4 of it at the largest mantissa
    assert increment_errors(largest).max() > 2e-4
    assert increment_errors(friendly).max() < 0.2 * increment_errors(largest).max()
