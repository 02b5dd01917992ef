"""Whole-database fits: checkpoints per cell, resume, local cores or a Dask cluster.

Every cell's outcome (a fit, or the reason it cannot be fitted) is written to
``OUT/checkpoints/<specimen_id>.json`` atomically the moment it is known. A restarted run reads
the checkpoints, skips those cells and fits only the rest; the results table
(``OUT/fit_results.csv``, or Parquet) is assembled from all checkpoints at the end, atomically,
so a killed run never leaves a partial table and never loses or repeats a finished cell. Each
cell's fitting time goes to ``OUT/fit_timing.csv``, not to the results table, which is therefore
the same bytes for the same seed however often a run was stopped. Each
checkpoint records a fingerprint of the fit settings: resuming with different settings is an
error instead of a silent mix.

A cell whose first fit misses a tolerance is refitted with the fallback model
(`fitting.pipeline`): its first fit waits in ``OUT/first_fits/<specimen_id>.json`` until the
refit writes the cell's checkpoint, so a resumed run refits it without fitting it again. Refits
are batched as first fits finish, to keep the fallback model's population full.

Fits of different cells are independent (every cell has its own seed and its own rows of the
population), so a resumed run gives exactly the numbers an uninterrupted one would.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import os
import re
import time
from collections import deque
from collections.abc import Callable, Iterable, Mapping
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from ahp_models.errors import UserError
from ahp_models.files import atomic_path, atomic_write_text
from ahp_models.output_folders import claims_output_folder
from fitting.engine import FitEngine, FitSettings
from fitting.pipeline import FirstFit, needs_refit, refit_cells
from fitting.targets import CellTargets, UnfittableCell

__all__ = [
    "FitRunError",
    "check_scheduler_address",
    "fit_database",
    "read_checkpoints",
    "settings_fingerprint",
]

CHECKPOINTS = "checkpoints"
FIRST_FITS = "first_fits"
RESULTS = "fit_results"
TIMING_FILE = "fit_timing.csv"
#: Checkpoint fields measured in wall-clock time, kept out of the results table.
TIMING_COLUMNS = ("seconds",)


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


def _fit_chunk(
    cells: list[CellTargets], settings: FitSettings, folder: str, stamp: str
) -> tuple[int, list[int]]:
    """First fits of cells in this process (a Dask worker or the caller): checkpoint each cell
    within tolerance, keep the others' first fits for their refit.

    Returns
    -------
    tuple
        Cells finished, and the specimen ids waiting for a refit.
    """
    out, waiting = Path(folder), []
    engine = _engine(settings, cells[0].protocol_amplitudes().size)
    for fit in engine.fit(cells):
        if needs_refit(fit, settings):
            record = {"status": "first_fit", "settings": stamp, **FirstFit.of(fit).to_record()}
            _write_checkpoint(out / FIRST_FITS, fit.specimen_id, record)
            waiting.append(fit.specimen_id)
        else:
            _write_checkpoint(
                out / CHECKPOINTS, fit.specimen_id, _fitted_record(fit.to_row(), stamp)
            )
    return len(cells) - len(waiting), waiting


def _refit_chunk(
    cells: list[CellTargets], settings: FitSettings, folder: str, stamp: str
) -> tuple[int, list[int]]:
    """Refits (`fitting.pipeline.refit_cells`) of cells whose first fits wait in ``folder``."""
    out = Path(folder)
    first = {}
    for cell in cells:
        record = json.loads((out / FIRST_FITS / f"{cell.specimen_id}.json").read_text("utf-8"))
        # the waiting record's own bookkeeping is not part of the fit's row
        first[cell.specimen_id] = FirstFit.from_record(
            {k: v for k, v in record.items() if k not in ("status", "settings")}
        )
    engine = _engine(settings.fallback_settings(), cells[0].protocol_amplitudes().size)
    for row in refit_cells(engine, cells, first):
        _write_checkpoint(out / CHECKPOINTS, row["specimen_id"], _fitted_record(row, stamp))
    return len(cells), []


def _chunks(cells: list[CellTargets], size: int) -> Iterable[list[CellTargets]]:
    by_length: dict[int, list[CellTargets]] = {}
    for cell in cells:
        by_length.setdefault(cell.protocol_amplitudes().size, []).append(cell)
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
            self.waiting.setdefault(cell.protocol_amplitudes().size, []).append(cell)

    def take(self, flush: bool) -> list[list[CellTargets]]:
        chunks = []
        for group in self.waiting.values():
            while len(group) >= self.size or (flush and group):
                chunks.append(group[: self.size])
                del group[: self.size]
        return chunks


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
    progress: Callable[[str], None] | None = print,
) -> pd.DataFrame:
    """Fit a selection of Allen cells, resumably, and write the results table.

    Parameters
    ----------
    cells : pandas.DataFrame
        Rows of `analysis.allen_tables.load_cells` (or a selection of it), or of
        `fitting.sweep_cells.cells_from_sweeps`; a ``targets_source`` column goes into the
        results table.
    out : str or os.PathLike
        Output folder: ``checkpoints/`` and the results table.
    settings : FitSettings
        How to fit (seed included).
    sweeps : mapping, optional
        Measured long squares per specimen (``amplitude_pA``, ``spike_count``) for cells that
        have them; their whole f-I curve is then fitted.
    workers : int
        0: fit in this process; N >= 1: a Dask LocalCluster of N single-threaded processes.
    scheduler : str, optional
        Address of a running Dask scheduler (overrides ``workers``).
    chunk_cells : int, optional
        Cells per task (default: two engine fills).
    output_format : {"csv", "parquet"}
        Results table format.
    progress : callable, optional
        Receives one progress line per finished task.

    Returns
    -------
    pandas.DataFrame
        The results table (fitted and unfittable cells, one row each).
    """
    if output_format not in ("csv", "parquet"):
        raise FitRunError(f"output format {output_format!r}; allowed: csv, parquet")
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
                    **(
                        {"targets_source": row["targets_source"]} if "targets_source" in row else {}
                    ),
                },
            )
            skipped += 1
            continue
        (waiting if specimen in waiting_ids else pending).append(targets)
    total = len(pending) + len(waiting)
    say = progress or (lambda _line: None)
    say(
        f"fit: {len(finished)} cells already done in {folder}, {skipped} unfittable, "
        f"{total} to fit ({settings.model}, seed {settings.seed}"
        + (f"; {len(waiting)} of them waiting for a refit" if waiting else "")
        + ")"
    )
    size = chunk_cells or 2 * settings.slots
    chunks = list(_chunks(pending, size))
    by_id = {cell.specimen_id: cell for cell in pending}
    queue = _RefitQueue(size)
    queue.add(waiting)
    first_left = len(chunks)
    started, fitted, refits = time.perf_counter(), 0, len(waiting)

    def handle(result: tuple[int, list[int]], first: bool) -> list[tuple[Callable, list]]:
        """Count a finished task; return the refit tasks now due."""
        nonlocal fitted, first_left, refits
        count, to_refit = result
        fitted += count
        refits += len(to_refit)
        first_left -= first
        queue.add(by_id[specimen] for specimen in to_refit)
        elapsed = time.perf_counter() - started
        rate = fitted / elapsed if elapsed else float("inf")
        eta = (total - fitted) / rate / 60 if rate else float("nan")
        refitting = f" ({refits} refitted with {settings.fallback_model} or waiting)"
        say(
            f"fit: {fitted}/{total} cells, {rate * 60:.1f} cells/min, ETA {eta:.1f} min"
            + (refitting if settings.fallback_model else "")
        )
        return [(_refit_chunk, chunk) for chunk in queue.take(flush=first_left == 0)]

    tasks = [(_fit_chunk, chunk) for chunk in chunks]
    tasks += [(_refit_chunk, chunk) for chunk in queue.take(flush=first_left == 0)]
    if not tasks:
        pass
    elif scheduler is None and workers == 0:
        work = deque(tasks)
        while work:
            task, chunk = work.popleft()
            work.extend(handle(task(chunk, settings, str(folder), stamp), task is _fit_chunk))
    else:
        _run_distributed(tasks, handle, settings, str(folder), stamp, workers, scheduler)
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


def check_scheduler_address(address: str) -> None:
    """Refuse a Dask scheduler address that is not ``[tcp://|tls://]HOST:PORT`` before any
    work (connecting is tried when the fit starts).

    Raises
    ------
    FitRunError
        Naming the address and the form allowed.
    """
    match = re.fullmatch(
        r"(?:(tcp|tls|inproc|ucx)://)?([A-Za-z0-9_.\-]+|\[[0-9a-fA-F:]+\]):(\d+)", address
    )
    if match is None or not 0 < int(match.group(3)) < 65536:
        raise FitRunError(
            f"--scheduler {address!r}; allowed: a Dask scheduler address HOST:PORT, e.g. "
            "tcp://127.0.0.1:8786"
        )


def _run_distributed(tasks, handle, settings, folder, stamp, workers, scheduler) -> None:
    from dask.distributed import Client, LocalCluster, as_completed

    cluster = None
    if scheduler is None:
        cluster = LocalCluster(
            n_workers=workers, threads_per_worker=1, processes=True, dashboard_address=None
        )
        client = Client(cluster)
    else:
        try:
            client = Client(scheduler, timeout="20s")
        except (OSError, ValueError, TimeoutError) as error:
            raise FitRunError(
                f"--scheduler {scheduler}: cannot connect ({error}); allowed: the address of a "
                "running Dask scheduler, e.g. tcp://host:8786"
            ) from None

    first_fits: set[str] = set()  # keys of the first-fit tasks

    def submit(task, chunk):
        future = client.submit(task, chunk, settings, folder, stamp, pure=False)
        if task is _fit_chunk:
            first_fits.add(future.key)
        return future

    try:
        running = as_completed([submit(task, chunk) for task, chunk in tasks])
        for future in running:
            for task, chunk in handle(future.result(), future.key in first_fits):
                running.add(submit(task, chunk))
    finally:
        client.close()
        if cluster is not None:
            cluster.close()
