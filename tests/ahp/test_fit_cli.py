"""`ahp fetch` and `ahp fit` end to end on a local fake API; clear errors for bad input."""

from __future__ import annotations

import io
import json
import re

import numpy as np
import pandas as pd
import pytest

from ahp.cli import main
from fitting.synthetic import draw_lif_ahp_cells, record_cells, write_allen_tables
from tests.fitting.fake_allen_api import serving
from tests.fitting.nwb_files import silent_then_adapting_cell

FAST = ["--generations", "3", "--restarts", "0", "--popsize", "4", "--slots", "2"]


@pytest.fixture
def nwb_bytes(tmp_path):
    return silent_then_adapting_cell(tmp_path / "source.nwb")


def test_fetch_then_fit_the_fetched_cell_from_its_nwb_sweeps(nwb_bytes, tmp_path, capsys):
    cache, out = tmp_path / "cache", tmp_path / "fit"
    with serving(nwb_bytes) as api:
        assert main(["fetch", "--cache", str(cache), "--api", api.url, "--nwb", "11"]) == 0
    assert (cache / "specimen_11" / "ephys.nwb").read_bytes() == nwb_bytes
    assert f"ahp fit --allen {cache} --nwb {cache}" in capsys.readouterr().out
    # offline, the filled cache is enough
    assert main(["fetch", "--cache", str(cache), "--offline", "--nwb", "11"]) == 0
    status = main(["fit", "--allen", str(cache), "--nwb", str(cache), "--out", str(out), *FAST])
    assert status == 0
    table = pd.read_csv(out / "fit_results.csv")
    # only the cell with NWB sweeps is fitted, on its two long squares
    assert table.specimen_id.tolist() == [11] and table.status.tolist() == ["fitted"]
    sweep_errors = [c for c in table.columns if c.startswith("error_sweep_")]
    assert sweep_errors and table[sweep_errors].notna().all(axis=None), table.columns


def test_an_unreachable_api_fails_with_one_clear_line(tmp_path, capsys):
    status = main(
        ["fetch", "--cache", str(tmp_path), "--api", "http://127.0.0.1:9", "--timeout", "5"]
    )
    assert status == 2
    assert "ahp fetch: error: cannot reach the Allen API at http://127.0.0.1:9" in (
        capsys.readouterr().err
    )


@pytest.fixture(scope="module")
def allen_tables(tmp_path_factory):
    cells = record_cells(draw_lif_ahp_cells(3, seed=5), [1, 2, 3])
    return write_allen_tables(cells, tmp_path_factory.mktemp("allen"))


def _broken(allen_tables, tmp_path, change):
    folder = tmp_path / "broken"
    folder.mkdir()
    for path in allen_tables.iterdir():
        (folder / path.name).write_bytes(path.read_bytes())
    features = pd.read_csv(folder / "allen_ephys_features.csv")
    change(features).to_csv(folder / "allen_ephys_features.csv", index=False)
    return folder


@pytest.mark.parametrize(
    ("change", "fragment"),
    [
        (lambda t: t.drop(columns="avg_isi"), r"missing column\(s\) \['avg_isi'\]"),
        (
            lambda t: t.assign(latency=t.latency * 1000),  # ms instead of s
            r"column 'latency' \(unit s\), specimen \d+: [\d.]+ is outside \[0, 1\] s; is the "
            r"column in another unit \(e.g. ms instead of s\)\?",
        ),
        (
            lambda t: t.assign(adaptation="strong"),
            r"column 'adaptation', specimen \d+: 'strong' is not a number",
        ),
    ],
)
def test_bad_tables_are_refused_before_fitting(allen_tables, tmp_path, capsys, change, fragment):
    folder = _broken(allen_tables, tmp_path, change)
    assert main(["fit", "--allen", str(folder), "--out", str(tmp_path / "fit"), *FAST]) == 2
    error = capsys.readouterr().err
    assert error.startswith(f"ahp fit: error: {folder / 'allen_ephys_features.csv'}: ")
    assert re.search(fragment, error)
    assert not (tmp_path / "fit").exists()


def test_a_cell_with_nan_features_is_recorded_as_unfittable(allen_tables, tmp_path):
    folder = _broken(allen_tables, tmp_path, lambda t: t.assign(ri=[np.nan, *t.ri[1:]]))
    out = tmp_path / "fit"
    assert main(["fit", "--allen", str(folder), "--out", str(out), *FAST]) == 0
    table = pd.read_csv(out / "fit_results.csv")
    unfittable = table[table.status == "unfittable"]
    assert len(unfittable) == 1 and "no ri in Allen's table" in unfittable.reason.iloc[0]
    assert (table.status == "fitted").sum() == 2


def test_limit_counts_the_cells_that_have_sweeps(allen_tables, tmp_path):
    features = pd.read_csv(allen_tables / "allen_ephys_features.csv")
    later = features.specimen_id.iloc[1:]  # not the first cell of the table
    sweeps = tmp_path / "sweeps.csv"
    pd.DataFrame(
        [
            {"specimen_id": s, "source_dir": "data", "sweep": k, "amp_pA": a, "n_spikes": n}
            for s in later
            for k, (a, n) in enumerate([(-50.0, 0), (300.0, 8), (500.0, 20)])
        ]
    ).to_csv(sweeps, index=False)
    out = tmp_path / "fit"
    args = ["fit", "--allen", str(allen_tables), "--sweeps", str(sweeps), "--limit", "1"]
    assert main([*args, "--out", str(out), *FAST, "--report-cells", "0"]) == 0
    table = pd.read_csv(out / "fit_results.csv")
    assert table.specimen_id.tolist() == [later.iloc[0]]


@pytest.mark.parametrize(
    ("extra", "fragment"),
    [
        (["--generations", "0"], "--generations 0: must be at least 1"),
        (["--popsize", "1"], "--popsize 1: must be at least 2"),
        (["--specimen", "12345"], r"--specimen \[12345\]: not among the selected cells"),
        (["--nwb", "nowhere"], "nowhere: no NWB files"),
        (["--refit-model", "lif_ahp"], "--refit-model lif_ahp: the model fitted first"),
        (["--refit-restarts", "-1"], "--refit-restarts -1: must be at least 0"),
        (["--search-step", "2ms"], "--search-step '2ms': allowed: .*at most 1 ms.*or 'none'"),
        (["--search-step", "0.5"], "--search-step '0.5': allowed: a positive time step with its"),
        (["--search-step", "-1 ms"], "--search-step '-1 ms': allowed: a positive time step"),
    ],
)
def test_bad_options_are_refused(allen_tables, tmp_path, capsys, extra, fragment):
    out = str(tmp_path / "fit")
    assert main(["fit", "--allen", str(allen_tables), "--out", out, *extra]) == 2
    assert re.search(fragment, capsys.readouterr().err)


def test_parquet_fit_table_holds_the_csv_tables_values_and_maps_alike(allen_tables, tmp_path):
    pytest.importorskip("pyarrow", reason="the parquet extra (pyarrow) is not installed")
    common = ["fit", "--allen", str(allen_tables), "--limit", "2", *FAST, "--report-cells", "0"]
    assert main([*common, "--out", str(tmp_path / "csv")]) == 0
    assert main([*common, "--format", "parquet", "--out", str(tmp_path / "parquet")]) == 0
    from_csv = pd.read_csv(tmp_path / "csv" / "fit_results.csv")
    from_parquet = pd.read_parquet(tmp_path / "parquet" / "fit_results.parquet")
    # the same fits: written as CSV, the Parquet table is the CSV table (whose empty strings
    # read back as NaN; floats round-trip exactly in their shortest repr)
    as_csv = pd.read_csv(io.StringIO(from_parquet.to_csv(index=False)))
    pd.testing.assert_frame_equal(as_csv, from_csv)
    for kind in ("csv", "parquet"):
        table = tmp_path / kind / f"fit_results.{kind}"
        map_args = ["--population", "cells", "--no-validate", "--search-rounds", "0"]
        assert main(["map", str(table), *map_args, "--out", str(tmp_path / f"map_{kind}")]) == 0
    files = [(tmp_path / f"map_{kind}" / "cells.json").read_text() for kind in ("csv", "parquet")]
    assert json.loads(files[0])["neurons"] == json.loads(files[1])["neurons"]


def test_a_parquet_table_with_a_bad_row_is_refused_by_row(tmp_path, capsys):
    pytest.importorskip("pyarrow", reason="the parquet extra (pyarrow) is not installed")
    table = tmp_path / "fits.parquet"
    pd.DataFrame(
        {"status": ["fitted", "fitted"], "specimen_id": [3, -4], "model": ["lif_ahp"] * 2}
    ).to_parquet(table)
    assert main(["map", str(table), "--out", str(tmp_path / "map")]) == 2
    assert f"{table}: row 2: specimen_id = -4; allowed: a whole number > 0" in (
        capsys.readouterr().err
    )
