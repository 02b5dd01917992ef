"""A simulation as an NWB 2 file: current-clamp sweeps, spikes and the model's state variables.

Each recorded neuron is one sweep (its sweep number is the neuron's index), laid out as an
intracellular recording is:

- ``acquisition/sweep_NNNN``: a ``CurrentClampSeries`` of the membrane potential ``v`` (volts,
  float64, ``conversion`` 1: the simulated values bit for bit);
- ``stimulus/presentation/sweep_NNNN_stimulus``: its ``CurrentClampStimulusSeries``, the current
  injected during the run at the stimulus's own sampling step (amperes, float64);
- both with ``sweep_number`` and ``stimulus_description`` (Allen's names: "Long Square"...), an
  ``IntracellularElectrode`` per neuron on a ``Device`` that says it is a simulation, and a row in
  the icephys tables (intracellular, simultaneous and sequential recordings; the sweep table is
  deprecated since NWB 2.4);
- ``units``: every neuron's spike times (id = neuron index);
- ``processing/ahp_model``: the other recorded variables (AHP currents, conductances...) as
  ``TimeSeries`` in SI units, one per variable and sweep;
- ``notes``: the model, its options and parameters, the stimulus and the run, as JSON.

Writing needs pynwb, the toolkit's ``nwb`` extra; reading these files back does not
(`fitting.nwb2`). The file is written atomically.
"""

from __future__ import annotations

import json
import os
import uuid
import warnings
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np
from brian2 import second

from ahp_models.catalogue import model_for_params
from ahp_models.errors import UserError
from ahp_models.files import atomic_path
from ahp_models.model import NeuronModel, brian_unit_text
from ahp_models.parameters import ParameterSet
from ahp_models.results import SimulationResult
from ahp_models.stimuli import Stimulus

__all__ = [
    "MEMBRANE_POTENTIAL",
    "STIMULUS_NAMES",
    "NwbExportError",
    "check_nwb_output",
    "write_nwb",
]

#: The recorded variable written as the current-clamp response.
MEMBRANE_POTENTIAL = "v"
#: NWB ``stimulus_description`` of each protocol: Allen's stimulus names where Allen has one.
STIMULUS_NAMES = {
    "long_square": "Long Square",
    "short_square": "Short Square",
    "ramp": "Ramp",
    "noise": "Noise",
}
#: NWB's spelling of SI units (its schema fixes "volts" and "amperes" for patch-clamp series).
_NWB_UNITS = {"volt": "volts", "amp": "amperes", "siemens": "siemens", "1": "dimensionless"}
PROCESSING_MODULE = "ahp_model"


class NwbExportError(UserError):
    """A simulation that cannot be written as NWB 2 as asked (or pynwb is missing)."""


def _pynwb():
    try:
        import pynwb
    except ImportError:
        raise NwbExportError(
            "writing NWB 2 files needs pynwb, which is not installed: pip install ahp-toolkit[nwb]"
        ) from None
    return pynwb


def check_nwb_output(model: NeuronModel, record: Sequence[str]) -> None:
    """Refuse, before a simulation runs, an NWB 2 output it could not write.

    Parameters
    ----------
    model : NeuronModel
        The model to be simulated; its ``v`` must be a membrane potential in volts.
    record : sequence of str
        The variables the simulation will record; the sweeps need ``v``.

    Raises
    ------
    NwbExportError
        Without ``v`` recorded, for a model whose ``v`` is not a voltage, or without pynwb.
    """
    unit_name = model.recordable()[MEMBRANE_POTENTIAL].unit_name
    if brian_unit_text(unit_name) != "volt":
        raise NwbExportError(
            f"{MEMBRANE_POTENTIAL!r} of model {model.name!r} is in {unit_name!r}, not a "
            "membrane potential in volts; allowed: models with a voltage (not the Loihi form)"
        )
    if MEMBRANE_POTENTIAL not in record:
        raise NwbExportError(
            f"NWB 2 sweeps need {MEMBRANE_POTENTIAL!r} recorded (recording: {list(record)}); "
            f"allowed: record {MEMBRANE_POTENTIAL!r} too"
        )
    _pynwb()


def _sampling(result: SimulationResult) -> tuple[float, float]:
    """(first sample s, rate Hz) of the traces; NWB series here are regularly sampled."""
    t_s = result.trace_time_s
    if t_s.size < 2:
        raise NwbExportError(
            f"the traces have {t_s.size} sample(s); allowed: at least 2 (a recording with a "
            "sampling rate)"
        )
    interval_s = (t_s[-1] - t_s[0]) / (t_s.size - 1)
    if np.max(np.abs(t_s - (t_s[0] + interval_s * np.arange(t_s.size)))) > 1e-9 * interval_s:
        raise NwbExportError(
            "the traces are not sampled at a regular interval; allowed: traces recorded every "
            "record_dt, as simulate() records them"
        )
    return float(t_s[0]), 1.0 / interval_s


def _injected_current_a(stimulus: Stimulus, neuron: int, duration_s: float) -> np.ndarray:
    """The current injected into ``neuron`` (A) at each stimulus sample of the simulated time
    (a run may be shorter than its stimulus, never longer)."""
    dt_s = float(stimulus.dt / second)
    n_samples = min(stimulus.n_samples, max(1, int(np.ceil(duration_s / dt_s - 1e-9))))
    return np.asarray(stimulus.current(neuron), dtype=float)[:n_samples]


def _nwb_unit(unit_name: str) -> str:
    """NWB's text of the SI unit of a display unit (traces are kept in SI)."""
    si_text = brian_unit_text(unit_name)
    return _NWB_UNITS.get(si_text, si_text)


def _notes(
    result: SimulationResult, stimulus: Stimulus, params: ParameterSet, model: NeuronModel
) -> str:
    from ahp_models import __version__

    info = {key: str(value) for key, value in stimulus.info.items() if value is not None}
    record: dict[str, Any] = {
        "model": model.name,
        "model_title": model.title,
        "options": model.options,
        "parameters": params.to_dict()["parameters"],
        "protocol": stimulus.protocol,
        "stimulus": info,
        "backend": result.backend,
        "dt_s": result.dt_s,
        "duration_s": result.duration_s,
        "n_neurons": result.n_neurons,
        "ahp_toolkit_version": __version__,
    }
    if stimulus.protocol.endswith("square"):  # other protocols scale a waveform in amperes
        record["amplitudes_pA"] = (stimulus.amplitudes_si(result.n_neurons) * 1e12).tolist()
    return json.dumps(record, indent=2)


def _check(result: SimulationResult, stimulus: Stimulus, params: ParameterSet) -> None:
    if params.model_name != result.model_name:
        raise NwbExportError(
            f"params are of model {params.model_name!r} but the simulation ran "
            f"{result.model_name!r}; give the parameters it ran with"
        )
    if MEMBRANE_POTENTIAL not in result.traces_si:
        raise NwbExportError(
            f"the simulation did not record {MEMBRANE_POTENTIAL!r} (recorded: "
            f"{sorted(result.traces_si)}); record it to write current-clamp sweeps"
        )
    unit_name = result.trace_units[MEMBRANE_POTENTIAL]
    if brian_unit_text(unit_name) != "volt":
        raise NwbExportError(
            f"{MEMBRANE_POTENTIAL!r} of model {result.model_name!r} is in {unit_name!r}, not a "
            "membrane potential in volts; allowed: models with a voltage (not the Loihi form)"
        )
    stimulus.amplitudes_si(result.n_neurons)  # refuses a stimulus for another population


def write_nwb(
    path: str | os.PathLike,
    result: SimulationResult,
    stimulus: Stimulus,
    params: ParameterSet,
    *,
    session_start_time: datetime | None = None,
    identifier: str | None = None,
) -> Path:
    """Write a simulation to an NWB 2 file (atomically).

    Parameters
    ----------
    path : str or os.PathLike
        The ``.nwb`` file to write (replaced if it exists).
    result : SimulationResult
        A simulation that recorded ``v`` (the sweeps are the recorded neurons).
    stimulus : Stimulus
        The stimulus it ran with.
    params : ParameterSet
        The parameters it ran with (written to the file's notes).
    session_start_time : datetime.datetime, optional
        The session's start, with a time zone (default: now, UTC).
    identifier : str, optional
        The file's unique identifier (default: a random UUID).

    Returns
    -------
    pathlib.Path
        The file written.

    Raises
    ------
    NwbExportError
        pynwb is not installed, ``v`` was not recorded or is not a voltage, the traces are not
        regularly sampled, or the parameters are of another model.
    """
    _check(result, stimulus, params)
    first_s, rate_hz = _sampling(result)
    pynwb = _pynwb()
    from pynwb.icephys import CurrentClampSeries, CurrentClampStimulusSeries
    from pynwb.misc import Units

    model = model_for_params(params)
    description = STIMULUS_NAMES.get(stimulus.protocol, stimulus.protocol)
    nwbfile = pynwb.NWBFile(
        session_description=(
            f"Simulation of {model.title} ({model.name}): {result.n_neurons} neuron(s), "
            f"{stimulus.protocol} stimulus, Brian2 {result.backend} backend"
        ),
        identifier=identifier or str(uuid.uuid4()),
        session_start_time=session_start_time or datetime.now(UTC),
        notes=_notes(result, stimulus, params, model),
        source_script="ahp-toolkit (ahp_models.nwb_export)",
        source_script_file_name="ahp_models/nwb_export.py",
    )
    device = nwbfile.create_device(
        name="simulator",
        description=(
            f"ahp-toolkit's numerical simulation of model {model.name} in Brian2 "
            f"({result.backend} backend, dt = {result.dt_s:g} s): no recording hardware, the "
            "current is injected exactly"
        ),
    )
    recorded = dict(model.recordable())
    module = None
    if len(result.traces_si) > 1:
        module = nwbfile.create_processing_module(
            name=PROCESSING_MODULE,
            description=f"state variables of the simulated {model.name} neurons, one per sweep",
        )
    simultaneous = []
    for row, neuron in enumerate(np.asarray(result.recorded_neurons, dtype=int)):
        number = int(neuron)
        electrode = nwbfile.create_icephys_electrode(
            name=f"neuron_{number:04d}",
            description=f"simulated {model.name} neuron {number} (an ideal current clamp)",
            device=device,
            cell_id=f"neuron_{number}",
        )
        stimulus_series = CurrentClampStimulusSeries(
            name=f"sweep_{number:04d}_stimulus",
            data=_injected_current_a(stimulus, number, result.duration_s),
            electrode=electrode,
            starting_time=0.0,
            rate=1.0 / float(stimulus.dt / second),
            gain=1.0,
            stimulus_description=description,
            sweep_number=np.uint32(number),
            description=f"current injected into neuron {number}",
        )
        response = CurrentClampSeries(
            name=f"sweep_{number:04d}",
            data=np.asarray(result.traces_si[MEMBRANE_POTENTIAL][row], dtype=float),
            electrode=electrode,
            starting_time=first_s,
            rate=rate_hz,
            gain=1.0,
            stimulus_description=description,
            sweep_number=np.uint32(number),
            description=f"membrane potential of simulated neuron {number}",
        )
        recording = nwbfile.add_intracellular_recording(
            electrode=electrode, stimulus=stimulus_series, response=response
        )
        simultaneous.append(nwbfile.add_icephys_simultaneous_recording(recordings=[recording]))
        for name, values in result.traces_si.items():
            if name == MEMBRANE_POTENTIAL:
                continue
            unit = _nwb_unit(result.trace_units[name])
            meaning = recorded[name].description if name in recorded else name
            module.add(
                pynwb.TimeSeries(
                    name=f"{name}_sweep_{number:04d}",
                    data=np.asarray(values[row], dtype=float),
                    unit=unit,
                    starting_time=first_s,
                    rate=rate_hz,
                    description=f"{name} of neuron {number}: {meaning}",
                )
            )
    if simultaneous:
        nwbfile.add_icephys_sequential_recording(
            simultaneous_recordings=simultaneous, stimulus_type=description
        )
    nwbfile.units = Units(
        name="units",
        description=(
            "spike times of the simulated neurons (id = neuron index = sweep number), each at "
            "the start of the time step whose update crossed threshold"
        ),
    )
    for neuron, train_s in enumerate(result.spike_trains()):
        nwbfile.add_unit(
            id=neuron,
            spike_times=np.asarray(train_s / second, dtype=float),
            obs_intervals=[[0.0, result.duration_s]],
        )
    destination = Path(path)
    with atomic_path(destination) as temporary, warnings.catch_warnings():
        # the temporary file's name ends in .tmp until it is moved onto ``path``
        warnings.filterwarnings("ignore", message=".*does not end in '.nwb'", category=UserWarning)
        with pynwb.NWBHDF5IO(str(temporary), "w") as io:
            io.write(nwbfile)
    return destination
