"""Whole-database fits: checkpoints per cell, resume, local cores or a Dask cluster.

Every cell's outcome (a fit, or the reason it cannot be fitted) is written to
``OUT/checkpoints/<specimen_id>.json`` atomically the moment it is known. A restarted run reads
the checkpoints, skips those cells and fits only the rest; the results table
(``OUT/fit_results.csv``, or Parquet) is assembled from all checkpoints at the end, atomically,
so a killed run never leaves a partial table and never loses or repeats a finished cell. Each
checkpoint records a fingerprint of the fit settings: resuming with different settings is an
error instead of a silent mix.

Fits of different cells are independent (every cell has its own seed and its own rows of the
population), so a resumed run gives exactly the numbers an uninterrupted one would.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import os
import time
from collections.abc import Callable, Iterable, Mapping
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from ahp_models.files import atomic_path, atomic_write_text
from fitting.engine import CellFit, FitEngine, FitSettings
from fitting.targets import CellTargets, UnfittableCell

__all__ = ["FitRunError", "fit_database", "read_checkpoints", "settings_fingerprint"]

CHECKPOINTS = "checkpoints"
RESULTS = "fit_results"


class FitRunError(RuntimeError):
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
    rows = []
    for path in sorted((Path(folder) / CHECKPOINTS).glob("*.json")):
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


_engines: dict[tuple, FitEngine] = {}


def _fit_chunk(cells: list[CellTargets], settings: FitSettings, folder: str, stamp: str) -> int:
    """Fit cells in this process (a Dask worker or the caller) and checkpoint each one.

    The compiled engine is kept per process, so a worker compiles once per amplitude count.
    """
    key = (settings, cells[0].protocol_amplitudes().size)
    if key not in _engines:
        _engines[key] = FitEngine(settings, key[1])
    checkpoints = Path(folder)
    for fit in _engines[key].fit(cells):
        _write_checkpoint(checkpoints, fit.specimen_id, _fitted_record(fit, stamp))
    return len(cells)


def _fitted_record(fit: CellFit, stamp: str) -> dict[str, Any]:
    return {"status": "fitted", "reason": "", "settings": stamp, **fit.to_row()}


def _chunks(cells: list[CellTargets], size: int) -> Iterable[list[CellTargets]]:
    by_length: dict[int, list[CellTargets]] = {}
    for cell in cells:
        by_length.setdefault(cell.protocol_amplitudes().size, []).append(cell)
    for group in by_length.values():
        for start in range(0, len(group), size):
            yield group[start : start + size]


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
        Rows of `analysis.allen_tables.load_cells` (or a selection of it).
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
    pending: list[CellTargets] = []
    skipped = 0
    for _, row in cells.iterrows():
        specimen = int(row["specimen_id"])
        if specimen in finished:
            continue
        try:
            pending.append(CellTargets.from_row(row, (sweeps or {}).get(specimen)))
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
                },
            )
            skipped += 1
    total = len(pending)
    say = progress or (lambda _line: None)
    say(
        f"fit: {len(finished)} cells already done in {folder}, {skipped} unfittable, "
        f"{total} to fit ({settings.model}, seed {settings.seed})"
    )
    chunks = list(_chunks(pending, chunk_cells or 2 * settings.slots))
    started, fitted = time.perf_counter(), 0

    def report(count: int) -> None:
        nonlocal fitted
        fitted += count
        elapsed = time.perf_counter() - started
        rate = fitted / elapsed if elapsed else float("inf")
        eta = (total - fitted) / rate / 60 if rate else float("nan")
        say(f"fit: {fitted}/{total} cells, {rate * 60:.1f} cells/min, ETA {eta:.1f} min")

    if not chunks:
        pass
    elif scheduler is None and workers == 0:
        for chunk in chunks:
            report(_fit_chunk(chunk, settings, str(checkpoints), stamp))
    else:
        _run_distributed(chunks, settings, str(checkpoints), stamp, workers, scheduler, report)
    table = read_checkpoints(folder, stamp)
    target = folder / f"{RESULTS}.{output_format}"
    with atomic_path(target) as temporary:
        if output_format == "csv":
            table.to_csv(temporary, index=False)
        else:
            table.to_parquet(temporary, index=False)
    say(f"fit: results of {len(table)} cells in {target}")
    return table


def _run_distributed(chunks, settings, checkpoints, stamp, workers, scheduler, report) -> None:
    from dask.distributed import Client, LocalCluster, as_completed

    cluster = None
    if scheduler is None:
        cluster = LocalCluster(
            n_workers=workers, threads_per_worker=1, processes=True, dashboard_address=None
        )
        client = Client(cluster)
    else:
        client = Client(scheduler)
    try:
        futures = [
            client.submit(_fit_chunk, chunk, settings, checkpoints, stamp, pure=False)
            for chunk in chunks
        ]
        for future in as_completed(futures):
            report(future.result())
    finally:
        client.close()
        if cluster is not None:
            cluster.close()
