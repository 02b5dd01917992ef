"""The passive properties an NWB cell's recordings give (`fitting.nwb`, `analysis.subthreshold`)
are ipfx's on the same sweeps, and `fitting.sweep_cells` takes them unless --passive lists the
cell."""

from __future__ import annotations

import sys

import numpy as np
import pandas as pd
import pytest

from analysis.subthreshold import PassiveProperties
from fitting.nwb import long_square_sweeps, read_sweeps
from fitting.recorded_sweep import long_square_row
from fitting.sweep_cells import cells_from_sweeps
from fitting.targets import CellTargets, UnfittableCell
from tests.conftest import ROOT
from tests.fitting.nwb_files import passive_cell, silent_then_adapting_cell

REFERENCE = ROOT / ".cache" / "reference"
ALLEN_DATA = ROOT.parent / "shared" / "data" / "allen"


@pytest.fixture(scope="module")
def ipfx():
    if not (REFERENCE / "ipfx" / "SOURCE.txt").is_file():
        pytest.skip(f"ipfx reference code not found in {REFERENCE}; `make test` fetches it")
    sys.path.insert(0, str(REFERENCE))
    import ipfx.stimulus_protocol_analysis

    return ipfx


def ipfx_passive(path) -> dict[str, float]:
    """ipfx's LongSquareAnalysis (Allen's settings) on every usable long square of a file,
    read in full: v_baseline (mV), input_resistance (MOhm), tau (ms)."""
    from ipfx.feature_extractor import SpikeFeatureExtractor, SpikeTrainFeatureExtractor
    from ipfx.stimulus_protocol_analysis import LongSquareAnalysis
    from ipfx.sweep import Sweep, SweepSet

    sweeps, window = [], set()
    for sweep in read_sweeps(path):
        row = long_square_row(sweep)
        window.add((row["stimulus_start_s"], row["stimulus_end_s"]))
        t_s = sweep.response_time_s()
        sweeps.append(
            Sweep(t_s, sweep.response_v * 1e3, sweep.stimulus_a * 1e12, "CurrentClamp", 1.0)
        )
    ((start_s, end_s),) = window  # one step window, as ipfx requires
    analysis = LongSquareAnalysis(
        SpikeFeatureExtractor(start=start_s, end=end_s),
        SpikeTrainFeatureExtractor(start=start_s, end=end_s),
        subthresh_min_amp=-100.0,
    )
    # LongSquareAnalysis.analyze without its spiking part (an f-I slope needs two spiking
    # sweeps; this cell has one)
    sweep_set = SweepSet(sweeps)
    extra = ["peak_deflect", "stim_amp", "v_baseline", "sag"]
    analysis.analyze_basic_features(sweep_set, extra_sweep_features=extra)
    features = analysis.analyze_subthreshold(sweep_set)
    return {
        "vrest": np.nanmean(analysis.all_sweep_features()["v_baseline"].to_numpy()),
        "ri": features["input_resistance"],
        "tau": features["tau"] * 1e3,
    }


def assert_ipfx_values(passive: PassiveProperties, expected: dict[str, float]):
    assert passive.vrest_mv == pytest.approx(expected["vrest"], rel=1e-12)
    assert passive.ri_mohm == pytest.approx(expected["ri"], rel=1e-12)
    assert passive.tau_ms == pytest.approx(expected["tau"], rel=1e-9)


# ipfx's sag of a sweep without deflection (the silent 110 pA one) divides 0 by 0
@pytest.mark.filterwarnings("ignore:invalid value encountered in scalar divide")
def test_a_file_s_passive_properties_are_ipfx_s_and_the_membrane_s(ipfx, tmp_path):
    path = tmp_path / "cell.nwb"
    passive_cell(path, r_mohm=150.0, tau_ms=20.0)
    table = long_square_sweeps(path)
    passive = table.attrs["passive"]
    assert passive.n_sweeps == 5 and passive.reason == ""  # -90 to -10 pA
    assert_ipfx_values(passive, ipfx_passive(path))
    # the traces are stored as float32 volts: the RC membrane's values to that precision
    assert passive.vrest_mv == pytest.approx(-70.0, abs=1e-5)
    assert passive.ri_mohm == pytest.approx(150.0, rel=1e-5)
    assert passive.tau_ms == pytest.approx(20.0, rel=1e-4)


def test_without_hyperpolarizing_sweeps_ri_and_tau_are_missing_with_the_reason(tmp_path):
    path = tmp_path / "cell.nwb"
    silent_then_adapting_cell(path)
    passive = long_square_sweeps(path).attrs["passive"]
    assert passive.vrest_mv == pytest.approx(-70.0, abs=1e-5)
    assert np.isnan(passive.ri_mohm) and np.isnan(passive.tau_ms)
    cells = cells_from_sweeps({3: long_square_sweeps(path)})
    row = cells.iloc[0]
    assert row.passive_source == "none" and "no silent long square" in row.passive_reason
    with pytest.raises(UnfittableCell, match="its recordings give none: no silent long square"):
        CellTargets.from_row(row, long_square_sweeps(path))


def test_the_recordings_give_the_passive_properties_unless_the_passive_table_lists_the_cell(
    tmp_path,
):
    passive_cell(tmp_path / "1.nwb")
    passive_cell(tmp_path / "2.nwb", r_mohm=90.0, tau_ms=12.0)
    sweeps = {s: long_square_sweeps(tmp_path / f"{s}.nwb") for s in (1, 2)}
    table = pd.DataFrame(
        {"vrest": [-60.0], "ri": [300.0], "tau": [30.0], "species": ["mouse"]},
        index=pd.Index([2], name="specimen_id"),
    ).assign(layer="unknown", dendrite_type="unknown", cre_line="unknown", area="unknown")
    cells = cells_from_sweeps(sweeps, table).set_index("specimen_id")
    assert cells.passive_source.to_dict() == {1: "recordings", 2: "passive_table"}
    recorded = sweeps[1].attrs["passive"]
    assert cells.loc[1, ["vrest", "ri", "tau"]].tolist() == [
        recorded.vrest_mv,
        recorded.ri_mohm,
        recorded.tau_ms,
    ]
    assert cells.loc[2, ["vrest", "ri", "tau"]].tolist() == [-60.0, 300.0, 30.0]
    targets = CellTargets.from_row(cells.reset_index().iloc[0], sweeps[1])
    assert targets.metadata["passive_source"] == "recordings"


def test_a_spike_count_table_holds_no_voltages():
    counts = pd.DataFrame({"amplitude_pA": [50.0, 100.0], "spike_count": [0, 3]})
    row = cells_from_sweeps({4: counts}).iloc[0]
    assert row.passive_source == "none" and np.isnan(row.ri)
    with pytest.raises(UnfittableCell, match="its sweeps hold no voltages; give them in a passive"):
        CellTargets.from_row(row, counts)


@pytest.mark.skipif(
    not list(ALLEN_DATA.glob("**/*.nwb")), reason=f"no Allen NWB files in {ALLEN_DATA}"
)
@pytest.mark.filterwarnings("ignore:invalid value encountered in scalar divide")
def test_real_allen_cells_give_ipfx_s_values(ipfx):
    for path in sorted(ALLEN_DATA.glob("**/*.nwb"))[:3]:
        passive = long_square_sweeps(path).attrs["passive"]
        assert_ipfx_values(passive, ipfx_passive(path))
