"""NWB 2 copies of the NWB 1.x test files (`tests.fitting.nwb_files`), written with pynwb.

Each sweep's stored data, ``conversion`` and rate are copied unchanged, as Allen's NWB 1 to
NWB 2 conversion does; the series are named as MIES names them (``data_00005_AD0`` for the
response, ``..._DA0`` for the stimulus) and start at their time in the session.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime

import h5py
import numpy as np

SESSION_START = datetime(2020, 1, 1, tzinfo=UTC)
#: Each sweep starts this long after the previous one in the session (s).
SWEEP_SPACING_S = 10.0


def nwb1_to_nwb2(
    source,
    destination,
    *,
    table: bool = True,
    numbered: bool = True,
    descriptions: dict[int, str] | None = None,
    without_stimulus: tuple[int, ...] = (),
) -> None:
    """Write the sweeps of an NWB 1.x test file as an NWB 2 file.

    Parameters
    ----------
    source, destination : path-like
        The NWB 1.x file and the NWB 2 file to write.
    table : bool
        Pair stimulus and response on rows of the ``intracellular_recordings`` table (NWB 2.4
        and later); otherwise only by their ``sweep_number`` (older files).
    numbered : bool
        Give the series their ``sweep_number``.
    descriptions : dict of int to str, optional
        ``stimulus_description`` of these sweeps (default: the NWB 1 ``aibs_stimulus_name``).
    without_stimulus : tuple of int
        Sweeps written without their stimulus.
    """
    from pynwb import NWBHDF5IO, NWBFile
    from pynwb.icephys import CurrentClampSeries, CurrentClampStimulusSeries

    descriptions = descriptions or {}
    nwbfile = NWBFile(
        session_description="an NWB 1.x test file in NWB 2",
        identifier="nwb1-to-nwb2",
        session_start_time=SESSION_START,
    )
    device = nwbfile.create_device(name="amplifier", description="test amplifier")
    electrode = nwbfile.create_icephys_electrode(
        name="electrode_0", description="whole-cell", device=device
    )
    with h5py.File(source, "r") as old:
        numbers = sorted(
            int(match.group(1))
            for name in old["epochs"]
            if (match := re.fullmatch(r"Sweep_(\d+)", name))
        )
        for order, number in enumerate(numbers):
            name = old[f"stimulus/presentation/Sweep_{number}/aibs_stimulus_name"][()].decode()
            series = {}
            for part, kind, channel in (
                ("stimulus", CurrentClampStimulusSeries, "DA0"),
                ("response", CurrentClampSeries, "AD0"),
            ):
                stored = old[f"epochs/Sweep_{number}/{part}/timeseries"]
                series[part] = kind(
                    name=f"data_{number:05d}_{channel}",
                    data=stored["data"][()],
                    conversion=float(stored["data"].attrs["conversion"]),
                    rate=float(stored["starting_time"].attrs["rate"]),
                    starting_time=SWEEP_SPACING_S * (order + 1),
                    electrode=electrode,
                    gain=1.0,
                    stimulus_description=descriptions.get(number, name),
                    sweep_number=np.uint32(number) if numbered else None,
                )
            if number in without_stimulus:
                nwbfile.add_acquisition(series["response"])
            elif table:
                nwbfile.add_intracellular_recording(
                    electrode=electrode, stimulus=series["stimulus"], response=series["response"]
                )
            else:
                nwbfile.add_acquisition(series["response"])
                nwbfile.add_stimulus(series["stimulus"])
    with NWBHDF5IO(str(destination), "w") as io:
        io.write(nwbfile)
