"""GLIF3 neuron configs of LIF-AHP neurons, run by allensdk's own ``GlifNeuron`` and by `Glif3`.

The default cohort's sixteen cells, each as ``lif_ahp`` and as a two-current ``lif_multi_ahp``
(its own AHP plus a fast one with ``tau = tau_m``, where the exact coupling has its removable
pole), on the long squares of the cohort's recording: Allen's amplitude grid around the 10 pA
rheobase, a 1 s step after 20 ms of rest.
"""

from __future__ import annotations

import functools
import itertools
import json
import random
import time

import numpy as np
import pytest
from brian2 import Mohm, amp, ms, mV, pA, second

from ahp_models import (
    AlifParams,
    LifAhpInputParams,
    LifAhpParams,
    MultiAhpParams,
    ParameterError,
    long_square,
    model_for_params,
    simulate,
)
from ahp_models.glif3_config import glif3_from_neuron_config, read_glif3_neuron_config
from ahp_models.glif_export import glif_neuron_config, write_neuron_config
from ahp_models.results import split_spike_trains
from fitting.cohort import default_cohort
from fitting.targets import ONSET_S, WIDTH_S, allen_grid
from tests.mutations import fields, value_at, with_value, without

#: The fitting's simulation step (`fitting.cohort.write_cohort`'s default).
DT_MS = 0.1
#: The cohort's step per model. allensdk steps in pure Python (5-15 us a step), so the cohort
#: runs at coarser steps than the fitting's (at 0.1 ms it also agrees spike for spike, but takes
#: half a minute); the cohort's refractory periods are whole steps of both, and the spike cuts
#: (t_ref / dt - 1) run from 1 to 11 steps; the cuts of 0 steps are checked at 0.1 ms below.
COHORT_DT_MS = {"lif_ahp": 0.25, "lif_multi_ahp": 0.5}


def cohort_cells(model_name: str) -> list[LifAhpParams | MultiAhpParams]:
    """The cohort's cells as ``lif_ahp``, or as two-current ``lif_multi_ahp``."""
    single = [LifAhpParams.from_row(row) for row in default_cohort().to_dict("records")]
    if model_name == "lif_ahp":
        return single
    return [
        MultiAhpParams(
            **{name: getattr(cell, name) for name in ("E_L", "R", "tau_m", "V_th", "V_reset")},
            t_ref=cell.t_ref,
            tau_ahp=np.array([cell.tau_m / ms, cell.tau_ahp / ms]) * ms,
            b_ahp=np.array([10.0, cell.b_ahp / pA]) * pA,
        )
        for cell in single
    ]


def amplitudes_pA(cell) -> np.ndarray:
    """Allen's grid around the lowest 10 pA step above the cell's rheobase ``(V_th - E_L)/R``
    (a step at the rheobase itself approaches the threshold without reaching it)."""
    rheobase = float((cell.V_th - cell.E_L) / cell.R / pA)
    return allen_grid(10.0 * (np.floor(rheobase / 10.0 + 1e-9) + 1.0))


def protocol(currents_pA: np.ndarray, dt_ms: float):
    return long_square(
        currents_pA * pA,
        onset=ONSET_S * second,
        width=WIDTH_S * second,
        duration=(ONSET_S + WIDTH_S) * second,
        dt=dt_ms * ms,
    )


def spike_steps(model, cells, currents, dt_ms: float) -> list[list[np.ndarray]]:
    """Spike step indices per cell and sweep: one population of ``model``, a neuron a sweep."""
    sizes = [c.size for c in currents]
    stacked = type(cells[0]).concatenate(
        [type(c).concatenate([c], repeat=k) for c, k in zip(cells, sizes, strict=True)]
    )
    all_currents = np.concatenate(currents)
    result = simulate(model, stacked, protocol(all_currents, dt_ms), codegen_target="numpy")
    trains = split_spike_trains(result.spike_neuron, result.spike_time_s, all_currents.size)
    steps = [np.round(t / (dt_ms * 1e-3)).astype(int) for t in trains]
    bounds = np.cumsum([0, *sizes])
    return [steps[a:b] for a, b in itertools.pairwise(bounds)]


@functools.cache
def cohort_spike_steps(model_name: str) -> dict[bool, list[list[np.ndarray]]]:
    """The toolkit's spike steps of the cohort at its step, by whether ``V_reset = E_L`` (one
    population for both)."""
    cells = cohort_cells(model_name)
    both = [*cells, *(c.replace(V_reset=c.E_L) for c in cells)]
    steps = spike_steps(
        model_for_params(cells[0]), both, [amplitudes_pA(c) for c in both], COHORT_DT_MS[model_name]
    )
    return {False: steps[: len(cells)], True: steps[len(cells) :]}


def allensdk_spike_steps(glif_neuron_class, config, currents_pA, dt_ms) -> list[np.ndarray]:
    """allensdk's spike steps, one run per sweep, of a config read back from its JSON text."""
    neuron = glif_neuron_class.from_dict(json.loads(json.dumps(config)))
    stimulus = protocol(currents_pA, dt_ms)
    return [
        neuron.run(stimulus.waveform * float(amplitude))["spike_time_steps"].astype(int)
        for amplitude in stimulus.amplitude
    ]


@pytest.mark.parametrize("model_name", list(COHORT_DT_MS))
def test_allensdk_runs_the_exported_cohort_spike_for_spike(glif_neuron_class, model_name):
    dt_ms = COHORT_DT_MS[model_name]
    cells = cohort_cells(model_name)
    ours = cohort_spike_steps(model_name)[False]
    started, sweeps, spikes = time.process_time(), 0, 0
    for index, cell in enumerate(cells):
        config = glif_neuron_config(cell, dt_ms * ms)
        theirs = allensdk_spike_steps(glif_neuron_class, config, amplitudes_pA(cell), dt_ms)
        for sweep, (reference, expected) in enumerate(zip(theirs, ours[index], strict=True)):
            np.testing.assert_array_equal(reference, expected, f"cell {index}, sweep {sweep}")
            sweeps, spikes = sweeps + 1, spikes + expected.size
    seconds = time.process_time() - started
    print(f"{model_name} at {dt_ms} ms: {len(cells)} cells, {sweeps} sweeps, {spikes} spike "
          f"steps equal in allensdk ({seconds:.1f} s CPU)")  # fmt: skip
    assert sweeps == 16 * 11 and spikes > 1000


def test_no_spike_cut_when_the_refractory_period_is_at_most_a_step(glif_neuron_class):
    cells = [cohort_cells("lif_multi_ahp")[1].replace(t_ref=t * ms) for t in (0.0, DT_MS)]
    currents = [amplitudes_pA(c)[-1:] for c in cells]
    ours = spike_steps(model_for_params(cells[0]), cells, currents, DT_MS)
    for cell, amplitude, expected in zip(cells, currents, ours, strict=True):
        config = glif_neuron_config(cell, DT_MS * ms)
        assert config["spike_cut_length"] == 0
        theirs = allensdk_spike_steps(glif_neuron_class, config, amplitude, DT_MS)
        assert theirs[0].size > 50
        np.testing.assert_array_equal(theirs[0], expected[0])


@pytest.mark.parametrize("model_name", list(COHORT_DT_MS))
@pytest.mark.parametrize("scheme", ["exact", "allen"])
def test_config_read_back_as_glif3_fires_as_the_toolkit_neuron(tmp_path, scheme, model_name):
    """The scheme's config, read by `read_glif3_neuron_config` and run by `Glif3` with the
    config's scheme, gives the toolkit's spike steps (``V_reset = E_L``: Glif3 resets to E_L)."""
    dt_ms = COHORT_DT_MS[model_name]
    cells = [c.replace(V_reset=c.E_L) for c in cohort_cells(model_name)]
    read = [
        read_glif3_neuron_config(
            write_neuron_config(
                glif_neuron_config(c, dt_ms * ms, scheme=scheme), tmp_path / f"cell_{k}.json"
            )
        )
        for k, c in enumerate(cells)
    ]
    assert {r.scheme for r in read} == {scheme}
    assert all(float(r.dt / ms) == pytest.approx(dt_ms, rel=1e-15) for r in read)
    currents = [amplitudes_pA(c) for c in cells]
    got = spike_steps(read[0].model(), [r.params for r in read], currents, dt_ms)
    expected = cohort_spike_steps(model_name)[True]
    for index, (a, b) in enumerate(zip(got, expected, strict=True)):
        for sweep, (x, y) in enumerate(zip(a, b, strict=True)):
            np.testing.assert_array_equal(x, y, f"cell {index}, sweep {sweep}")
    assert sum(t.size for trains in expected for t in trains) > 1000


def test_exact_config_holds_the_continuous_neuron(glif_neuron_class):
    cell = cohort_cells("lif_multi_ahp")[7]  # t_ref 3 ms, tau_m 25 ms, tau_ahp 25 and 500 ms
    config = glif_neuron_config(cell, DT_MS * ms, scheme="exact")
    with pytest.raises(AssertionError):  # allensdk has only its Euler step: it refuses the config
        glif_neuron_class.from_dict(config)
    cut_s = config["spike_cut_length"] * config["dt"]
    assert config["spike_cut_length"] == 29
    assert config["R_input"] * config["C"] == pytest.approx(0.025, rel=1e-14)
    assert config["El_reference"] == pytest.approx(-0.070, rel=1e-14)
    assert config["th_inf"] == pytest.approx(0.015, rel=1e-12)
    reset = config["voltage_reset_method"]
    assert reset["name"] == "v_before" and reset["params"]["a"] == 0.0
    assert reset["params"]["b"] == pytest.approx(0.003, rel=1e-12)  # V_reset - E_L
    # after the cut the current is what is left of our increment: b exp(-cut / tau), sign flipped
    left_a = np.array([10e-12, 15e-12]) * np.exp(-cut_s / np.array([0.025, 0.5]))
    np.testing.assert_allclose(config["asc_amp_array"], -left_a, rtol=1e-14)
    assert config["ahp_toolkit"]["source"] == cell.to_dict()


def test_allen_config_tends_to_the_exact_one_at_small_steps():
    """C exceeds tau_m / R by dt / (2 tau_m) and the current scale falls short of 1 by
    dt / (2 tau_k), to first order in dt (expansion of the exact step's coefficients)."""
    cell = cohort_cells("lif_multi_ahp")[7].replace(t_ref=0 * ms)
    dt_s = 1e-6
    allen = glif_neuron_config(cell, dt_s * second)
    exact = glif_neuron_config(cell, dt_s * second, scheme="exact")
    taus_s = np.array([0.025, 0.5])
    assert allen["C"] / exact["C"] - 1 == pytest.approx(dt_s / (2 * 0.025), rel=1e-4)
    scale = np.array(allen["asc_amp_array"]) / np.array(exact["asc_amp_array"])
    np.testing.assert_allclose(1 - scale, dt_s / (2 * taus_s), rtol=1e-4)


def test_export_refuses_what_glif3_cannot_hold():
    cell = cohort_cells("lif_ahp")[4]  # t_ref 1.5 ms
    with pytest.raises(ParameterError, match=r"t_ref = 1.5 ms is not a whole number of time steps"):
        glif_neuron_config(cell, 1 * ms)
    with pytest.raises(ParameterError, match="model 'alif' has no GLIF3 form; allowed: lif_ahp"):
        glif_neuron_config(AlifParams(), DT_MS * ms)
    # its parameters derive from lif_ahp's, but its current follows the input: not GLIF3
    with pytest.raises(ParameterError, match="model 'lif_ahp_input' has no GLIF3 form"):
        glif_neuron_config(LifAhpInputParams(t_ref=1 * ms), DT_MS * ms)
    with pytest.raises(ParameterError, match="holds 2 neurons; allowed: one neuron"):
        glif_neuron_config(LifAhpParams.concatenate([cell, cell]), DT_MS * ms)
    with pytest.raises(ParameterError, match="scheme = 'euler'; allowed: allen, exact"):
        glif_neuron_config(cell, DT_MS * ms, scheme="euler")
    with pytest.raises(ParameterError, match=r"provenance has the key\(s\) \['scheme'\]"):
        glif_neuron_config(cell, DT_MS * ms, provenance={"scheme": "mine", "specimen_id": 1})
    kept = glif_neuron_config(cell, DT_MS * ms, provenance={"specimen_id": 900000005})
    assert kept["ahp_toolkit"]["specimen_id"] == 900000005
    for dt in (0 * ms, 0.1, 3 * mV):
        with pytest.raises(
            ParameterError,
            match=r"GLIF export: dt = .*(allowed|give it in s|expected a value in s)",
        ):
            glif_neuron_config(cell, dt)


def exported(**changes) -> dict:
    config = glif_neuron_config(LifAhpParams(V_reset=-70 * mV, R=100 * Mohm), DT_MS * ms)
    return {**config, **changes}


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"voltage_reset_method": {"name": "v_before", "params": {"a": 0.0, "b": -0.005}}},
         r"voltage_reset_method = \{'name': 'v_before'.*allowed: 'zero'"),
        ({"El": 0.002}, "El = 0.002; allowed: 0"),
        ({"th_inf": "20 mV"}, "th_inf = '20 mV'; allowed: a finite number"),
        ({"asc_amp_array": [-1e-11, 0.0]},
         r"asc_amp_array = \[-1e-11, 0.0\]; allowed: a list of 1 numbers"),
        ({"voltage_dynamics_method": {"name": "rk4", "params": {}}},
         "voltage_dynamics_method = 'rk4'; allowed: linear_forward_euler, linear_exact"),
        ({"spike_cut_length": 2.5}, "spike_cut_length = 2.5; allowed: dt > 0 and a whole"),
        ({"init_AScurrents": [1e-12]}, r"init_AScurrents = \[1e-12\]; allowed: zeros"),
        ({"C": -1e-10}, "C = -100 pF"),
    ],
)  # fmt: skip
def test_reader_refuses_configs_glif3_cannot_simulate(changes, message):
    with pytest.raises(ParameterError, match=f"^cell.json: .*{message}"):
        glif3_from_neuron_config(exported(**changes), source="cell.json")


def test_reader_names_a_missing_field():
    config = exported()
    del config["AScurrent_reset_method"]["params"]["r"]
    with pytest.raises(ParameterError, match=r"no field AScurrent_reset_method\.params\.r$"):
        glif3_from_neuron_config(config)


def test_reader_applies_allens_coefficients_as_allensdk_does(glif_neuron_class):
    """A config with Allen's optimiser coefficients, partial reset (r < 1) and two currents:
    `Glif3` on the read parameters spikes on allensdk's steps."""
    config = {
        **exported(),
        "El_reference": -0.0775,
        "C": 1e-10,
        "R_input": 1.7e8,
        "th_inf": 0.0278,
        "dt": 5e-5,
        "spike_cut_length": 66,
        "asc_tau_array": [1 / 3, 1 / 30],
        "asc_amp_array": [-3.3e-12, -1.0e-10],
        "init_AScurrents": [0.0, 0.0],
        "AScurrent_reset_method": {"name": "sum", "params": {"r": [1.0, 0.5]}},
        "coeffs": {"th_inf": 1.2655, "C": 0.9, "G": 1.1, "asc_amp_array": [1.5, 0.8]},
    }
    read = glif3_from_neuron_config(config)
    assert float(read.params.th_inf / mV) == pytest.approx(0.0278 * 1.2655e3, rel=1e-14)
    current_a = 1.6 * float(read.params.th_inf / read.params.R / amp)
    waveform = np.r_[np.zeros(400), np.ones(4000), np.zeros(600)]
    reference = glif_neuron_class.from_dict(config).run(waveform * current_a)["spike_time_steps"]
    stimulus = long_square(
        [current_a] * amp, onset=20 * ms, width=200 * ms, duration=250 * ms, dt=read.dt
    )
    ours = simulate(read.model(), read.params, stimulus, codegen_target="numpy")
    assert reference.size >= 5
    np.testing.assert_array_equal(np.round(ours.spike_time_s / 5e-5).astype(int), reference)


HOSTILE = [None, True, -1, 0, 1e300, float("nan"), float("inf"), "", "abc", "5 mV", [], {},
           [1, 2], {"name": "zero"}, "9" * 400]  # fmt: skip


# Brian2 overflows converting a 1e300 A amplitude to pA on the way to refusing it
@pytest.mark.filterwarnings("ignore:overflow encountered in divide:RuntimeWarning")
def test_every_field_mutation_of_a_config_is_refused_or_read():
    """Each field of an exported two-current config deleted, given a hostile value or nested:
    a one-line `ParameterError` naming the file, or a config `Glif3Params` accepts."""
    raw = json.loads(json.dumps(exported(asc_tau_array=[0.3, 0.03], asc_amp_array=[-1e-11, -2e-11],
                                         init_AScurrents=[0.0, 0.0],
                                         AScurrent_reset_method={"name": "sum",
                                                                 "params": {"r": [1.0, 1.0]}},
                                         coeffs={"th_inf": 1.0, "C": 1.0, "G": 1.0,
                                                 "asc_amp_array": [1.0, 1.0]})))  # fmt: skip
    rng = random.Random(7)
    cases = []
    for path in (p for p, _ in fields(raw) if p and p[0] != "ahp_toolkit"):
        cases.append((f"delete {path}", without(raw, path)))
        for value in rng.sample(HOSTILE, 5):
            cases.append((f"{path} = {value!r}"[:120], with_value(raw, path, value)))
        cases.append((f"nest {path}", with_value(raw, path, [value_at(raw, path)])))
    failures, refused = [], 0
    for label, changed in cases:
        try:
            glif3_from_neuron_config(changed, source="cell.json")
        except ParameterError as error:
            refused += 1
            if not str(error).startswith("cell.json: ") or "\n" in str(error):
                failures.append(f"{label}: unclear refusal {str(error)[:200]!r}")
        except Exception as error:  # the point: any other exception is a bug
            failures.append(f"{label}: {type(error).__name__}: {str(error)[:200]}")
    assert len(cases) >= 200 and refused > len(cases) / 2
    assert not failures, f"{len(failures)} of {len(cases)} cases:\n" + "\n".join(failures)
