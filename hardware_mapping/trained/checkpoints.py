"""Long runs of a trained network in chunks, each kept on disk as it finishes.

`run_checkpointed` splits the samples into chunks, runs each through a runner
(`run_fixed_point` or `run_float`) and writes the chunk's results atomically to a folder; run
again with the same network, samples and arithmetic, it reads the finished chunks back and runs
only the rest. A folder holding another run's chunks is refused rather than mixed in.
"""

from __future__ import annotations

import hashlib
import io
import json
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pandas as pd

from ahp_models.errors import UserError
from ahp_models.files import atomic_write_bytes, atomic_write_text
from hardware_mapping.trained.description import NetworkDescription
from hardware_mapping.trained.readouts import TrainedRun

__all__ = ["CheckpointError", "run_checkpointed", "run_fingerprint"]

_SETTINGS = "settings.json"


class CheckpointError(UserError):
    """A checkpoint folder that belongs to another run, or a damaged chunk."""


def run_fingerprint(description: NetworkDescription, values: np.ndarray, arithmetic: str) -> str:
    """A digest of everything a run's results depend on: registers, float neurons, synapses,
    encoder, readout, the samples and the arithmetic."""
    digest = hashlib.sha256()
    for population in description.populations.values():
        digest.update(repr(population).encode())
    for projection in description.projections:
        digest.update(f"{projection.pre}>{projection.post}:{projection.exponent}:"
                      f"{projection.delay}".encode())  # fmt: skip
        for array in (projection.pre_index, projection.post_index, projection.mantissa):
            digest.update(np.ascontiguousarray(array, dtype=np.int64).tobytes())
    digest.update(repr((description.inputs, description.encoder, description.readout,
                        description.readout_population, description.dt_ms)).encode())  # fmt: skip
    digest.update(np.ascontiguousarray(values).tobytes())
    digest.update(arithmetic.encode())
    return digest.hexdigest()


def run_checkpointed(
    runner: Callable[..., TrainedRun],
    values: np.ndarray,
    folder: str | Path,
    fingerprint: str,
    *,
    chunk: int = 1000,
    progress: Callable[[int, int], None] | None = None,
) -> TrainedRun:
    """Run ``runner(values[a:b], progress=...)`` chunk by chunk, keeping each chunk on disk.

    Parameters
    ----------
    runner : callable
        Takes samples and a ``progress`` keyword; returns a `TrainedRun`.
    values : numpy.ndarray
        All samples.
    folder : str or pathlib.Path
        Where the chunks are kept.
    fingerprint : str
        `run_fingerprint` of this run; a folder of another run is refused.
    chunk : int
        Samples per chunk.
    progress : callable, optional
        Called with (samples done, samples).

    Returns
    -------
    TrainedRun
        The whole run (no recorded sample).
    """
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    n = len(values)
    settings = {"fingerprint": fingerprint, "samples": n, "chunk": chunk}
    stored = folder / _SETTINGS
    if stored.is_file():
        try:
            previous = json.loads(stored.read_text(encoding="utf-8"))
        except (OSError, ValueError) as error:
            raise CheckpointError(f"{stored}: unreadable ({error}); remove the folder") from None
        if previous != settings:
            raise CheckpointError(
                f"{folder} holds the chunks of another run (other network, samples, "
                "arithmetic or chunk size); choose another --out or remove it"
            )
    else:
        atomic_write_text(stored, json.dumps(settings))
    parts = []
    for start in range(0, n, chunk):
        stop = min(start + chunk, n)
        path = folder / f"chunk_{start:06d}.npz"
        if path.is_file():
            parts.append(_read(path))
            if progress is not None:
                progress(stop, n)
        else:
            report = None
            if progress is not None:

                def report(done, _total, start=start):
                    progress(start + done, n)

            part = runner(values[start:stop], progress=report)
            _write(path, part)
            parts.append(part)
    return _combine(parts)


def _write(path: Path, run: TrainedRun) -> None:
    arrays = {
        "arithmetic": np.array(run.arithmetic),
        "predictions": run.predictions,
        "readout_values": run.readout_values,
        "spike_counts": run.spike_counts.to_numpy(),
        "populations": np.array(list(run.spike_counts.columns)),
    }
    if run.mean_counters is not None:
        arrays["counters"] = run.mean_counters.to_numpy(dtype=float)
        arrays["counter_columns"] = np.array(list(run.mean_counters.columns))
    buffer = io.BytesIO()
    np.savez(buffer, **arrays)
    atomic_write_bytes(path, buffer.getvalue())


def _read(path: Path) -> TrainedRun:
    try:
        with np.load(path, allow_pickle=False) as data:
            counters = None
            if "counters" in data.files:
                counters = pd.DataFrame(data["counters"], columns=list(data["counter_columns"]))
            return TrainedRun(
                arithmetic=str(data["arithmetic"]),
                predictions=data["predictions"],
                readout_values=data["readout_values"],
                spike_counts=pd.DataFrame(data["spike_counts"], columns=list(data["populations"])),
                mean_counters=counters,
            )
    except (OSError, ValueError, KeyError) as error:
        raise CheckpointError(
            f"{path}: damaged chunk ({error}); remove it to run it again"
        ) from None


def _combine(parts: list[TrainedRun]) -> TrainedRun:
    sizes = np.array([p.predictions.size for p in parts], dtype=float)
    counters = None
    if parts[0].mean_counters is not None:
        weighted = sum(
            p.mean_counters.to_numpy() * size for p, size in zip(parts, sizes, strict=True)
        )
        counters = pd.DataFrame(weighted / sizes.sum(), columns=parts[0].mean_counters.columns)
        counters["step"] = parts[0].mean_counters["step"].to_numpy()
        counters["neuron_updates"] = parts[0].mean_counters["neuron_updates"].to_numpy()
    return TrainedRun(
        arithmetic=parts[0].arithmetic,
        predictions=np.concatenate([p.predictions for p in parts]),
        readout_values=np.concatenate([p.readout_values for p in parts]),
        spike_counts=pd.concat([p.spike_counts for p in parts], ignore_index=True),
        mean_counters=counters,
    )
