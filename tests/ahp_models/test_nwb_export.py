"""Simulations as NWB 2 files: bit-exact sweeps read back, pynwb's view and validator, refusals."""

from __future__ import annotations

import importlib.util
import json
import sys
from datetime import UTC, datetime

import numpy as np
import pytest
from brian2 import ms, pA, second

from ahp_models import LifAhpParams, LoihiAhpParams, SimulationResult, long_square, simulate
from ahp_models.errors import UserError
from ahp_models.nwb_export import NwbExportError, write_nwb
from fitting.nwb import long_square_sweeps, read_sweeps

requires_pynwb = pytest.mark.skipif(
    importlib.util.find_spec("pynwb") is None,
    reason="pynwb is not installed (pip install ahp-toolkit[nwb])",
)
AMPLITUDES_PA = [60.0, 200.0, 300.0]
DT = 0.04 * ms  # 25 kHz: Allen's spike detector low-passes at 10 kHz
STIMULUS = long_square(AMPLITUDES_PA * pA, onset=50 * ms, width=200 * ms, duration=300 * ms, dt=DT)
RECORDED = [1, 2]
START = datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC)


@pytest.fixture(scope="module")
def simulation(tmp_path_factory):
    """Three lif_ahp sweeps (the 60 pA one silent), two of them recorded, written to NWB 2."""
    pytest.importorskip("pynwb", reason="pynwb is not installed (pip install ahp-toolkit[nwb])")
    params = LifAhpParams()
    result = simulate(
        "lif_ahp",
        params,
        STIMULUS,
        record=["v", "I_ahp"],
        record_neurons=RECORDED,
        codegen_target="numpy",
    )
    path = tmp_path_factory.mktemp("nwb") / "simulation.nwb"
    write_nwb(path, result, STIMULUS, params, session_start_time=START, identifier="run-1")
    return result, params, path


@requires_pynwb
def test_the_sweeps_read_back_bit_for_bit(simulation):
    result, _, path = simulation
    sweeps = read_sweeps(path)
    assert [sweep.number for sweep in sweeps] == RECORDED  # sweep number = neuron index
    for row, sweep in enumerate(sweeps):
        assert sweep.stimulus_name == "Long Square"
        np.testing.assert_array_equal(sweep.response_v, result.traces_si["v"][row], strict=True)
        injected = np.asarray(STIMULUS.current(sweep.number), dtype=float)
        np.testing.assert_array_equal(sweep.stimulus_a, injected, strict=True)
        assert sweep.stimulus_a.max() == AMPLITUDES_PA[sweep.number] * 1e-12
        assert sweep.stimulus_rate_hz == sweep.response_rate_hz == 1 / result.dt_s
        assert sweep.response_delay_s == 0.0
    # the fitting reader finds Allen's step window and amplitude in the stimulus
    table = long_square_sweeps(path)
    onset, offset = (float(edge / second) for edge in STIMULUS.window())
    np.testing.assert_allclose(table.amplitude_pA, AMPLITUDES_PA[1:], rtol=1e-12)
    np.testing.assert_allclose(table.stimulus_start_s, onset, rtol=1e-12)
    np.testing.assert_allclose(table.stimulus_end_s, offset, rtol=1e-12)


@requires_pynwb
def test_pynwb_reads_spikes_state_variables_and_provenance(simulation):
    import pynwb

    result, params, path = simulation
    assert pynwb.validate(path=str(path)) == []
    with pynwb.NWBHDF5IO(str(path), "r") as io:
        nwbfile = io.read()
        assert nwbfile.identifier == "run-1"
        assert nwbfile.session_start_time == START
        units = nwbfile.units
        assert list(units.id[:]) == [0, 1, 2]  # every neuron, the silent one too
        for neuron, train in enumerate(result.spike_trains()):
            np.testing.assert_array_equal(
                units.get_unit_spike_times(neuron), np.asarray(train / second), strict=True
            )
        assert [len(units.get_unit_spike_times(n)) > 0 for n in range(3)] == [False, True, True]
        notes = json.loads(nwbfile.notes)
        assert notes["model"] == "lif_ahp"
        assert notes["parameters"] == params.to_dict()["parameters"]
        assert notes["amplitudes_pA"] == pytest.approx(AMPLITUDES_PA, rel=1e-12)
        for row, neuron in enumerate(RECORDED):
            response = nwbfile.acquisition[f"sweep_{neuron:04d}"]
            stimulus = nwbfile.stimulus[f"sweep_{neuron:04d}_stimulus"]
            assert (response.unit, response.conversion, response.offset) == ("volts", 1.0, 0.0)
            assert (stimulus.unit, stimulus.conversion) == ("amperes", 1.0)
            assert response.sweep_number == stimulus.sweep_number == neuron
            assert response.electrode is stimulus.electrode
            assert response.electrode.cell_id == f"neuron_{neuron}"
            assert "simulation" in response.electrode.device.description
            ahp = nwbfile.processing["ahp_model"][f"I_ahp_sweep_{neuron:04d}"]
            assert ahp.unit == "amperes"
            np.testing.assert_array_equal(ahp.data[:], result.traces_si["I_ahp"][row])
            assert ahp.rate == response.rate == 1 / result.dt_s
        responses = nwbfile.intracellular_recordings.get_category("responses")["response"][:]
        assert [reference.timeseries.name for reference in responses] == [
            "sweep_0001",
            "sweep_0002",
        ]
        sequential = nwbfile.icephys_sequential_recordings
        assert list(sequential["stimulus_type"][:]) == ["Long Square"]


def _result(**changes) -> SimulationResult:
    """A one-neuron lif_ahp result made by hand (no simulation needed)."""
    fields = {
        "model_name": "lif_ahp",
        "backend": "runtime",
        "n_neurons": 1,
        "dt_s": 1e-4,
        "duration_s": 1e-3,
        "spike_neuron": np.array([0]),
        "spike_time_s": np.array([5e-4]),
        "trace_time_s": np.arange(10) * 1e-4,
        "traces_si": {"v": np.linspace(-0.07, -0.05, 10)[None, :]},
        "trace_units": {"v": "mV"},
        "recorded_neurons": np.array([0]),
    }
    return SimulationResult(**{**fields, **changes})


TINY = long_square([100] * pA, onset=0.2 * ms, width=0.5 * ms, duration=1 * ms, dt=0.1 * ms)


@pytest.mark.parametrize(
    ("changes", "params", "message"),
    [
        ({"traces_si": {}, "trace_units": {}}, LifAhpParams(), r"did not record 'v'"),
        (
            {"model_name": "loihi_ahp", "trace_units": {"v": "1"}},
            LoihiAhpParams(),
            r"'v' of model 'loihi_ahp' is in '1', not a membrane potential in volts",
        ),
        ({}, LoihiAhpParams(), r"params are of model 'loihi_ahp' but the simulation ran 'lif_"),
        (
            {"trace_time_s": np.array([0, 1, 2, 4, 5, 6, 7, 8, 9, 10]) * 1e-4},
            LifAhpParams(),
            r"not sampled at a regular interval",
        ),
        ({"n_neurons": 2}, LifAhpParams(), r"addresses 1 neurons but the population has 2"),
    ],
)
def test_what_cannot_be_written_is_refused(tmp_path, changes, params, message):
    with pytest.raises(UserError, match=message):
        write_nwb(tmp_path / "x.nwb", _result(**changes), TINY, params)
    assert list(tmp_path.iterdir()) == []


def test_without_pynwb_the_error_says_what_to_install(tmp_path, monkeypatch):
    monkeypatch.setitem(sys.modules, "pynwb", None)  # import pynwb raises ImportError
    with pytest.raises(NwbExportError, match=r"needs pynwb.*pip install ahp-toolkit\[nwb\]"):
        write_nwb(tmp_path / "x.nwb", _result(), TINY, LifAhpParams())


@requires_pynwb
def test_a_failed_write_leaves_the_old_file(tmp_path, monkeypatch):
    import pynwb

    path = tmp_path / "cell.nwb"
    write_nwb(path, _result(), TINY, LifAhpParams(), identifier="first")
    before = path.read_bytes()

    def broken(self, *args, **kwargs):
        raise OSError("disk full")

    monkeypatch.setattr(pynwb.NWBHDF5IO, "write", broken)
    with pytest.raises(OSError, match="disk full"):
        write_nwb(path, _result(), TINY, LifAhpParams(), identifier="second")
    assert path.read_bytes() == before
    assert [item.name for item in tmp_path.iterdir()] == ["cell.nwb"]
