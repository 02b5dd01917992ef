"""The main job end to end: cells -> fit -> Loihi mapping -> validation -> files -> report.

Everything goes under one output folder:

- ``cohort/``: the built-in synthetic cohort as Allen tables (when no Allen folder is given);
- ``fit/``: `fitting.batch.fit_database`'s checkpoints and ``fit_results.csv``;
- ``hardware/``: one parameter file per cell (``cell_<id>.json``, as `ahp map` writes them),
  ``all_cells.json`` with every cell, ``quantization.csv`` and the validation tables, energy
  estimate and rasters of `ahp.validate_command.write_validation`;
- ``state/``: per-cell records of the mapping and validation stages;
- ``report/``: the HTML report and its tables (`ahp.report`);
- ``pipeline.json``: the settings, the run's start stamp and the finished stages.

Every stage resumes: the fit checkpoints each cell, the mapping writes each cell's parameter
file atomically, the validation each cell's record. A re-run skips what is finished and
produces the same files (tables byte-identical); a re-run with other settings is refused
before anything is overwritten. Cells are mapped and validated one by one, exactly as `ahp map`
does it for all of them at once (the neurons do not interact), so the tables equal those of the
individual commands.
"""

from __future__ import annotations

import functools
import json
import logging
import os
import time
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from brian2 import ms

from ahp.cell_mapping import MappedCell, cell_name, cell_provenance, map_fitted_cell
from ahp.feature_check import has_cell_features, register_features
from ahp.pipeline_settings import SPECIES, PipelineRun, PipelineSettings
from ahp.report import write_report
from ahp.validation_output import write_validation
from ahp_models.files import atomic_write_text
from ahp_models.output_folders import LOCK_NAME, claims_output_folder
from analysis.allen_tables import load_cells, select
from fitting.batch import FitRunError, fit_database
from fitting.cohort import cohort_fingerprint, write_cohort
from fitting.evaluation import fitted_parameters
from fitting.sweep_tables import read_sweep_features
from fitting.synthetic import SWEEP_FILE, TRUTH_FILE
from hardware_mapping.neuron_mapping import MappingError
from hardware_mapping.parameter_files import (
    creation_stamp,
    read_parameter_file,
    write_parameter_file,
)
from hardware_mapping.validation import (
    ValidationResult,
    add_counters,
    long_square_amplitudes,
    quantization_table,
    validate_long_squares,
)

__all__ = ["SPECIES", "PipelineRun", "PipelineSettings", "run_pipeline"]

_log = logging.getLogger(__name__)

MANIFEST = "pipeline.json"
POPULATION_FILE = "all_cells.json"


def _claim(out: Path, settings: PipelineSettings) -> dict[str, Any]:
    """Create or resume the run's manifest; refuse a folder of other settings."""
    out.mkdir(parents=True, exist_ok=True)
    path = out / MANIFEST
    if path.exists():
        try:
            manifest = json.loads(path.read_text("utf-8"))
            earlier = manifest["settings"]
        except (json.JSONDecodeError, KeyError, TypeError):
            raise FitRunError(f"{path}: not a pipeline manifest; use a new --out") from None
        now = settings.to_json()
        if earlier != now:
            changed = sorted(k for k in now if earlier.get(k) != now[k])
            raise FitRunError(
                f"{out} holds a pipeline run with other settings ({', '.join(changed)}: "
                f"{[earlier.get(k) for k in changed]} there, {[now[k] for k in changed]} now); "
                "use a new --out or the same settings"
            )
        return manifest
    if any(p.name != LOCK_NAME for p in out.iterdir()):  # our own lock is no content
        raise FitRunError(f"{out} is not empty and holds no pipeline run; use a new --out")
    manifest = {"settings": settings.to_json(), "started": creation_stamp(), "stages": []}
    atomic_write_text(path, json.dumps(manifest, indent=1) + "\n")
    return manifest


def _stage_done(out: Path, manifest: dict[str, Any], stage: str) -> None:
    if stage not in manifest["stages"]:
        manifest["stages"].append(stage)
        atomic_write_text(out / MANIFEST, json.dumps(manifest, indent=1) + "\n")


def select_cells(
    settings: PipelineSettings, out: Path, say: Callable[[str], None]
) -> tuple[pd.DataFrame, dict[int, pd.DataFrame] | None, pd.DataFrame | None]:
    """The cells to fit, their measured sweeps (if any) and true parameters (synthetic cells).

    The default cohort is recorded into ``out/cohort`` once; a re-run reads it back.
    """
    if settings.allen is None:
        folder = out / "cohort"
        stamp = folder / "fingerprint.txt"
        fingerprint = cohort_fingerprint(settings.fit.dt_ms)
        if not stamp.is_file() or stamp.read_text("utf-8").strip() != fingerprint:
            say(f"pipeline: recording the default cohort into {folder}")
            write_cohort(folder, dt_ms=settings.fit.dt_ms)
            atomic_write_text(stamp, fingerprint + "\n")
        sweeps = read_sweep_features(folder / SWEEP_FILE)
        truth = pd.read_csv(folder / TRUTH_FILE).set_index("specimen_id")
    else:
        folder, sweeps, truth = Path(settings.allen), None, None
    cells = load_cells(folder)
    chosen = []
    for species in settings.species:
        group = select(cells, species=species)
        chosen.append(group.head(settings.limit) if settings.limit else group)
    cells = pd.concat(chosen, ignore_index=True)
    if cells.empty:
        raise FitRunError(f"{folder}: no cells of species {list(settings.species)}")
    if sweeps is not None:
        sweeps = {s: sweeps[s] for s in cells.specimen_id if s in sweeps}
    return cells, sweeps, truth


def _map_cells(
    fits: pd.DataFrame, settings: PipelineSettings, out: Path, created: str, say
) -> tuple[dict[str, MappedCell], dict[str, str]]:
    """Map every fitted cell, reading back those whose parameter file a stopped run wrote."""
    hardware, state = out / "hardware", out / "state" / "map"
    hardware.mkdir(parents=True, exist_ok=True)
    state.mkdir(parents=True, exist_ok=True)
    mapped, unmappable = {}, {}
    fitted = fits[fits.status == "fitted"]
    for number, (_, row) in enumerate(fitted.iterrows(), 1):
        name = cell_name(row.specimen_id)
        path, failed = hardware / f"{name}.json", state / f"{name}.json"
        if failed.is_file():
            unmappable[name] = json.loads(failed.read_text("utf-8"))["reason"]
            continue
        if path.is_file():  # written by a stopped run of the same settings (the manifest)
            params = fitted_parameters(row.to_dict())
            mapped[name] = MappedCell(
                name,
                params,
                read_parameter_file(path)[name],
                long_square_amplitudes(params),
                cell_provenance(row.to_dict()),
            )
            continue
        try:
            cell = map_fitted_cell(
                row.to_dict(),
                dt_ms=settings.dt_ms,
                decay_rounding=settings.decay_rounding,
                backend=settings.backend,
            )
        except MappingError as error:
            unmappable[name] = str(error)
            atomic_write_text(failed, json.dumps({"reason": str(error)}) + "\n")
            say(f"map: {name} left out: {error}")
            continue
        write_parameter_file(
            path, {name: cell.mapping}, provenance={name: cell.provenance}, created=created
        )
        mapped[name] = cell
        if number % 25 == 0 or number == len(fitted):
            say(f"map: {number}/{len(fitted)} cells")
    return mapped, unmappable


def _frame_record(table: pd.DataFrame) -> dict[str, Any]:
    """A table as JSON values that read back to the same dtypes and bits (floats as repr)."""
    return {
        "columns": list(table.columns),
        "dtypes": [str(t) for t in table.dtypes],
        "data": table.astype(object).where(table.notna(), None).to_numpy().tolist(),
    }


def _frame(record: Mapping[str, Any]) -> pd.DataFrame:
    table = pd.DataFrame(record["data"], columns=record["columns"])
    for column, dtype in zip(record["columns"], record["dtypes"], strict=True):
        table[column] = table[column].astype(dtype if dtype != "object" else object)
    return table


def _validate_cells(
    mapped: Mapping[str, MappedCell], settings: PipelineSettings, out: Path, say
) -> tuple[ValidationResult, dict[str, pd.DataFrame]]:
    """Validate cell by cell (each cell's record written as it finishes), then join them."""
    state = out / "state" / "validate"
    state.mkdir(parents=True, exist_ok=True)
    parts = {}
    started = time.perf_counter()
    for number, (name, cell) in enumerate(mapped.items(), 1):
        path = state / f"{name}.json"
        if not path.is_file():
            result = validate_long_squares(
                {name: cell.params},
                {name: cell.currents},
                dt=settings.dt_ms * ms,
                backend=settings.backend,
                mappings={name: cell.mapping},
            )
            record = {
                "sweeps": _frame_record(result.sweeps),
                "neurons": _frame_record(result.neurons),
                "counters": _frame_record(result.counters),
                "float_trains": [t.tolist() for t in result.float_trains[name]],
                "fixed_trains": [t.tolist() for t in result.fixed_trains[name]],
            }
            atomic_write_text(path, json.dumps(record) + "\n")
            if number % 25 == 0 or number == len(mapped):
                rate = number / (time.perf_counter() - started)
                say(f"validate: {number}/{len(mapped)} cells ({rate:.1f} cells/s)")
        parts[name] = json.loads(path.read_text("utf-8"))
    counters = {name: _frame(part["counters"]) for name, part in parts.items()}
    total = functools.reduce(add_counters, counters.values()) if counters else pd.DataFrame()
    result = ValidationResult(
        sweeps=pd.concat([_frame(p["sweeps"]) for p in parts.values()], ignore_index=True),
        neurons=pd.concat([_frame(p["neurons"]) for p in parts.values()], ignore_index=True),
        mappings={name: cell.mapping for name, cell in mapped.items()},
        float_trains={
            n: [np.asarray(t, dtype=float) for t in p["float_trains"]] for n, p in parts.items()
        },
        fixed_trains={
            n: [np.asarray(t, dtype=float) for t in p["fixed_trains"]] for n, p in parts.items()
        },
        counters=total,
    )
    return result, counters


@claims_output_folder("out")
def run_pipeline(
    settings: PipelineSettings,
    out: str | os.PathLike,
    *,
    workers: int = 0,
    report_figures: int = 3,
    progress: Callable[[str], None] | None = None,
) -> PipelineRun:
    """Run (or resume) the whole pipeline into ``out`` (see the module docstring).

    Parameters
    ----------
    settings : PipelineSettings
        What to compute.
    out : str or os.PathLike
        Output folder: new, empty, or one of an earlier run with the same settings.
    workers : int
        Local worker processes of the fit (0: this process); does not change the numbers.
    report_figures : int
        Validation rasters written beside the tables (the worst cells first), as `ahp map`.
    progress : callable, optional
        Receives progress lines (default: this module's logger, at INFO).

    Returns
    -------
    PipelineRun
        What was computed and written.
    """
    say = progress or _log.info
    out = Path(out)
    started = time.perf_counter()
    if settings.allen is not None:  # a wrong folder is refused before the output is claimed
        cells, sweeps, truth = select_cells(settings, out, say)
    manifest = _claim(out, settings)
    if settings.allen is None:
        cells, sweeps, truth = select_cells(settings, out, say)
    counts = cells.species.value_counts()
    say(
        "pipeline: "
        + ", ".join(f"{counts.get(s, 0)} {s} cells" for s in settings.species)
        + (f" from {settings.allen}" if settings.allen else " of the default cohort")
    )
    fits = fit_database(
        cells, out / "fit", settings.fit, sweeps=sweeps, workers=workers, progress=say
    )
    _stage_done(out, manifest, "fit")
    mapped, unmappable = _map_cells(fits, settings, out, manifest["started"], say)
    if not mapped:
        raise MappingError("no fitted cell could be mapped")
    _stage_done(out, manifest, "map")
    validation, cell_counters = _validate_cells(mapped, settings, out, say)
    _stage_done(out, manifest, "validate")
    files = _write_hardware_files(
        out, mapped, validation, settings, manifest["started"], report_figures
    )
    features = (
        register_features(fits, mapped, dt_ms=settings.dt_ms, backend=settings.backend)
        if has_cell_features(fits)
        else pd.DataFrame()
    )
    files["features"] = out / "hardware" / "features.csv"
    atomic_write_text(files["features"], features.to_csv(index=False))
    _stage_done(out, manifest, "files")
    run = PipelineRun(
        out, cells, sweeps, truth, fits, mapped, unmappable, validation, cell_counters, files,
        features,
    )  # fmt: skip
    files.update(write_report(run, settings, say))
    _stage_done(out, manifest, "report")
    say(f"pipeline: finished in {time.perf_counter() - started:.0f} s")
    return run


def _write_hardware_files(out, mapped, validation, settings, created, figures) -> dict:
    """The population file, the quantization table and the validation's files."""
    hardware = out / "hardware"
    files = {name: hardware / f"{name}.json" for name in mapped}
    files["all cells"] = write_parameter_file(
        hardware / POPULATION_FILE,
        {name: cell.mapping for name, cell in mapped.items()},
        provenance={name: cell.provenance for name, cell in mapped.items()},
        created=created,
    )
    files["quantization"] = hardware / "quantization.csv"
    atomic_write_text(
        files["quantization"], quantization_table(validation.mappings).to_csv(index=False)
    )
    files.update(write_validation(validation, hardware, settings.energy_table, figures))
    return files
