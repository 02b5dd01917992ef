"""`ahp pipeline`: the whole job on the default cohort, its report, resumption and agreement
with the individual commands."""

from __future__ import annotations

import logging
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pandas as pd
import pytest

import ahp.pipeline
import ahp.pipeline_command
from ahp.cli import main
from ahp.pipeline import PipelineSettings, run_pipeline
from ahp.report import SECTIONS
from fitting.batch import FitRunError
from fitting.engine import FitSettings
from fitting.fit_flags import FLAG_COLUMNS
from tests.ahp.browser import render
from tests.fitting.fake_allen_api import serving
from tests.html_tables import external_references, numbers_without_unit, read_page

#: A small, quick fit (the numbers do not matter here, only that every path gives the same).
FIT_OPTIONS = ["--generations", "6", "--restarts", "0", "--slots", "1", "--refit-model", "none"]
SETTINGS = PipelineSettings(
    limit=1,
    fit=FitSettings(max_generations=6, max_restarts=0, slots=1, fallback_model=None),
)
EPOCH = "1790000000"  # SOURCE_DATE_EPOCH: files written at different times compare equal


def _tables(folder: Path) -> dict[str, bytes]:
    """Every table and parameter file of a run, by relative path."""
    paths = [
        *folder.glob("fit/fit_results.csv"),
        *folder.glob("hardware/*.csv"),
        *folder.glob("hardware/*.json"),
        *folder.glob("report/*.csv"),
    ]
    return {str(p.relative_to(folder)): p.read_bytes() for p in sorted(paths)}


@pytest.fixture(scope="module")
def epoch():
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("SOURCE_DATE_EPOCH", EPOCH)
        yield


@pytest.fixture(scope="module")
def finished(tmp_path_factory, epoch) -> Path:
    """One uninterrupted run through the command line: the first cell of each species."""
    out = tmp_path_factory.mktemp("pipeline") / "run"
    assert main(["pipeline", "--limit", "1", *FIT_OPTIONS, "--out", str(out)]) == 0
    return out


def test_pipeline_writes_every_stage_and_a_report_that_renders(finished, tmp_path):
    fits = pd.read_csv(finished / "fit" / "fit_results.csv")
    assert list(fits.specimen_id) == [900000003, 900000012]  # the first cell of each species
    assert set(fits.status) == {"fitted"}
    for name in ("cell_900000003.json", "cell_900000012.json", "all_cells.json"):
        assert (finished / "hardware" / name).is_file()
    cells = pd.read_csv(finished / "report" / "cells.csv")
    validation = pd.read_csv(finished / "hardware" / "validation_neurons.csv")
    # the report's per-cell numbers are the validation's own
    merged = cells.merge(validation, on="neuron", suffixes=("", "_validation"))
    assert len(merged) == 2
    assert (merged.gamma == merged.gamma_validation).all()
    assert (merged.max_count_error == merged.max_count_error_validation).all()
    summary = pd.read_csv(finished / "report" / "summary.csv", index_col="species")
    assert summary.loc["all", "cells"] == 2 and summary.loc["all", "mapped"] == 2
    recovery = pd.read_csv(finished / "report" / "recovery.csv")
    assert {"tau_ahp_ms", "b_ahp_pA", "V_th_mV", "tau_m_ms"} <= set(recovery.parameter)
    assert not {"E_L_mV", "R_Mohm"} & set(recovery.parameter)  # the cell's vrest and ri

    flags = pd.read_csv(finished / "report" / "flags.csv")
    assert list(flags.columns) == list(FLAG_COLUMNS)
    assert "fit_flags" in cells.columns  # the same flags, per cell
    text = (finished / "report" / "index.html").read_text("utf-8")
    assert external_references(text) == []
    tables = read_page(text).tables
    assert len(tables) >= 4 + 2 * 2  # summary, features, recovery, cells, two per cell
    for table in tables:
        assert numbers_without_unit(table) == [], table.columns

    page = render(finished / "report" / "index.html", tmp_path)
    assert page.sections[: len(SECTIONS)] == list(SECTIONS)
    assert {"cell-900000003", "cell-900000012"} <= set(page.sections)
    # every figure decoded: 2 distribution figures, recovery, agreement, 3 per cell
    assert page.images == page.images_drawn >= 4 + 3 * 2
    assert "specimen 900000012 (human" in page.dom
    assert page.screenshot.stat().st_size > 10_000


def test_the_report_does_not_import_the_pipeline():
    """No cycle: the pipeline writes the report; the report knows only what a run holds."""
    imported = subprocess.run(
        [sys.executable, "-c", "import sys, ahp.report; print('ahp.pipeline' in sys.modules)"],
        capture_output=True,
        text=True,
        check=True,
    )
    assert imported.stdout.strip() == "False"


def test_tables_equal_those_of_the_individual_commands(finished, tmp_path):
    cohort = finished / "cohort"
    fit_out, map_out = tmp_path / "fit", tmp_path / "hardware"
    assert (
        main(
            [
                "fit",
                "--allen",
                str(cohort),
                "--sweeps",
                str(cohort / "long_square_sweeps.csv"),
                "--specimen",
                "900000003,900000012",
                *FIT_OPTIONS,
                "--out",
                str(fit_out),
            ]
        )
        == 0
    )
    results = fit_out / "fit_results.csv"
    assert results.read_bytes() == (finished / "fit" / "fit_results.csv").read_bytes()
    assert main(["map", str(results), "--out", str(map_out)]) == 0
    for name in (
        "validation_neurons.csv",
        "validation_sweeps.csv",
        "energy.csv",
        "quantization.csv",
        "cell_900000003.json",
        "cell_900000012.json",
    ):
        assert (map_out / name).read_bytes() == (finished / "hardware" / name).read_bytes(), name


def test_killed_during_fitting_resumes_to_the_same_files(finished, tmp_path, caplog):
    out = tmp_path / "run"
    command = [sys.executable, "-m", "ahp.cli", "pipeline", "--limit", "1", *FIT_OPTIONS]
    process = subprocess.Popen(
        [*command, "--out", str(out)],
        env={**os.environ, "SOURCE_DATE_EPOCH": EPOCH},
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    checkpoints = out / "fit" / "checkpoints"
    deadline = time.monotonic() + 300
    while not any(checkpoints.glob("*.json")) and time.monotonic() < deadline:
        assert process.poll() is None, "the pipeline ended before its first checkpoint"
        time.sleep(0.02)
    process.send_signal(signal.SIGKILL)
    process.wait()
    assert len(list(checkpoints.glob("*.json"))) == 1, "killed after the fit, not during it"
    assert not (out / "fit" / "fit_results.csv").exists()

    with caplog.at_level(logging.INFO, logger="ahp"):  # the library logs its progress
        run_pipeline(SETTINGS, out)
    assert "1 cells already done" in caplog.text
    assert _tables(out) == _tables(finished)


def test_killed_during_mapping_resumes_without_remapping(finished, tmp_path, monkeypatch):
    out, calls = tmp_path / "run", []
    original = ahp.pipeline.map_fitted_cell

    def killed_after_one(*args, **kwargs):
        if calls:
            raise KeyboardInterrupt  # what a kill leaves: one cell's file written, no more
        calls.append(args)
        return original(*args, **kwargs)

    monkeypatch.setattr(ahp.pipeline, "map_fitted_cell", killed_after_one)
    with pytest.raises(KeyboardInterrupt):
        run_pipeline(SETTINGS, out)
    assert [p.name for p in (out / "hardware").glob("*.json")] == ["cell_900000003.json"]

    def counted(*args, **kwargs):
        calls.append(args)
        return original(*args, **kwargs)

    calls.clear()
    monkeypatch.setattr(ahp.pipeline, "map_fitted_cell", counted)
    run_pipeline(SETTINGS, out)
    assert len(calls) == 1  # only the cell the stopped run had not mapped
    assert _tables(out) == _tables(finished)


def test_other_settings_are_refused_before_anything_is_written(finished, tmp_path):
    before = _tables(finished)
    with pytest.raises(FitRunError, match=r"other settings.*limit"):
        run_pipeline(PipelineSettings(limit=2, fit=SETTINGS.fit), finished)
    assert _tables(finished) == before
    (tmp_path / "stray.txt").write_text("x")
    with pytest.raises(FitRunError, match="not empty"):
        run_pipeline(SETTINGS, tmp_path)


def test_cache_option_reads_the_tables_ahp_fetch_downloaded(tmp_path, monkeypatch):
    """``--cache`` runs on the download cache (offline: nothing is fetched)."""
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    seen = {}

    def recorded(settings, out, **kwargs):
        seen["settings"] = settings
        raise KeyboardInterrupt  # stop before any work

    monkeypatch.setattr(ahp.pipeline_command, "run_pipeline", recorded)
    # an empty cache: the offline cache names what is missing
    assert main(["pipeline", "--cache", "--out", str(tmp_path / "run")]) == 2
    cache = tmp_path / "xdg" / "ahp-toolkit" / "allen"
    with serving(b"") as api:
        assert main(["fetch", "--api", api.url]) == 0
    # an interrupt ends the command with status 130
    assert (
        main(["pipeline", "--cache", "--species", "human", "--out", str(tmp_path / "run")]) == 130
    )
    assert seen["settings"].allen == str(cache)
    assert seen["settings"].species == ("human",)


@pytest.mark.parametrize(
    ("options", "message"),
    [
        (["--limit", "0"], "--limit 0: must be at least 1"),
        (["--dt", "0"], "--dt 0.0: allowed: a hardware step from 0.01 to 100 ms"),
        (["--generations", "0"], "--generations 0: must be at least 1"),
        (["--allen", "no_such_folder"], "no_such_folder"),
    ],
)
def test_bad_options_are_refused_with_one_line(options, message, tmp_path, capsys):
    assert main(["pipeline", *options, "--out", str(tmp_path / "run")]) == 2
    error = capsys.readouterr().err
    assert error.startswith("ahp pipeline: error:") and message in error
    assert not (tmp_path / "run" / "pipeline.json").exists()  # the same --out works once fixed
