"""Backends agree bit for bit, and a compiled standalone simulation re-runs without compiling."""

from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np
import pytest
from brian2 import ms, mV, pA, second
from brian2.devices.cpp_standalone.device import CPPStandaloneDevice

from ahp_models import (
    MODELS,
    LifAhpParams,
    ParameterError,
    StimulusError,
    compile_simulator,
    get_model,
    long_square,
    noise,
    simulate,
)
from ahp_models.backends.standalone import SimulationError

STIMULUS = long_square([120, 180, 260, 420] * pA, onset=30 * ms, width=400 * ms, duration=500 * ms)


def assert_same(a, b, rtol=0.0):
    """Spike trains identical; traces identical (rtol 0) or within ``rtol``."""
    np.testing.assert_array_equal(a.spike_neuron, b.spike_neuron)
    np.testing.assert_array_equal(a.spike_time_s, b.spike_time_s)
    assert a.traces_si.keys() == b.traces_si.keys()
    for name in a.traces_si:
        if rtol == 0.0:
            np.testing.assert_array_equal(a.traces_si[name], b.traces_si[name], err_msg=name)
        else:
            np.testing.assert_allclose(a.traces_si[name], b.traces_si[name], rtol=rtol, atol=0)


@pytest.mark.parametrize("name", sorted(MODELS))
def test_runtime_and_cpp_standalone_are_identical(name):
    model = get_model(name)
    params = model.default_params()
    stimulus = STIMULUS
    if name == "loihi_ahp":  # a 1 ms-step model: drive it at its own step
        stimulus = long_square(
            [200, 400, 800, 1600] * pA, onset=30 * ms, width=400 * ms, duration=500 * ms, dt=1 * ms
        )
    record = [v.name for v in model.state_variables()]
    runtime = simulate(model, params, stimulus, record=record, codegen_target="numpy")
    standalone = simulate(model, params, stimulus, record=record, backend="cpp_standalone")
    assert runtime.spike_counts().sum() > 5
    assert standalone.backend == "cpp_standalone"
    # The conductance model calls exp() every step; numpy's vectorised exp and the C library's
    # may differ in the last bit, so its traces agree to rounding (its spikes still match).
    assert_same(runtime, standalone, rtol=1e-13 if name == "lif_cond_ahp" else 0.0)


def test_cython_matches_numpy():
    params = LifAhpParams(tau_ahp=np.array([50.0, 200.0, 800.0, 2000.0]) * ms)
    numpy_result = simulate("lif_ahp", params, STIMULUS, record="v", codegen_target="numpy")
    cython_result = simulate("lif_ahp", params, STIMULUS, record="v", codegen_target="cython")
    assert_same(numpy_result, cython_result)


def test_hundred_parameter_sets_without_recompiling(monkeypatch):
    n_neurons = 8
    compiled = compile_simulator(
        "lif_ahp",
        n_neurons=n_neurons,
        stimulus=STIMULUS.__class__(STIMULUS.waveform, STIMULUS.dt, np.full(n_neurons, 200.0) * pA),
        record="v",
        record_neurons=[0, 5],
    )
    assert compiled.build_count == 1
    binary = Path(compiled.simulator.directory) / "main"
    built_at = binary.stat().st_mtime_ns
    compilations = []
    monkeypatch.setattr(
        CPPStandaloneDevice, "compile_source", lambda *a, **k: compilations.append(a)
    )
    rng = np.random.default_rng(2024)
    amplitudes = np.linspace(150, 450, n_neurons) * pA
    stimulus = long_square(amplitudes, onset=30 * ms, width=400 * ms, duration=500 * ms)
    counts = []
    checked = []
    for k in range(100):
        params = LifAhpParams(
            tau_ahp=rng.uniform(50, 1500, n_neurons) * ms,
            b_ahp=rng.uniform(0, 40, n_neurons) * pA,
            V_th=rng.uniform(-52, -48) * mV,
        )
        result = compiled.run(params, stimulus)
        counts.append(result.spike_counts())
        if k % 33 == 0:  # the new values really are used: compare with the runtime backend
            expected = simulate(
                "lif_ahp",
                params,
                stimulus,
                record="v",
                record_neurons=[0, 5],
                codegen_target="numpy",
            )
            assert_same(expected, result)
            checked.append(k)
    assert compilations == []
    assert compiled.build_count == 1
    assert compiled.simulator.run_count == 100
    assert binary.stat().st_mtime_ns == built_at
    assert len({tuple(c) for c in counts}) > 90  # the parameter sets gave different results
    assert checked == [0, 33, 66, 99]


def test_new_stimuli_through_run_args():
    first = noise(200 * pA, 80 * pA, seed=1, duration=0.5 * second, n_neurons=3)
    compiled = compile_simulator("lif_ahp", n_neurons=3, stimulus=first)
    for seed in (1, 2, 3):
        stimulus = noise(200 * pA, 80 * pA, seed=seed, duration=0.5 * second, n_neurons=3)
        expected = simulate("lif_ahp", LifAhpParams(), stimulus, codegen_target="numpy")
        assert_same(expected, compiled.run(LifAhpParams(), stimulus))
    assert compiled.build_count == 1


def test_parallel_runs_of_one_compiled_simulation():
    compiled = compile_simulator("lif_ahp", n_neurons=4, stimulus=STIMULUS, record="v")
    sets = [LifAhpParams(b_ahp=b * pA) for b in (0.0, 10.0, 20.0, 40.0)]
    sequential = [compiled.run(p, STIMULUS) for p in sets]
    with ThreadPoolExecutor(max_workers=4) as pool:
        parallel = list(pool.map(lambda p: compiled.run(p, STIMULUS), sets))
    for one, other in zip(sequential, parallel, strict=True):
        assert_same(one, other)
    assert len({tuple(r.spike_counts()) for r in parallel}) == 4


def test_unreadable_inputs_fail_loudly(monkeypatch):
    # Brian2's binaries print "Error reading" and exit 0 when an argument file is missing; a run
    # must not silently continue with the compiled defaults.
    compiled = compile_simulator("lif_ahp", n_neurons=4, stimulus=STIMULUS)
    simulator = compiled.simulator
    original = simulator._arguments

    def with_missing_file(inputs, run_dir):
        return [*original(inputs, run_dir), "neurons.tau_m=runs/missing.dat"]

    monkeypatch.setattr(simulator, "_arguments", with_missing_file)
    with pytest.raises(SimulationError, match=r"Error reading|Could not read"):
        compiled.run(LifAhpParams(), STIMULUS)


def test_compiled_structure_is_enforced():
    with pytest.raises(ParameterError, match="n_neurons = 0; allowed: a whole number >= 1"):
        compile_simulator("lif_ahp", n_neurons=0, stimulus=STIMULUS)
    compiled = compile_simulator("lif_ahp", n_neurons=4, stimulus=STIMULUS)
    with pytest.raises(ParameterError, match=r"sizes disagree: \{'stimulus': 3, 'n_neurons': 4\}"):
        compiled.run(
            LifAhpParams(),
            long_square([1, 2, 3] * pA, onset=30 * ms, width=400 * ms, duration=500 * ms),
        )
    longer = long_square([1, 2, 3, 4] * pA, onset=30 * ms, width=400 * ms, duration=600 * ms)
    with pytest.raises(StimulusError, match="compiled for stimulus waveforms of shape"):
        compiled.run(LifAhpParams(), longer)
    # same number of samples, twice the sampling step: would play the stimulus at half speed
    slower = STIMULUS.__class__(STIMULUS.waveform, 2 * STIMULUS.dt, STIMULUS.amplitude)
    with pytest.raises(StimulusError, match=r"sampled every 0\.1 ms, got \(5000,\) every 0\.2 ms"):
        compiled.run(LifAhpParams(), slower)
    with pytest.raises(ParameterError, match="takes LifAhpParams"):
        compiled.run(get_model("alif").default_params(), STIMULUS)


def test_simulate_reuses_compiled_projects():
    from ahp_models import simulation

    a = simulate("alif", None, STIMULUS, backend="cpp_standalone")
    first = next(reversed(simulation._compiled.values()))
    b = simulate("alif", {"delta_theta": "4 mV"}, STIMULUS, backend="cpp_standalone")
    assert next(reversed(simulation._compiled.values())) is first
    assert first.build_count == 1 and first.run_count >= 2
    assert b.spike_counts().sum() < a.spike_counts().sum()


def test_bad_backend_and_record_requests():
    with pytest.raises(ValueError, match="backend = 'gpu'; allowed: runtime, cpp_standalone"):
        simulate("lif_ahp", None, STIMULUS, backend="gpu")
    with pytest.raises(ParameterError, match=r"cannot record \['w'\] from model 'lif_ahp'"):
        simulate("lif_ahp", None, STIMULUS, record="w")
    with pytest.raises(ParameterError, match=r"record_dt = 0\.15 ms must be a whole multiple"):
        simulate("lif_ahp", None, STIMULUS, record="v", record_dt=0.15 * ms)
    with pytest.raises(ParameterError, match="population sizes disagree"):
        simulate("lif_ahp", LifAhpParams(b_ahp=np.ones(3) * pA), STIMULUS)
    coarse = long_square([100] * pA, onset=30 * ms, width=60 * ms, duration=180 * ms, dt=0.3 * ms)
    with pytest.raises(ParameterError, match=r"t_ref = 2 ms is not a whole number of time steps"):
        simulate("lif_ahp", None, coarse)
