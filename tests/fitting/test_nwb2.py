"""NWB 2 current-clamp files: the same sweeps as their NWB 1.x originals, and refused damage."""

from __future__ import annotations

import h5py
import numpy as np
import pandas as pd
import pytest

from fitting.nwb import NwbError, long_square_sweeps, read_nwb_folder, read_sweeps
from fitting.nwb2 import stimulus_name
from tests.fitting.nwb2_files import nwb1_to_nwb2
from tests.fitting.nwb_files import ADAPTING_S, RATE_HZ, STEP_S, write_sweep

# the files are written with pynwb (the reader itself needs only h5py)
pytest.importorskip("pynwb", reason="pynwb is not installed (pip install ahp-toolkit[nwb])")

RESPONSE_7 = "acquisition/data_00007_AD0"
TEST_PULSE_END_S = 0.02  # the test files' test pulse: 0.01 to 0.02 s


@pytest.fixture(scope="module")
def nwb1_file(tmp_path_factory):
    """An Allen NWB 1.x cell: long squares at 110 (silent), 190 and 150 pA, a short square."""
    path = tmp_path_factory.mktemp("nwb1") / "ephys.nwb"
    with h5py.File(path, "w") as file:
        write_sweep(file, 5, "Long Square", 110.0, np.array([]))
        # stored in pA and pV: the conversion gives amperes and volts
        write_sweep(file, 7, "Long Square", 190.0, ADAPTING_S, conversion=1e-12)
        write_sweep(file, 9, "Short Square", 900.0, np.array([0.5]))
        write_sweep(file, 11, "Long Square", 150.0, ADAPTING_S[:2])
    return path


def _converted(nwb1_file, tmp_path, name="cell.nwb", **options):
    path = tmp_path / name
    nwb1_to_nwb2(nwb1_file, path, **options)
    return path


@pytest.mark.parametrize("table", [True, False], ids=["icephys-table", "sweep-numbers"])
def test_nwb2_gives_the_nwb1_sweeps_and_features(nwb1_file, tmp_path, table):
    nwb2 = _converted(nwb1_file, tmp_path, table=table)
    old, new = read_sweeps(nwb1_file), read_sweeps(nwb2)
    assert [sweep.number for sweep in new] == [sweep.number for sweep in old] == [5, 7, 11]
    for before, after in zip(old, new, strict=True):
        assert after.stimulus_name == "Long Square"
        # data x conversion, the same floating-point operation on the same stored values
        np.testing.assert_array_equal(after.stimulus_a, before.stimulus_a, strict=True)
        np.testing.assert_array_equal(after.response_v, before.response_v, strict=True)
        assert after.stimulus_rate_hz == after.response_rate_hz == RATE_HZ
        # each series starts at its time in the session; the sweep's own clock starts at 0
        assert after.response_delay_s == 0.0
        # the test pulse (0.01 to 0.02 s) is found in the trace, where NWB 1 has an epoch
        assert after.experiment == (int(TEST_PULSE_END_S * RATE_HZ), after.stimulus_a.size - 1)
    table_1, table_2 = long_square_sweeps(nwb1_file), long_square_sweeps(nwb2)
    pd.testing.assert_frame_equal(table_2, table_1)
    assert table_2.attrs["skipped"] == {}
    np.testing.assert_allclose(table_2.amplitude_pA, [110.0, 190.0, 150.0], rtol=1e-6)
    np.testing.assert_allclose(table_2.stimulus_start_s, STEP_S[0], atol=1 / RATE_HZ)
    assert table_2.spike_count.tolist() == [0, len(ADAPTING_S), 2]


def test_allen_stimulus_codes_of_long_squares_are_long_squares(nwb1_file, tmp_path):
    assert stimulus_name("C1LSCOARSE150216_DA_0") == "Long Square"
    assert stimulus_name("C1LSFINEST150112[2]") == "Long Square"
    assert stimulus_name("X4PS_SupraThresh_DA_0") == "Long Square"
    assert stimulus_name("C1SSCOARSE150112_DA_0") == "C1SSCOARSE150112_DA_0"  # short square
    assert stimulus_name("C1LS") == "C1LS"  # not a code of the ontology
    nwb2 = _converted(
        nwb1_file,
        tmp_path,
        descriptions={5: "C1LSCOARSE150216_DA_0", 7: "C1SSCOARSE150112_DA_0", 9: "N/A"},
    )
    assert long_square_sweeps(nwb2).sweep.tolist() == [5, 11]
    assert [sweep.stimulus_name for sweep in read_sweeps(nwb2, None)] == [
        "Long Square",
        "C1SSCOARSE150112_DA_0",
        "",  # no description: pynwb writes "N/A"
        "Long Square",
    ]


def test_without_sweep_numbers_the_table_rows_number_the_sweeps(nwb1_file, tmp_path):
    nwb2 = _converted(nwb1_file, tmp_path, numbered=False)
    expected = long_square_sweeps(nwb1_file)
    expected["sweep"] = [0, 1, 3]  # rows of the intracellular_recordings table
    pd.testing.assert_frame_equal(long_square_sweeps(nwb2), expected)
    unpaired = _converted(nwb1_file, tmp_path, "unpaired.nwb", numbered=False, table=False)
    with pytest.raises(NwbError, match=r"data_00005_AD0: no sweep_number attribute and no row"):
        long_square_sweeps(unpaired)


def test_a_long_square_without_its_stimulus_is_refused(nwb1_file, tmp_path):
    nwb2 = _converted(nwb1_file, tmp_path, without_stimulus=(7,))
    with pytest.raises(
        NwbError,
        match=r"cell\.nwb: /acquisition/data_00007_AD0 \(sweep 7, 'Long Square'\): no "
        r"CurrentClampStimulusSeries in stimulus/presentation with sweep_number 7",
    ):
        long_square_sweeps(nwb2)
    # a sweep that is not read (a short square) may lack it
    other = _converted(nwb1_file, tmp_path, "other.nwb", without_stimulus=(9,))
    assert long_square_sweeps(other).sweep.tolist() == [5, 7, 11]


@pytest.mark.parametrize(
    ("dataset", "unit", "message"),
    [
        (
            f"{RESPONSE_7}/data",
            "mV",
            r"/acquisition/data_00007_AD0/data: unit 'mV'; allowed: 'volts'",
        ),
        (
            "stimulus/presentation/data_00007_DA0/data",
            "pA",
            r"DA0/data: unit 'pA'; allowed: 'amperes'",
        ),
    ],
)
def test_wrong_units_are_refused(nwb1_file, tmp_path, dataset, unit, message):
    nwb2 = _converted(nwb1_file, tmp_path)
    with h5py.File(nwb2, "r+") as file:
        file[dataset].attrs["unit"] = unit
    with pytest.raises(NwbError, match=message):
        long_square_sweeps(nwb2)


def test_non_finite_samples_are_refused_and_a_nan_tail_ends_the_recording(nwb1_file, tmp_path):
    nwb2 = _converted(nwb1_file, tmp_path)
    inside = int(1.5 * RATE_HZ)
    with h5py.File(nwb2, "r+") as file:
        file[f"{RESPONSE_7}/data"][inside] = np.inf
    with pytest.raises(NwbError, match=rf"AD0/data: sample {inside} is inf within the recording"):
        long_square_sweeps(nwb2)
    with h5py.File(nwb2, "r+") as file:
        file[f"{RESPONSE_7}/data"][inside:] = np.nan  # the recording stopped at 1.5 s
    table = long_square_sweeps(nwb2)
    assert table.sweep.tolist() == [5, 11]
    assert table.attrs["skipped"][7] == (
        "the recording ends at 1.5 s, before the step ends at 2.02 s"
    )
    with h5py.File(nwb2, "r+") as file:
        file["stimulus/presentation/data_00011_DA0/data"][100] = np.nan
    with pytest.raises(NwbError, match=r"data_00011_DA0/data: sample 100 is nan"):
        long_square_sweeps(nwb2)


def test_two_responses_of_one_sweep_are_refused(nwb1_file, tmp_path):
    nwb2 = _converted(nwb1_file, tmp_path, table=False)
    with h5py.File(nwb2, "r+") as file:
        file.copy(file[RESPONSE_7], "acquisition/data_00007_AD1")  # a second cell, same sweep
    with pytest.raises(NwbError, match=r"sweep 7 has two current-clamp responses"):
        long_square_sweeps(nwb2)


def test_stimuli_pair_with_responses_by_sweep_number_and_electrode(nwb1_file, tmp_path):
    nwb2 = _converted(nwb1_file, tmp_path, table=False)
    expected = long_square_sweeps(nwb2)
    stimulus = "stimulus/presentation/data_00007_DA0"
    with h5py.File(nwb2, "r+") as file:
        file.copy(file[stimulus], f"{stimulus[:-1]}1")  # the same sweep on a second electrode
    with pytest.raises(NwbError, match=r"sweep 7 of /acquisition/data_00007_AD0 has 2 stimuli"):
        long_square_sweeps(nwb2)
    with h5py.File(nwb2, "r+") as file:
        electrodes = file["general/intracellular_ephys"]
        electrodes.copy(electrodes["electrode_0"], "electrode_1")
        del file[f"{stimulus[:-1]}1/electrode"]
        file[f"{stimulus[:-1]}1/electrode"] = h5py.SoftLink(f"{electrodes.name}/electrode_1")
    pd.testing.assert_frame_equal(long_square_sweeps(nwb2), expected)


def test_the_version_decides_the_layout(nwb1_file, tmp_path):
    folder = tmp_path / "cells"
    folder.mkdir()
    nwb1_to_nwb2(nwb1_file, folder / "123.nwb")
    (folder / "specimen_456").mkdir()
    (folder / "specimen_456" / "ephys.nwb").write_bytes(nwb1_file.read_bytes())
    tables = read_nwb_folder(folder)
    pd.testing.assert_frame_equal(tables[123], tables[456])
    with h5py.File(folder / "123.nwb", "r+") as file:
        file.attrs["nwb_version"] = "3.0.0"
    with pytest.raises(NwbError, match=r"123\.nwb: root attribute nwb_version = '3\.0\.0'"):
        long_square_sweeps(folder / "123.nwb")
    # an NWB 2 file with no current clamp has no long square (not the NWB 1 layout error)
    empty = tmp_path / "empty.nwb"
    with h5py.File(empty, "w") as file:
        file.attrs["nwb_version"] = "2.8.0"
    assert long_square_sweeps(empty).empty


def test_the_sweep_time_counts_from_the_stimulus_start(nwb1_file, tmp_path):
    nwb2 = _converted(nwb1_file, tmp_path)
    delay_s = 0.25
    with h5py.File(nwb2, "r+") as file:
        start = file[f"{RESPONSE_7}/starting_time"]
        start[()] = start[()] + delay_s  # the response starts 0.25 s after its stimulus
    sweep = {sweep.number: sweep for sweep in read_sweeps(nwb2)}[7]
    assert sweep.response_delay_s == pytest.approx(delay_s, abs=1e-12)
    assert sweep.response_time_s()[0] == sweep.response_delay_s
    row = long_square_sweeps(nwb2).set_index("sweep").loc[7]
    nwb1_row = long_square_sweeps(nwb1_file).set_index("sweep").loc[7]
    assert row.stimulus_start_s == nwb1_row.stimulus_start_s  # the step is the stimulus's
    # the spikes are found 0.25 s later on the sweep's clock: the latency grows by that much
    assert row.latency_s == pytest.approx(nwb1_row.latency_s + delay_s, abs=2 / RATE_HZ)
