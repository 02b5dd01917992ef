"""Whole-database fits: checkpoints per cell, resume, local cores or a Dask cluster.

Every cell's outcome (a fit, or the reason it cannot be fitted) is written to
``OUT/checkpoints/<specimen_id>.json`` atomically the moment it reaches the calling process. A
restarted run reads the checkpoints, skips those cells and fits only the rest; the results table
(``OUT/fit_results.csv``, or Parquet) is assembled from all checkpoints at the end, atomically,
so a killed run never leaves a partial table and never loses or repeats a cell it received. Each
cell's fitting time goes to ``OUT/fit_timing.csv``, not to the results table, which is therefore
the same bytes for the same seed however often a run was stopped. Each
checkpoint records a fingerprint of the fit settings: resuming with different settings is an
error instead of a silent mix.

A cell whose first fit misses a tolerance is refitted with the fallback model
(`fitting.pipeline`): its first fit waits in ``OUT/first_fits/<specimen_id>.json`` until the
refit's checkpoint arrives, so a resumed run refits it without fitting it again. Refits
are batched as first fits finish, to keep the fallback model's population full.

The work is split into tasks of a few cells that take plain data (the cells' targets, the
settings, the stored first fits) and return records; only the calling process reads the input
and writes the output folder. The tasks run in this process, on a local Dask cluster or on the
workers of any Dask scheduler, which need no shared disk (`fitting.cluster`).

Fits of different cells are independent (every cell has its own seed and its own rows of the
population), so a distributed or resumed run gives exactly the numbers of an uninterrupted
local one.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import logging
import os
import time
from collections import deque
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from ahp_models.errors import UserError
from ahp_models.files import atomic_path, atomic_write_text
from ahp_models.output_folders import claims_output_folder
from ahp_models.progress import log_progress
from fitting.cluster import dask_client
from fitting.engine import FitEngine, FitSettings
from fitting.pipeline import FirstFit, needs_refit, refit_cells
from fitting.targets import FEATURE_TABLE, CellTargets, UnfittableCell

__all__ = [
    "FitRunError",
    "fit_database",
    "read_checkpoints",
    "settings_fingerprint",
]

CHECKPOINTS = "checkpoints"
FIRST_FITS = "first_fits"
RESULTS = "fit_results"
TIMING_FILE = "fit_timing.csv"
#: Default cells per task, in engine fills: a task's last cells run in a smaller population
#: (`fitting.engine.FitSettings.tail_slots`), but the more cells a task has, the fewer such
#: tails a run has (at the price of more cells lost to a killed Dask run).
CHUNK_FILLS = 4
#: Checkpoint fields measured in wall-clock time, kept out of the results table.
TIMING_COLUMNS = ("seconds",)

logger = logging.getLogger(__name__)


class FitRunError(UserError, RuntimeError):
    """A batch run that cannot go on (mismatching checkpoints, unreadable output folder...)."""


def settings_fingerprint(settings: FitSettings) -> str:
    """A short hash of everything that changes a fit's numbers."""
    text = json.dumps(dataclasses.asdict(settings), sort_keys=True)
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def _json_ready(value: Any) -> Any:
    if isinstance(value, np.integer | np.bool_):
        return value.item()
    if isinstance(value, np.floating | float):
        return None if not np.isfinite(value) else float(value)
    return value


def _write_checkpoint(folder: Path, specimen_id: int, record: Mapping[str, Any]) -> None:
    text = json.dumps({k: _json_ready(v) for k, v in record.items()}, indent=1)
    atomic_write_text(folder / f"{specimen_id}.json", text + "\n")


def _read_records(folder: Path, fingerprint: str | None) -> pd.DataFrame:
    """Every JSON record of a folder as a table, each checked for the settings fingerprint."""
    rows = []
    for path in sorted(folder.glob("*.json")):
        try:
            record = json.loads(path.read_text(encoding="utf-8"))
        except json.JSONDecodeError as err:  # atomic writes make this a foreign file
            raise FitRunError(f"{path}: not a checkpoint ({err.msg}); remove it") from None
        if fingerprint is not None and record.get("settings") != fingerprint:
            raise FitRunError(
                f"{path} was written with other fit settings ({record.get('settings')} vs "
                f"{fingerprint}); use a new output folder or the same settings"
            )
        rows.append(record)
    table = pd.DataFrame(rows)
    return table.sort_values("specimen_id").reset_index(drop=True) if rows else table


def read_checkpoints(folder: str | os.PathLike, fingerprint: str | None = None) -> pd.DataFrame:
    """All checkpoints of an output folder as a table (one row per cell).

    Parameters
    ----------
    folder : str or os.PathLike
        The run's output folder (holding ``checkpoints/``).
    fingerprint : str, optional
        If given, every checkpoint must carry it.

    Returns
    -------
    pandas.DataFrame
        One row per checkpoint, sorted by specimen id.
    """
    return _read_records(Path(folder) / CHECKPOINTS, fingerprint)


_engines: dict[tuple, FitEngine] = {}


def _engine(settings: FitSettings, n_amplitudes: int) -> FitEngine:
    """This process's engine for these settings (a worker compiles each one once)."""
    key = (settings, n_amplitudes)
    if key not in _engines:
        _engines[key] = FitEngine(settings, n_amplitudes)
    return _engines[key]


def _fitted_record(row: Mapping[str, Any], stamp: str) -> dict[str, Any]:
    return {"status": "fitted", "reason": "", "settings": stamp, **row}


# The tasks: plain data in (cell targets, settings, first fits as read by the caller), records
# out. They read and write no file, so that they run alike here, in a local worker process or on
# a machine that shares no disk with the caller.


def _fit_chunk(
    cells: list[CellTargets], settings: FitSettings, stamp: str
) -> Iterator[dict[str, Any]]:
    """First fits of cells; yield each cell's record as its fit ends.

    A cell within every tolerance yields its checkpoint (``status`` "fitted"), the others their
    first fit for the refit (``status`` "first_fit", `fitting.pipeline.FirstFit.to_record`).
    """
    engine = _engine(settings, cells[0].simulated_amplitudes().size)
    for fit in engine.fit(cells):
        if needs_refit(fit, settings):
            yield {"status": "first_fit", "settings": stamp, **FirstFit.of(fit).to_record()}
        else:
            yield _fitted_record(fit.to_row(), stamp)


def _refit_chunk(
    cells: list[CellTargets],
    first_fits: Mapping[int, Mapping[str, Any]],
    settings: FitSettings,
    stamp: str,
) -> Iterator[dict[str, Any]]:
    """Refits (`fitting.pipeline.refit_cells`) of cells from their first fits' records (specimen
    id -> record of ``first_fits/``); yield each cell's checkpoint as its refit ends."""
    first = {
        # the waiting record's own bookkeeping is not part of the fit's row
        specimen: FirstFit.from_record(
            {k: v for k, v in record.items() if k not in ("status", "settings")}
        )
        for specimen, record in first_fits.items()
    }
    engine = _engine(settings.fallback_settings(), cells[0].simulated_amplitudes().size)
    for row in refit_cells(engine, cells, first):
        yield _fitted_record(row, stamp)


def _task_records(
    function: Callable[..., Iterator[dict[str, Any]]], *arguments: Any
) -> list[dict[str, Any]]:
    """What a Dask worker runs: every record of one task, returned to the caller at once."""
    return list(function(*arguments))


@dataclass(frozen=True)
class _Task:
    """``function(*arguments)`` yields a task's records; ``first``: a first-fit task."""

    function: Callable[..., Iterator[dict[str, Any]]]
    arguments: tuple
    first: bool


def _chunks(cells: list[CellTargets], size: int) -> Iterable[list[CellTargets]]:
    by_length: dict[int, list[CellTargets]] = {}
    for cell in cells:
        by_length.setdefault(cell.simulated_amplitudes().size, []).append(cell)
    for group in by_length.values():
        for start in range(0, len(group), size):
            yield group[start : start + size]


class _RefitQueue:
    """Cells waiting for a refit, handed out in full chunks (the rest once asked to flush)."""

    def __init__(self, size: int) -> None:
        self.size = size
        self.waiting: dict[int, list[CellTargets]] = {}

    def add(self, cells: Iterable[CellTargets]) -> None:
        for cell in cells:
            self.waiting.setdefault(cell.simulated_amplitudes().size, []).append(cell)

    def take(self, flush: bool) -> list[list[CellTargets]]:
        chunks = []
        for group in self.waiting.values():
            while len(group) >= self.size or (flush and group):
                chunks.append(group[: self.size])
                del group[: self.size]
        return chunks


class _Bookkeeper:
    """The caller's side of a run: writes each record the moment it arrives (atomically, so a
    killed run keeps every cell it received), counts and reports, and hands out refit tasks."""

    def __init__(
        self,
        folder: Path,
        settings: FitSettings,
        stamp: str,
        cells: Iterable[CellTargets],
        total: int,
        size: int,
        say: Callable[[str], None],
    ) -> None:
        self.folder, self.settings, self.stamp, self.say = folder, settings, stamp, say
        self.by_id = {cell.specimen_id: cell for cell in cells}
        self.queue = _RefitQueue(size)
        self.total, self.first_left, self.fitted, self.refits = total, 0, 0, 0
        self.started = time.perf_counter()

    def first_fits(self, chunks: Iterable[list[CellTargets]]) -> list[_Task]:
        tasks = [_Task(_fit_chunk, (chunk, self.settings, self.stamp), True) for chunk in chunks]
        self.first_left += len(tasks)
        return tasks

    def wait_for_refit(self, cells: Iterable[CellTargets]) -> None:
        cells = list(cells)
        self.queue.add(cells)
        self.refits += len(cells)

    def refits_due(self) -> list[_Task]:
        """Refit tasks of the full chunks waiting (of all waiting once no first fit is left),
        with the first fits as stored: a resumed refit starts from the same numbers."""
        tasks = []
        for chunk in self.queue.take(flush=self.first_left == 0):
            first = {
                cell.specimen_id: json.loads(
                    (self.folder / FIRST_FITS / f"{cell.specimen_id}.json").read_text("utf-8")
                )
                for cell in chunk
            }
            tasks.append(_Task(_refit_chunk, (chunk, first, self.settings, self.stamp), False))
        return tasks

    def store(self, record: Mapping[str, Any]) -> None:
        """Write one record of a task where it belongs."""
        specimen = int(record["specimen_id"])
        if record["status"] == "first_fit":
            _write_checkpoint(self.folder / FIRST_FITS, specimen, record)
            self.wait_for_refit([self.by_id[specimen]])
        else:
            _write_checkpoint(self.folder / CHECKPOINTS, specimen, record)
            self.fitted += 1

    def task_done(self, task: _Task) -> list[_Task]:
        """Report a finished task; return the refit tasks now due."""
        self.first_left -= task.first
        elapsed = time.perf_counter() - self.started
        rate = self.fitted / elapsed if elapsed else float("inf")
        eta = (self.total - self.fitted) / rate / 60 if rate else float("nan")
        refitting = f" ({self.refits} refitted with {self.settings.fallback_model} or waiting)"
        line = (
            f"fit: {self.fitted}/{self.total} cells, {rate * 60:.1f} cells/min, ETA {eta:.1f} min"
            + (refitting if self.settings.fallback_model else "")
        )
        if self.say == logger.info:  # the default: a progress record, drawn as a bar by `ahp`
            log_progress(logger, "fit", self.fitted, self.total, "cells", line)
        else:
            self.say(line)
        return self.refits_due()


@claims_output_folder("out")
def fit_database(
    cells: pd.DataFrame,
    out: str | os.PathLike,
    settings: FitSettings = FitSettings(),  # noqa: B008 (frozen dataclass)
    *,
    sweeps: Mapping[int, pd.DataFrame] | None = None,
    workers: int = 0,
    scheduler: str | None = None,
    chunk_cells: int | None = None,
    output_format: str = "csv",
    progress: Callable[[str], None] | None = None,
) -> pd.DataFrame:
    """Fit a selection of Allen cells, resumably, and write the results table.

    Only this process reads or writes files: the tasks get the cells' targets (built here from
    ``cells`` and ``sweeps``) and return their records, which are written here as each task's
    result arrives. Workers of a ``scheduler`` therefore need no disk shared with this process,
    but ahp-toolkit installed at this process's version (`fitting.cluster`).

    Parameters
    ----------
    cells : pandas.DataFrame
        Rows of `analysis.allen_tables.load_cells` (or a selection of it), or of
        `fitting.sweep_cells.cells_from_sweeps`; a ``targets_source`` column goes into the
        results table.
    out : str or os.PathLike
        Output folder (of this process): ``checkpoints/`` and the results table.
    settings : FitSettings
        How to fit (seed included).
    sweeps : mapping, optional
        Measured long squares per specimen (``amplitude_pA``, ``spike_count``) for cells that
        have them; their whole f-I curve is then fitted.
    workers : int
        0: fit in this process, checkpointing each cell as it ends; N >= 1: a Dask LocalCluster
        of N single-threaded processes, each task's cells checkpointed as the task ends.
    scheduler : str, optional
        Address of a running Dask scheduler (overrides ``workers``); its workers need the same
        versions of `fitting.cluster.MATCHED_PACKAGES` as this process, and nothing on disk.
    chunk_cells : int, optional
        Cells per task (default: `CHUNK_FILLS` engine fills); on Dask, a killed run loses at
        most the running tasks' cells.
    output_format : {"csv", "parquet"}
        Results table format.
    progress : callable, optional
        Receives one progress line per finished task (default: this module's `logging` logger,
        at INFO).

    Returns
    -------
    pandas.DataFrame
        The results table (fitted and unfittable cells, one row each). Its file is the same
        bytes for the same cells and settings, however the run was distributed or resumed.

    Raises
    ------
    FitRunError
        Checkpoints of other settings, a foreign file among them, or an unknown format.
    fitting.cluster.SchedulerError
        A scheduler that cannot be reached or whose workers have other versions.
    """
    if output_format not in ("csv", "parquet"):
        raise FitRunError(f"output format {output_format!r}; allowed: csv, parquet")
    say = progress or logger.info
    # a cell's targets and passive properties come from Allen's feature table unless its row
    # says otherwise (cells fitted from their sweeps alone): every table records which
    cells = cells.assign(
        **{
            column: FEATURE_TABLE
            for column in ("targets_source", "passive_source")
            if column not in cells.columns
        }
    )
    folder = Path(out)
    checkpoints = folder / CHECKPOINTS
    checkpoints.mkdir(parents=True, exist_ok=True)
    stamp = settings_fingerprint(settings)
    done = read_checkpoints(folder, stamp)
    finished = set(done.specimen_id.astype(int)) if len(done) else set()
    waiting_ids = set(_read_records(folder / FIRST_FITS, stamp).get("specimen_id", [])) - finished
    pending: list[CellTargets] = []
    waiting: list[CellTargets] = []
    skipped = 0
    for _, row in cells.iterrows():
        specimen = int(row["specimen_id"])
        if specimen in finished:
            continue
        try:
            targets = CellTargets.from_row(row, (sweeps or {}).get(specimen))
        except UnfittableCell as reason:
            _write_checkpoint(
                checkpoints,
                specimen,
                {
                    "specimen_id": specimen,
                    "status": "unfittable",
                    "reason": str(reason),
                    "settings": stamp,
                    "model": settings.model,
                    "targets_source": row["targets_source"],
                    "passive_source": row["passive_source"],
                },
            )
            skipped += 1
            continue
        (waiting if specimen in waiting_ids else pending).append(targets)
    total = len(pending) + len(waiting)
    say(
        f"fit: {len(finished)} cells already done in {folder}, {skipped} unfittable, "
        f"{total} to fit ({settings.model}, seed {settings.seed}"
        + (f"; {len(waiting)} of them waiting for a refit" if waiting else "")
        + ")"
    )
    size = chunk_cells or CHUNK_FILLS * settings.slots
    books = _Bookkeeper(folder, settings, stamp, pending + waiting, total, size, say)
    tasks = books.first_fits(_chunks(pending, size))
    books.wait_for_refit(waiting)
    tasks += books.refits_due()
    if not tasks:
        pass
    elif scheduler is None and workers == 0:
        work = deque(tasks)
        while work:
            task = work.popleft()
            for record in task.function(*task.arguments):
                books.store(record)
            work.extend(books.task_done(task))
    else:
        _run_distributed(tasks, books, workers, scheduler)
    table = read_checkpoints(folder, stamp)
    # wall-clock times differ from run to run: they go to their own file, so that the results
    # table of a seed is the same bytes however often the run was stopped and resumed
    timing = [c for c in TIMING_COLUMNS if c in table]
    if timing:
        atomic_write_text(folder / TIMING_FILE, table[["specimen_id", *timing]].to_csv(index=False))
        table = table.drop(columns=timing)
    target = folder / f"{RESULTS}.{output_format}"
    with atomic_path(target) as temporary:
        if output_format == "csv":
            table.to_csv(temporary, index=False)
        else:
            table.to_parquet(temporary, index=False)
    say(f"fit: results of {len(table)} cells in {target}")
    return table


def _run_distributed(
    tasks: list[_Task], books: _Bookkeeper, workers: int, scheduler: str | None
) -> None:
    """Run the tasks on Dask; store each one's records here as its result arrives."""
    from dask.distributed import as_completed

    with dask_client(workers, scheduler) as client:
        submitted: dict[str, _Task] = {}

        def submit(task: _Task):
            future = client.submit(_task_records, task.function, *task.arguments, pure=False)
            submitted[future.key] = task
            return future

        running = as_completed([submit(task) for task in tasks])
        for future in running:
            task = submitted.pop(future.key)
            for record in future.result():
                books.store(record)
            for due in books.task_done(task):
                running.add(submit(due))
