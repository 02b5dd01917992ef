"""Allen NWB 1.x long squares: layout, step window, spike features, damaged files."""

from __future__ import annotations

import h5py
import numpy as np
import pytest
from brian2 import second

from analysis.sweep_features import sweep_features
from fitting.nwb import NwbError, long_square_sweeps, read_nwb_folder
from fitting.targets import SWEEP_COLUMNS
from tests.fitting.nwb_files import ADAPTING_S, RATE_HZ, STEP_S, write_sweep


@pytest.fixture
def nwb_file(tmp_path):
    path = tmp_path / "specimen_123" / "ephys.nwb"
    path.parent.mkdir()
    with h5py.File(path, "w") as file:
        write_sweep(file, 5, "Long Square", 110.0, np.array([]))
        write_sweep(file, 7, "Long Square", 190.0, ADAPTING_S, conversion=1e-12)
        write_sweep(file, 9, "Short Square", 900.0, np.array([0.5]))  # not a long square
        write_sweep(file, 11, "Long Square", 150.0, ADAPTING_S[:2])
    return path


def test_long_squares_are_read_with_their_step_window_and_allen_spike_features(nwb_file):
    table = long_square_sweeps(nwb_file)
    assert table.sweep.tolist() == [5, 7, 11]  # the short square is not a long square
    np.testing.assert_allclose(table.amplitude_pA, [110.0, 190.0, 150.0], rtol=1e-6)
    # the step, not the test pulse, and times from the sweep's first sample
    np.testing.assert_allclose(table.stimulus_start_s, STEP_S[0], atol=1 / RATE_HZ)
    np.testing.assert_allclose(table.stimulus_end_s, STEP_S[1], atol=1 / RATE_HZ)
    assert table.spike_count.tolist() == [0, len(ADAPTING_S), 2]
    expected = sweep_features(ADAPTING_S * second, STEP_S[0] * second, STEP_S[1] * second)
    row = table.set_index("sweep").loc[7]
    for column in SWEEP_COLUMNS:
        # Allen's threshold sits within a few samples of each transient's start
        assert row[column] == pytest.approx(expected[column], abs=3e-4), column
    assert np.isnan(table.set_index("sweep").loc[11, "adaptation_index"])
    assert table.attrs["skipped"] == {}


def test_a_folder_in_allensdk_cache_layout_gives_one_table_per_specimen(nwb_file):
    tables = read_nwb_folder(nwb_file.parent.parent)
    assert list(tables) == [123]
    assert tables[123].sweep.tolist() == [5, 7, 11]
    with pytest.raises(NwbError, match="no NWB files"):
        read_nwb_folder(nwb_file.parent)


def test_a_truncated_file_is_a_clear_error(nwb_file, tmp_path):
    truncated = tmp_path / "truncated.nwb"
    truncated.write_bytes(nwb_file.read_bytes()[: nwb_file.stat().st_size // 2])
    with pytest.raises(NwbError, match=r"truncated\.nwb: not readable as HDF5.*download it again"):
        long_square_sweeps(truncated)


def test_units_are_checked_against_the_stated_amplitude(tmp_path):
    path = tmp_path / "1.nwb"
    with h5py.File(path, "w") as file:
        write_sweep(file, 3, "Long Square", 0.19, ADAPTING_S, stated=190.0)  # stored in nA
        # early pipeline files: data in A and V, but a wrong 'conversion' (allensdk ignores it)
        write_sweep(file, 5, "Long Square", 190.0, ADAPTING_S)
        for part in ("stimulus", "response"):
            file[f"epochs/Sweep_5/{part}/timeseries/data"].attrs["conversion"] = 1e-12
    table = long_square_sweeps(path)
    assert table.sweep.tolist() == [5]
    assert table.amplitude_pA.iloc[0] == pytest.approx(190.0)
    assert table.spike_count.iloc[0] == len(ADAPTING_S)
    assert table.attrs["skipped"][3] == (
        "the stimulus trace steps by 0.19 pA (data x conversion) or 0.19 pA (data) but "
        "aibs_stimulus_amplitude_pa is 190 pA: the units of this sweep are unclear"
    )


def test_a_response_not_in_volts_is_refused(tmp_path):
    path = tmp_path / "4.nwb"
    with h5py.File(path, "w") as file:
        write_sweep(file, 2, "Long Square", 150.0, ADAPTING_S)
        file["epochs/Sweep_2/response/timeseries/data"].attrs["conversion"] = 1000.0  # mV
    reason = long_square_sweeps(path).attrs["skipped"][2]
    assert reason.startswith("the response before the step sits at -70,")


def test_sweeps_that_cannot_be_used_are_listed_with_their_reason(tmp_path):
    path = tmp_path / "2.nwb"
    with h5py.File(path, "w") as file:
        write_sweep(file, 4, "Long Square", 0.0, np.array([]))  # no step
        write_sweep(file, 8, "Long Square", 150.0, ADAPTING_S)
        file["epochs/Experiment_8/stimulus/count"][()] = int(1.5 * RATE_HZ)  # stops mid-step
        write_sweep(file, 6, "Long Square", 150.0, ADAPTING_S)
        response = file["epochs/Sweep_6/response/timeseries"]
        data = response["data"][: int(1.5 * RATE_HZ)]
        del response["data"]
        response.create_dataset("data", data=data).attrs["conversion"] = 1.0
    table = long_square_sweeps(path)
    assert table.empty
    assert table.attrs["skipped"][4] == "no current step after the test pulse"
    assert "recording ends at 1.5 s, before the step ends at 2.02 s" in table.attrs["skipped"][6]
    assert table.attrs["skipped"][8] == "the recording stops during the step (the step never ends)"


def test_files_without_the_nwb1_layout_are_refused(tmp_path):
    path = tmp_path / "3.nwb"
    with h5py.File(path, "w") as file:
        file.create_group("acquisition")
    with pytest.raises(NwbError, match=r"no 'epochs' group; not an NWB 1\.x file"):
        long_square_sweeps(path)
    with pytest.raises(NwbError, match="no such file"):
        long_square_sweeps(tmp_path / "absent.nwb")
