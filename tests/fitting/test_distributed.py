"""Fits on a real Dask cluster: no file shared with the workers, the table of a local run.

The cluster is the toolkit's own local one (`fitting.cluster.dask_client`: a LocalCluster of two
single-threaded worker processes), reached through its scheduler address as a remote one would
be. Its workers run in another working directory, and an audit hook in each of them records
every file operation on the caller's folders (input tables and output): a task that read or
wrote there would show up, whatever path it used.
"""

from __future__ import annotations

import contextlib
import os
import pickle
import re
import socket
import sys
import warnings
from concurrent.futures import ThreadPoolExecutor

import pytest

from analysis.allen_tables import load_cells
from fitting.batch import (
    CHECKPOINTS,
    FIRST_FITS,
    _fit_chunk,
    _refit_chunk,
    _task_records,
    fit_database,
    settings_fingerprint,
)
from fitting.cluster import SchedulerError, check_worker_versions, dask_client, installed_versions
from fitting.engine import FitSettings
from fitting.synthetic import write_allen_tables

# as in test_pipeline: so short a search that first fits miss their tolerances and are refitted,
# so first fits travel from the caller's folder to the workers too
BRIEF = FitSettings(popsize=4, max_generations=3, max_restarts=0, slots=2, fallback_restarts=0)
CELLS = 4
CHUNK = 2  # two first-fit tasks: one for each worker

#: File operations on the watched folder seen by this (worker) process's audit hook.
_ACCESSES: list[str] = []


def _watch_folder(folder: str) -> None:
    """Record, in a worker, every audited operation (open, listdir, rename...) under folder."""

    def hook(event: str, arguments: tuple) -> None:
        for argument in arguments:
            if isinstance(argument, str | bytes | os.PathLike):
                path = os.path.abspath(os.fsdecode(argument))
                if path == folder or path.startswith(folder + os.sep):
                    _ACCESSES.append(f"{event} {path}")

    sys.addaudithook(hook)


def _accesses() -> list[str]:
    return list(_ACCESSES)


class _Stop(Exception):
    """Stands for a caller killed after its first task's result."""


def _stop_after_first_task(line: str) -> None:
    if "cells/min" in line:
        raise _Stop


def _occupy_dashboard_port() -> socket.socket | None:
    """Hold Dask's default dashboard port (None if something else holds it already)."""
    sock = socket.socket()
    try:
        sock.bind(("127.0.0.1", 8787))
    except OSError:
        sock.close()
        return None
    sock.listen()
    return sock


def test_a_scheduler_sharing_no_files_fits_the_table_of_a_local_run(
    recovery_cells, tmp_path, capfd
):
    mine = tmp_path / "caller"  # everything of the caller: input tables and output folders
    cells = load_cells(write_allen_tables(recovery_cells[:CELLS], mine / "allen"))
    elsewhere = tmp_path / "worker_cwd"
    elsewhere.mkdir()
    with contextlib.ExitStack() as stack:
        port = _occupy_dashboard_port()
        if port is not None:
            stack.callback(port.close)
        caught = stack.enter_context(warnings.catch_warnings(record=True))
        warnings.simplefilter("always")
        cluster = stack.enter_context(dask_client(2))
        address = cluster.scheduler.address
        cluster.run(os.chdir, str(elsewhere))
        cluster.run(_watch_folder, str(mine))
        # the local run beside the distributed one: the test's time is that of the compilations
        with ThreadPoolExecutor(1) as beside:
            remote = beside.submit(
                fit_database, cells, mine / "remote", BRIEF, scheduler=address, chunk_cells=CHUNK
            )
            local = fit_database(cells, mine / "local", BRIEF, chunk_cells=CHUNK)
            remote.result()
        with pytest.raises(_Stop):
            fit_database(
                cells,
                mine / "resumed",
                BRIEF,
                scheduler=address,
                chunk_cells=CHUNK,
                progress=_stop_after_first_task,
            )
        kept = [*(mine / "resumed").glob(f"{CHECKPOINTS}/*.json")]
        kept += (mine / "resumed").glob(f"{FIRST_FITS}/*.json")
        assert 0 < len(kept) < CELLS and not (mine / "resumed" / "fit_results.csv").exists()
        fit_database(cells, mine / "resumed", BRIEF, scheduler=address, chunk_cells=CHUNK)
        here = installed_versions()["ahp-toolkit"]
        refused = rf"worker tcp://\S+ has ahp-toolkit {re.escape(here)}; allowed: .* 0\.0\.0"
        with pytest.raises(SchedulerError, match=refused):
            check_worker_versions(cluster, {**installed_versions(), "ahp-toolkit": "0.0.0"})
        accesses = cluster.run(_accesses)

    assert local.first_model.notna().any(), "the brief first fits should go to the refit"
    expected = (mine / "local" / "fit_results.csv").read_bytes()
    assert (mine / "remote" / "fit_results.csv").read_bytes() == expected
    assert (mine / "resumed" / "fit_results.csv").read_bytes() == expected
    assert len(accesses) == 2 and not any(accesses.values()), accesses
    assert list(elsewhere.iterdir()) == []
    # quiet: no dashboard port warning, no worker or nanny log line, no progress on the terminal
    assert [str(w.message) for w in caught if "distributed" in w.filename] == []
    output = capfd.readouterr()
    assert (output.out, output.err) == ("", "")


def test_tasks_take_plain_data_and_return_records_without_touching_files(
    recovery_cells, tmp_path, monkeypatch
):
    monkeypatch.chdir(tmp_path)
    cells = [c.targets for c in recovery_cells[:2]]
    stamp = settings_fingerprint(BRIEF)
    arguments = pickle.loads(pickle.dumps((cells, BRIEF, stamp)))  # as a worker gets them
    first = _task_records(_fit_chunk, *arguments)
    assert sorted(r["specimen_id"] for r in first) == [c.specimen_id for c in cells]
    assert all(r["settings"] == stamp for r in first)
    waiting = {r["specimen_id"]: r for r in first if r["status"] == "first_fit"}
    assert waiting, "the brief first fits should go to the refit"
    assert all(r["status"] == "fitted" for r in first if r["specimen_id"] not in waiting)
    chosen = [c for c in cells if c.specimen_id in waiting]
    refits = _task_records(_refit_chunk, chosen, waiting, BRIEF, stamp)
    assert sorted(r["specimen_id"] for r in refits) == sorted(waiting)
    for record in refits:  # each refit starts from the first fit it was given
        assert record["status"] == "fitted"
        assert record["first_cost"] == waiting[record["specimen_id"]]["cost"]
    assert list(tmp_path.iterdir()) == []
