"""Whole-database runs: a killed run resumes without redoing or losing a cell."""

from __future__ import annotations

import io
import os
import signal
import subprocess
import sys
import time

import pandas as pd
import pytest

from analysis.allen_tables import load_cells
from fitting.batch import FitRunError, fit_database, read_checkpoints
from fitting.engine import FitSettings
from fitting.synthetic import write_allen_tables

FAST = ["--generations", "12", "--restarts", "0", "--popsize", "6", "--slots", "4"]


def _fit_command(allen, out):
    code = "import sys; from ahp.cli import main; sys.exit(main(sys.argv[1:]))"
    return [sys.executable, "-c", code, "fit", "--allen", str(allen), "--out", str(out), *FAST]


def test_a_killed_run_resumes_with_every_cell_fitted_exactly_once(recovery_cells, tmp_path):
    allen = write_allen_tables(recovery_cells, tmp_path / "allen")
    out = tmp_path / "fit"
    checkpoints = out / "checkpoints"
    run = subprocess.Popen(
        _fit_command(allen, out),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    try:
        deadline = time.monotonic() + 300
        while len(list(checkpoints.glob("*.json"))) < 3:
            assert run.poll() is None, "the run ended before it could be killed"
            assert time.monotonic() < deadline, "no checkpoint within 300 s"
            time.sleep(0.02)
    finally:
        os.killpg(run.pid, signal.SIGKILL)  # the whole run, compiled simulator included
        run.wait()
    before = {p.name: p.read_bytes() for p in checkpoints.glob("*.json")}
    assert 3 <= len(before) < len(recovery_cells), "the kill must come mid-way"
    assert not (out / "fit_results.csv").exists()

    resumed = subprocess.run(_fit_command(allen, out), capture_output=True, text=True)
    assert resumed.returncode == 0, resumed.stderr
    assert f"{len(before)} cells already done" in resumed.stderr  # progress is logged
    after = {p.name: p.read_bytes() for p in checkpoints.glob("*.json")}
    # finished cells were not fitted again: their checkpoints are untouched
    assert {name: after[name] for name in before} == before
    table = pd.read_csv(out / "fit_results.csv")
    ids = sorted(c.targets.specimen_id for c in recovery_cells)
    assert sorted(table.specimen_id) == ids  # every cell exactly once
    assert (table.status == "fitted").all() and table.cost.notna().all()
    # the results file holds exactly what the checkpoints hold (CSV text: "" reads back as NaN)
    expected = read_checkpoints(out)[table.columns].to_csv(index=False)
    pd.testing.assert_frame_equal(table, pd.read_csv(io.StringIO(expected)))


def test_unfittable_cells_are_recorded_with_their_reason(recovery_cells, tmp_path):
    allen = write_allen_tables(recovery_cells[:2], tmp_path / "allen")
    cells = load_cells(allen)
    cells.loc[0, "tau"] = float("nan")
    settings = FitSettings(popsize=4, max_generations=2, max_restarts=0, slots=2)
    table = fit_database(cells, tmp_path / "fit", settings, progress=None)
    unfittable = table[table.status == "unfittable"]
    assert unfittable.specimen_id.tolist() == [cells.specimen_id[0]]
    assert "no tau in Allen's table" in unfittable.reason.iloc[0]
    assert (table.status == "fitted").sum() == 1


def test_resuming_with_other_settings_is_refused(recovery_cells, tmp_path):
    allen = write_allen_tables(recovery_cells[:1], tmp_path / "allen")
    cells = load_cells(allen)
    settings = FitSettings(popsize=4, max_generations=2, max_restarts=0, slots=1)
    fit_database(cells, tmp_path / "fit", settings, progress=None)
    with pytest.raises(FitRunError, match="written with other fit settings"):
        fit_database(cells, tmp_path / "fit", FitSettings(seed=1), progress=None)
    foreign = tmp_path / "fit" / "checkpoints" / "99.json"
    foreign.write_text("{not json")
    with pytest.raises(FitRunError, match=r"99\.json: not a checkpoint"):
        read_checkpoints(tmp_path / "fit")
