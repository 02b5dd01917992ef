"""Long-square sweeps of NWB files (Allen's NWB 1.x and NWB 2), as per-sweep fitting targets.

The file's version decides the layout: an NWB 2 file has the root attribute ``nwb_version``
"2.x" and is read by `fitting.nwb2`; any other file is read in Allen's NWB 1.x layout, the one
allensdk's ``core/nwb_data_set.py`` reads:

- ``epochs/Sweep_N/{stimulus,response}/timeseries``: the whole sweep, ``data`` (times its
  ``conversion`` attribute gives amperes and volts) sampled at
  ``starting_time.attrs['rate']`` Hz; times are counted from the sweep's first sample;
- ``epochs/Experiment_N/stimulus/idx_start`` and ``count``: the part after the test pulse (the
  whole sweep where absent);
- ``stimulus/presentation/Sweep_N/aibs_stimulus_name`` (``"Long Square"``) and
  ``aibs_stimulus_amplitude_pa``.

Both give the same `fitting.recorded_sweep.RecordedSweep` per sweep, so a cell is fitted the
same way from either: each long square's step window and amplitude are read from its stimulus
trace (the step is the first to the last change of the stimulus after the test pulse), spikes
are found with Allen's detector (`analysis.spike_detection`) and summarised with Allen's sweep
definitions (`analysis.sweep_features`). A sweep that cannot be used (no step, recording shorter
than the step, amplitude disagreeing with the file's metadata in every reading of its units, a
response that is not in volts) is listed with its reason in the table's ``attrs["skipped"]``,
never dropped silently; a file that is not readable HDF5 (a truncated download) raises
`NwbError`. The cell's passive properties, measured on its usable long squares with Allen's
definitions (`analysis.subthreshold`), are the table's ``attrs["passive"]``.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterable, Iterator
from pathlib import Path

import h5py
import numpy as np
import pandas as pd

from analysis.subthreshold import (
    baseline_voltage_mv,
    is_membrane_sweep,
    passive_properties,
    step_amplitude_pa,
)
from fitting.nwb2 import nwb2_sweeps
from fitting.nwb_common import NwbError, open_nwb, text
from fitting.recorded_sweep import (
    AMPLITUDE_TOLERANCE_PA,
    LONG_SQUARE,
    ROW_COLUMNS,
    RecordedSweep,
    SweepSkipped,
    long_square_row_and_trace,
)

__all__ = [
    "AMPLITUDE_TOLERANCE_PA",
    "LONG_SQUARE",
    "NwbError",
    "RecordedSweep",
    "long_square_sweeps",
    "read_nwb_folder",
    "read_sweeps",
]

_SWEEP_NAME = re.compile(r"Sweep_(\d+)$")


def _raw(series: h5py.Group, where: str) -> tuple[np.ndarray, float]:
    """The stored data and its ``conversion`` attribute (data x conversion = SI units)."""
    if "data" not in series:
        raise NwbError(f"{where}: no 'data' dataset")
    data = series["data"]
    return np.asarray(data[()], dtype=float), float(data.attrs.get("conversion", 1.0))


def _nwb1_sweep(file: h5py.File, number: int, name: str, path: Path) -> RecordedSweep:
    where = f"{path}: epochs/Sweep_{number}"
    epoch = file["epochs"][f"Sweep_{number}"]
    for part in ("stimulus", "response"):
        if f"{part}/timeseries" not in epoch:
            raise NwbError(f"{where}: no {part}/timeseries")
    series = epoch["stimulus/timeseries"]
    rate_hz = float(series["starting_time"].attrs["rate"])
    if not rate_hz > 0:
        raise NwbError(f"{where}: sampling rate {rate_hz!r} Hz; must be > 0")
    stimulus_raw, stimulus_conversion = _raw(series, f"{where}/stimulus")
    response_raw, response_conversion = _raw(epoch["response/timeseries"], f"{where}/response")
    experiment = file["epochs"].get(f"Experiment_{number}")
    window = None
    if experiment is not None:
        first = int(experiment["stimulus/idx_start"][()])
        window = (first, first + int(experiment["stimulus/count"][()]) - 1)
    return RecordedSweep(
        number=number,
        stimulus_name=name,
        stimulus_a=stimulus_raw * stimulus_conversion,
        response_v=response_raw * response_conversion,
        # Allen's sweeps sample stimulus and response together at the stimulus's rate
        stimulus_rate_hz=rate_hz,
        response_rate_hz=rate_hz,
        experiment=window,
        stated_amplitude_pa=_stated_amplitude(file, number),
        stored=(stimulus_raw, response_raw),
    )


def _stated_amplitude(file: h5py.File, number: int) -> float | None:
    presentation = file.get(f"stimulus/presentation/Sweep_{number}")
    if presentation is None or "aibs_stimulus_amplitude_pa" not in presentation:
        return None
    return float(presentation["aibs_stimulus_amplitude_pa"][()])


def _stimulus_name(file: h5py.File, number: int) -> str | None:
    presentation = file.get(f"stimulus/presentation/Sweep_{number}")
    if presentation is None or "aibs_stimulus_name" not in presentation:
        return None
    return text(presentation["aibs_stimulus_name"])


def _nwb1_sweeps(file: h5py.File, path: Path, stimulus_name: str | None) -> Iterator[RecordedSweep]:
    if "epochs" not in file:
        raise NwbError(
            f"{path}: no 'epochs' group; not an NWB 1.x file as the Allen Cell Types "
            "Database serves them, nor an NWB 2 file (root attribute nwb_version '2.x')"
        )
    numbers = sorted(
        int(match.group(1)) for name in file["epochs"] if (match := _SWEEP_NAME.match(name))
    )
    for number in numbers:
        name = _stimulus_name(file, number)
        if stimulus_name is not None and name != stimulus_name:
            continue
        try:
            sweep = _nwb1_sweep(file, number, name or "", path)
        except (OSError, KeyError) as err:
            raise NwbError(
                f"{path}: epochs/Sweep_{number} cannot be read ({err}); the file is "
                "truncated or damaged: delete it and download it again"
            ) from None
        yield sweep


def _major_version(file: h5py.File, path: Path) -> int:
    """2 for NWB 2 (root attribute ``nwb_version`` "2.x"), 1 otherwise (NWB 1.x keeps its
    version in a root dataset, and Allen's files are read by their layout)."""
    if "nwb_version" not in file.attrs:
        return 1
    version = text(file.attrs["nwb_version"])
    if not version.startswith("2."):
        raise NwbError(
            f"{path}: root attribute nwb_version = {version!r}; allowed: NWB 2.x files "
            "(or NWB 1.x files, which keep their version in a dataset)"
        )
    return 2


def _sweeps(file: h5py.File, path: Path, stimulus_name: str | None) -> Iterator[RecordedSweep]:
    if _major_version(file, path) == 2:
        return nwb2_sweeps(file, path, stimulus_name)
    return _nwb1_sweeps(file, path, stimulus_name)


def read_sweeps(
    path: str | os.PathLike, stimulus_name: str | None = LONG_SQUARE
) -> list[RecordedSweep]:
    """The current-clamp sweeps of an NWB file (NWB 1.x or NWB 2), in sweep order.

    Parameters
    ----------
    path : str or os.PathLike
        An Allen NWB 1.x ``ephys.nwb`` file or an NWB 2 file (the version is read from it).
    stimulus_name : str or None
        Only the sweeps of this stimulus (default Allen's long squares; NWB 2 stimulus codes of
        Allen's long squares count as ``"Long Square"``); None for every sweep.

    Returns
    -------
    list of RecordedSweep
        Stimulus and response of each sweep, in SI units.

    Raises
    ------
    NwbError
        The file is missing, truncated, not HDF5, or not in either layout; an NWB 2 sweep lacks
        its stimulus, has wrong units or non-finite samples.
    """
    path = Path(path)
    with open_nwb(path) as file:
        return list(_sweeps(file, path, stimulus_name))


def long_square_sweeps(path: str | os.PathLike) -> pd.DataFrame:
    """Per-sweep spike features of every long square in an NWB 1.x or NWB 2 file.

    Parameters
    ----------
    path : str or os.PathLike
        An Allen NWB 1.x ``ephys.nwb`` file or an NWB 2 file (the version is read from it).

    Returns
    -------
    pandas.DataFrame
        One row per usable long-square sweep, in sweep order: ``sweep``, ``amplitude_pA``,
        ``stimulus_start_s``, ``stimulus_end_s`` (from the sweep's first sample),
        ``spike_count`` and the optional fitting columns of `fitting.targets.SWEEP_COLUMNS`.
        ``attrs["skipped"]`` maps each long square left out to the reason;
        ``attrs["passive"]`` is the cell's `analysis.subthreshold.PassiveProperties`, measured
        on the usable long squares.

    Raises
    ------
    NwbError
        The file is missing, truncated, not HDF5, or lacks the NWB 1.x sweep layout and is not
        an NWB 2 file; an NWB 2 long square lacks its stimulus, has wrong units or non-finite
        samples.
    """
    path = Path(path)
    rows, skipped, baselines_mv, membrane_sweeps = [], {}, [], []
    with open_nwb(path) as file:
        # one sweep in memory at a time (a cell's file holds hundreds of MB of traces); only
        # the few hyperpolarizing ones are kept, around their step, for ri and tau
        for sweep in _sweeps(file, path, LONG_SQUARE):
            try:
                row, trace = long_square_row_and_trace(sweep)
            except SweepSkipped as reason:
                skipped[sweep.number] = str(reason)
                continue
            rows.append(row)
            baselines_mv.append(baseline_voltage_mv(trace.t_s, trace.v_mv, trace.start_s))
            amplitude_pa = step_amplitude_pa(trace.t_s, trace.i_pa, trace.start_s)
            if is_membrane_sweep(amplitude_pa, row["spike_count"]):
                membrane_sweeps.append(trace)
    table = pd.DataFrame(rows, columns=list(ROW_COLUMNS))
    table.attrs["skipped"] = skipped
    table.attrs["passive"] = passive_properties(baselines_mv, membrane_sweeps)
    return table


def read_nwb_folder(
    folder: str | os.PathLike, specimens: Iterable[int] | None = None
) -> dict[int, pd.DataFrame]:
    """Long-square tables of every cell in a folder of NWB files.

    Files are found in allensdk's cache layout, ``specimen_<id>/ephys.nwb``, or named
    ``<id>.nwb``.

    Parameters
    ----------
    folder : str or os.PathLike
        The folder.
    specimens : iterable of int, optional
        Read only these cells' files (default: every file found).

    Returns
    -------
    dict of int to pandas.DataFrame
        Specimen id -> `long_square_sweeps` table.

    Raises
    ------
    NwbError
        The folder holds no such file, or one of them cannot be read.
    """
    folder = Path(folder)
    found: dict[int, Path] = {}
    for nwb in sorted(folder.glob("specimen_*/ephys.nwb")):
        suffix = nwb.parent.name.removeprefix("specimen_")
        if suffix.isdigit():
            found[int(suffix)] = nwb
    for nwb in sorted(folder.glob("*.nwb")):
        if nwb.stem.isdigit():
            found.setdefault(int(nwb.stem), nwb)
    if not found:
        raise NwbError(
            f"{folder}: no NWB files; expected specimen_<id>/ephys.nwb (allensdk's cache "
            "layout, what `ahp fetch` writes) or <id>.nwb"
        )
    if specimens is not None:
        wanted = {int(s) for s in specimens}
        found = {s: nwb for s, nwb in found.items() if s in wanted}
    return {specimen: long_square_sweeps(nwb) for specimen, nwb in sorted(found.items())}
