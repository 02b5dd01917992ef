"""Catalogue groups in a user's own Brian2 network: beside their groups and synapses, any dt,
runtime and C++ standalone, firing exactly as the toolkit's own simulations."""

from __future__ import annotations

import json
import subprocess
import sys

import numpy as np
import pytest
from brian2 import (
    Network,
    SpikeGeneratorGroup,
    SpikeMonitor,
    StateMonitor,
    Synapses,
    ms,
    mV,
    pA,
    prefs,
)

from ahp_models import LifAhp, LifAhpParams, LifMultiAhp, MultiAhpParams, from_array, simulate
from ahp_models.parameters import ParameterError

DURATION_MS = 300.0


@pytest.fixture(autouse=True)
def _numpy_target():
    saved = prefs.codegen.target
    prefs.codegen.target = "numpy"  # no compiler for the runtime cases
    yield
    prefs.codegen.target = saved


def _constant(amplitude_pA: float, dt_ms: float):
    steps = round(DURATION_MS / dt_ms)
    return from_array(np.full(steps, amplitude_pA) * pA, dt=dt_ms * ms)


def _times_ms(monitor: SpikeMonitor, neuron: int) -> np.ndarray:
    return np.asarray(monitor.t[monitor.i == neuron] / ms)


def _toolkit_times_ms(model, params, amplitude_pA, dt_ms):
    result = simulate(
        model, params, _constant(amplitude_pA, dt_ms), dt=dt_ms * ms, codegen_target="numpy"
    )
    return [np.asarray(train / ms) for train in result.spike_trains()]


def test_two_catalogue_groups_beside_a_users_group_and_synapses_fire_as_the_toolkit():
    multi_params = MultiAhpParams(tau_ahp=[20, 200, 2000] * ms, b_ahp=[4, 6, 1] * pA)
    ahp = LifAhp().neuron_group(LifAhpParams(), n=2)
    multi = LifMultiAhp().neuron_group(multi_params, n=2, name="adapting")
    assert ahp.name == "lif_ahp" and multi.name == "adapting"
    ahp.I_ext = [180, 260] * pA
    multi.I_ext = 240 * pA
    # the user's own input: a spike source and synapses onto the catalogue groups
    source = SpikeGeneratorGroup(1, [0, 0], [50, 120] * ms)
    kick = Synapses(source, multi, "w : volt", on_pre="v_post += w")
    kick.connect(j="0")  # only neuron 0 of `multi`; neuron 1 is the untouched control
    kick.w = 2 * mV
    monitors = [SpikeMonitor(ahp), SpikeMonitor(multi)]
    Network(ahp, multi, source, kick, *monitors).run(DURATION_MS * ms)

    for neuron, amplitude in enumerate([180, 260]):
        expected = _toolkit_times_ms("lif_ahp", LifAhpParams(), amplitude, 0.1)[0]
        np.testing.assert_array_equal(_times_ms(monitors[0], neuron), expected)
    control = _toolkit_times_ms("lif_multi_ahp", multi_params, 240, 0.1)[0]
    np.testing.assert_array_equal(_times_ms(monitors[1], 1), control)
    kicked = _times_ms(monitors[1], 0)
    # identical before the first kick, different after it
    np.testing.assert_array_equal(kicked[kicked < 50], control[control < 50])
    assert not np.array_equal(kicked, control)


def test_a_synaptic_kick_decays_with_the_membrane_time_constant():
    # below rheobase, the membrane is linear: a kick of w at t0 leaves w exp(-(t - t0)/tau_m)
    params = LifAhpParams()
    kicked, control = LifAhp().neuron_group(params), LifAhp().neuron_group(params)
    for group in (kicked, control):
        group.I_ext = 100 * pA  # rheobase is (V_th - E_L)/R
    source = SpikeGeneratorGroup(1, [0], [30 * ms])
    synapses = Synapses(source, kicked, on_pre="v_post += 1.5*mV")
    synapses.connect()
    traces = [StateMonitor(group, "v", record=0) for group in (kicked, control)]
    Network(kicked, control, source, synapses, *traces).run(100 * ms)
    t_ms = np.asarray(traces[0].t / ms)
    difference_mV = np.asarray((traces[0].v[0] - traces[1].v[0]) / mV)
    tau_m_ms = float(params.tau_m / ms)
    after = t_ms > 30.05  # the kick lands during the spike step at 30 ms
    expected = 1.5 * np.exp(-(t_ms[after] - 30.1) / tau_m_ms)
    np.testing.assert_allclose(difference_mV[after], expected, rtol=1e-9)
    np.testing.assert_array_equal(difference_mV[t_ms < 30], 0.0)


def test_the_group_keeps_its_own_dt_and_coefficients():
    from brian2 import defaultclock

    saved = defaultclock.dt
    try:
        group = LifAhp().neuron_group(dt=0.05 * ms)
        defaultclock.dt = 0.2 * ms  # set afterwards: the group is not affected
        group.I_ext = 250 * pA
        monitor = SpikeMonitor(group)
        Network(group, monitor).run(DURATION_MS * ms)
    finally:
        defaultclock.dt = saved
    expected = _toolkit_times_ms("lif_ahp", LifAhpParams(), 250, 0.05)[0]
    np.testing.assert_array_equal(_times_ms(monitor, 0), expected)


def test_a_toolkit_stimulus_drives_the_group():
    stimulus = _constant(230, 0.1)
    group = LifAhp().neuron_group(stimulus=stimulus)
    monitor = SpikeMonitor(group)
    Network(group, monitor).run(DURATION_MS * ms)
    expected = _toolkit_times_ms("lif_ahp", LifAhpParams(), 230, 0.1)[0]
    np.testing.assert_array_equal(_times_ms(monitor, 0), expected)


@pytest.mark.parametrize(
    ("arguments", "fragment"),
    [
        ({"params": MultiAhpParams()}, "takes LifAhpParams"),
        ({"dt": 0.3 * ms}, "not a whole number of time steps"),  # t_ref = 2 ms
        ({"dt": -1 * ms}, "allowed: one positive, finite time"),
        ({"params": LifAhpParams(tau_m=[10, 20] * ms), "n": 3}, "population sizes disagree"),
    ],
)
def test_bad_groups_are_refused(arguments, fragment):
    with pytest.raises(ParameterError, match=fragment):
        LifAhp().neuron_group(**arguments)


STANDALONE_SCRIPT = """
import json, sys
import numpy as np
from brian2 import Network, SpikeGeneratorGroup, SpikeMonitor, Synapses, device, mV, ms, pA
from brian2 import prefs, set_device
from ahp_models import LifAhp, LifMultiAhp, MultiAhpParams
from ahp_models.network import cpp_compile_args

if sys.argv[1] == "runtime":
    prefs.codegen.target = "numpy"
else:
    set_device("cpp_standalone", directory=sys.argv[1])
prefs.codegen.cpp.extra_compile_args_gcc = cpp_compile_args()
ahp = LifAhp().neuron_group(n=2)
multi = LifMultiAhp().neuron_group(MultiAhpParams(), n=2)
ahp.I_ext = [180, 260] * pA
multi.I_ext = 240 * pA
source = SpikeGeneratorGroup(1, [0, 0], [50, 120] * ms)
kick = Synapses(source, multi, "w : volt", on_pre="v_post += w")
kick.connect(j="0")
kick.w = 2 * mV
monitors = [SpikeMonitor(ahp), SpikeMonitor(multi)]
Network(ahp, multi, source, kick, *monitors).run(300 * ms)
print(json.dumps([[m.i[:].tolist(), (m.t[:] / ms).tolist()] for m in monitors]))
"""


def _run_script(device_argument: str) -> list:
    result = subprocess.run(
        [sys.executable, "-c", STANDALONE_SCRIPT, device_argument],
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    return json.loads(result.stdout.strip().splitlines()[-1])


def test_cpp_standalone_runs_the_same_network_to_the_bit(tmp_path):
    standalone = _run_script(str(tmp_path / "build"))
    runtime = _run_script("runtime")
    assert standalone == runtime
    assert all(len(times) > 10 for _, times in runtime)  # both groups fire
