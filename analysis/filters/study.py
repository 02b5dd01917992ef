"""Run a population filter study: per seed and variant, simulate, read out, score.

For each seed: draw the population (`population.draw_population`), a signal (seeded Gaussian
samples held ``hold``, or the user's), calibrate each variant's bias to the target rates, run
the variants on the signal (``ahp`` and ``lif`` share one simulation: same model), filter the
spike trains (exponential, ``readout.tau``) and sample them at the end of every hold, then score
ridge readouts (`readout.ridge_scores`) of every target: delay lines (the memory curve),
leaky integrators, Volterra products, user targets; the store-and-recall task runs on its own
signal. Each seed's rows are written to ``parts/seed_S.csv`` as soon as they exist: a study
that is stopped resumes from the seeds it has not finished.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import logging
import math
import time
from collections.abc import Callable
from dataclasses import asdict
from pathlib import Path

import numpy as np
import pandas as pd
from brian2 import second

from ahp_models import LifAhpParams
from ahp_models.files import atomic_write_text
from ahp_models.input_files import read_json_file
from ahp_models.output_folders import claims_output_folder
from analysis.filters.config import ConfigError, StudyConfig
from analysis.filters.population import (
    calibrate_bias,
    draw_population,
    run_driven,
    variant_parameters,
)
from analysis.filters.readout import filtered_spike_trains, ridge_scores
from analysis.filters.tasks import (
    delay_targets,
    held_signal,
    integrator_targets,
    recall_task,
    volterra_targets,
)

__all__ = ["RESULT_COLUMNS", "claim_output", "memory_summary", "run_study"]

_log = logging.getLogger(__name__)

RESULT_COLUMNS = (
    "seed", "variant", "task", "target", "delay_s", "r2_test", "r2_cv", "r2_train", "alpha",
    "n_train", "n_test", "rate_Hz", "target_rate_Hz",
)  # fmt: skip
# the calibration's signal is drawn from this offset of the study seed (never the test signal)
_CALIBRATION_SEED_OFFSET = 10_000
_RECALL_SEED_OFFSET = 20_000


@claims_output_folder("out")
def run_study(
    config: StudyConfig,
    out: Path,
    *,
    progress: Callable[[str], None] | None = None,
) -> pd.DataFrame:
    """Run every seed of a study not finished yet in ``out`` and return all rows.

    Parameters
    ----------
    config : StudyConfig
        The checked study.
    out : pathlib.Path
        Output folder: ``parts/seed_S.csv`` per finished seed (and ``parts/config.json``,
        the config they belong to; parts of another config are refused, not mixed).
    progress : callable, optional
        Receives one line per finished step (default: this module's logger, at INFO).

    Returns
    -------
    pandas.DataFrame
        `RESULT_COLUMNS`, one row per seed, variant and target.
    """
    say = progress or _log.info
    parts = claim_output(config, out)
    frames, simulated = [], 0
    for seed in config.seeds:
        part = parts / f"seed_{seed}.csv"
        if part.exists():
            say(f"seed {seed}: done before ({part})")
            frames.append(pd.read_csv(part))
            continue
        start = time.perf_counter()
        rows = _run_seed(config, seed, say)
        simulated += 1
        frame = pd.DataFrame(rows, columns=list(RESULT_COLUMNS))
        atomic_write_text(part, frame.to_csv(index=False))
        say(f"seed {seed}: {time.perf_counter() - start:.0f} s")
        frames.append(frame)
    results = pd.concat(frames, ignore_index=True)
    results.attrs["simulated_seeds"] = simulated  # the others were read from their parts
    return results


def claim_output(config: StudyConfig, out: Path) -> Path:
    """Make ``out/parts`` this config's: refuse one holding another config's parts.

    Returns
    -------
    pathlib.Path
        The parts folder.
    """
    parts = out / "parts"
    parts.mkdir(parents=True, exist_ok=True)
    fingerprint = _fingerprint(config)
    stamp = parts / "config.json"
    if stamp.exists():
        stored = read_json_file(stamp, what="study stamp", error=ConfigError)
        if not isinstance(stored, dict) or stored.get("fingerprint") != fingerprint:
            raise ConfigError(
                f"{parts} holds results of another study config (its {stamp.name} differs); "
                "allowed: the folder of this config's earlier run, or a new one (another --out)"
            )
    atomic_write_text(stamp, json.dumps({"fingerprint": fingerprint, "source": config.source}))
    return parts


def memory_summary(results: pd.DataFrame, threshold: float = 0.5) -> pd.DataFrame:
    """Per variant and seed: memory capacity and the delay where R^2 falls below ``threshold``.

    The memory capacity is ``sum_d max(R^2(d), 0) * step`` in seconds (the area under the
    memory curve); the crossing is interpolated linearly between the delays around it
    (NaN if R^2 never reaches the threshold, the longest delay if it never falls below).

    Returns
    -------
    pandas.DataFrame
        ``variant``, ``seed``, ``memory_capacity_s``, ``delay_below_threshold_s``.
    """
    memory = results[results["task"] == "memory"]
    rows = []
    for (variant, seed), curve in memory.groupby(["variant", "seed"], sort=True):
        curve = curve.sort_values("delay_s")
        d, r2 = curve["delay_s"].to_numpy(), curve["r2_test"].to_numpy()
        step = np.diff(d).mean() if d.size > 1 else 0.0
        rows.append(
            {
                "variant": variant,
                "seed": seed,
                "memory_capacity_s": float(np.clip(r2, 0, None).sum() * step),
                "delay_below_threshold_s": _crossing(d, r2, threshold),
            }
        )
    return pd.DataFrame(rows)


def _crossing(d: np.ndarray, r2: np.ndarray, threshold: float) -> float:
    if not (r2 >= threshold).any():
        return float("nan")
    below = np.flatnonzero(r2 < threshold)
    below = below[below > np.flatnonzero(r2 >= threshold)[0]]
    if below.size == 0:
        return float(d[-1])
    k = below[0]
    return float(d[k - 1] + (r2[k - 1] - threshold) / (r2[k - 1] - r2[k]) * (d[k] - d[k - 1]))


def _run_seed(config: StudyConfig, seed: int, say) -> list[dict]:
    channels = 2 if config.recall is not None else 1
    drawn = draw_population(config.population, seed, channels=channels)
    if config.recall is not None:  # the recall cue's own weight scale
        rng = np.random.default_rng(seed + _RECALL_SEED_OFFSET)
        drawn.weights_pA[1] = config.recall.cue_std.draw(drawn.rates_Hz.size, rng) * (
            rng.standard_normal(drawn.rates_Hz.size)
        )
    hold, dt = config.hold_s, config.dt_s
    u = config.signal if config.signal is not None else held_signal(config.samples, seed)
    calibration_samples = round(config.calibration_s / hold)
    calibration_signal = held_signal(calibration_samples, seed + _CALIBRATION_SEED_OFFSET)
    discard = round(config.discard_s / hold)
    biases = {}
    for variant in config.variants:
        params = variant_parameters(drawn.params, variant)
        bias, achieved = calibrate_bias(
            params, drawn.rates_Hz, drawn.weights_pA[:1], calibration_signal[None, :],
            hold=hold, dt=dt, backend=config.backend,
            iterations=config.calibration_iterations,
            discard_samples=min(discard, calibration_samples // 2),
        )  # fmt: skip
        biases[variant] = bias
        error = np.median(np.abs(achieved / drawn.rates_Hz - 1))
        say(f"seed {seed} {variant}: rates calibrated (median relative error {error:.1%})")
    targets, names, tasks, delays = _targets(config, u)
    rows = []
    for variant, spikes in _simulate_variants(config, drawn, biases, u[None, :]).items():
        features = _features(config, spikes, drawn.rates_Hz.size, u.size)
        rate = spikes[0][spikes[1] >= discard * hold].size / (
            drawn.rates_Hz.size * (u.size - discard) * hold
        )
        scores = _scores(config, features[discard:], targets[discard:], names, tasks)
        for (_, score), task, delay in zip(scores.iterrows(), tasks, delays, strict=True):
            rows.append(_row(seed, variant, task, score, delay, rate, drawn.rates_Hz.mean()))
        say(f"seed {seed} {variant}: {len(names)} targets read out (rate {rate:.2f} Hz)")
    if config.recall is not None:
        rows += _recall_rows(config, seed, drawn, biases, say)
    return rows


def _scores(config, features, targets, names, tasks) -> pd.DataFrame:
    """Readout scores in target order; the leaky integrals, correlated over ~3 tau, with that
    gap around their folds and before their test part."""
    tasks = np.asarray(tasks)
    integral = tasks == "integrator"
    frames = []
    for chosen, gap in (
        (~integral, 0),
        (integral, math.ceil(3 * max(config.integrators, default=0))),
    ):
        if chosen.any():
            split = dataclasses.replace(config.split, gap=gap)
            frame = ridge_scores(features, targets[:, chosen],
                                 names=list(np.asarray(names)[chosen]), split=split)  # fmt: skip
            frames.append(frame.set_index(np.flatnonzero(chosen)))
    return pd.concat(frames).sort_index() if frames else pd.DataFrame()


def _targets(config: StudyConfig, u: np.ndarray):
    blocks, names, tasks, delays = [], [], [], []
    if config.memory_delays:
        blocks.append(delay_targets(u, config.memory_delays))
        for d in config.memory_delays:
            names.append(f"u(t - {d * config.hold_s:g} s)")
            tasks.append("memory")
            delays.append(d * config.hold_s)
    if config.integrators:
        blocks.append(integrator_targets(u, config.integrators))
        for tau in config.integrators:
            names.append(f"leaky integral, tau {tau * config.hold_s:g} s")
            tasks.append("integrator")
            delays.append(tau * config.hold_s)
    if config.volterra:
        blocks.append(volterra_targets(u, config.volterra))
        for a, b in config.volterra:
            names.append(f"u(t - {a * config.hold_s:g} s) u(t - {b * config.hold_s:g} s)")
            tasks.append("volterra")
            delays.append(max(a, b) * config.hold_s)
    for name, values in config.custom.items():
        blocks.append(values[:, None])
        names.append(name)
        tasks.append("custom")
        delays.append(np.nan)
    targets = np.concatenate(blocks, axis=1) if blocks else np.zeros((u.size, 0))
    return targets, names, tasks, delays


def _simulate_variants(config, drawn, biases, signal) -> dict[str, tuple]:
    """Spikes per variant; ``ahp`` and ``lif`` (one model) in one simulation."""
    out = {}
    same_model = [v for v in config.variants if v in ("ahp", "lif")]
    if same_model:
        n = drawn.rates_Hz.size
        params = LifAhpParams.concatenate([variant_parameters(drawn.params, v) for v in same_model])
        bias = np.concatenate([biases[v] for v in same_model])
        weights = np.concatenate([drawn.weights_pA[: signal.shape[0]]] * len(same_model), axis=1)
        neuron, time_s = run_driven(params, bias, weights, signal, hold=config.hold_s,
                                    dt=config.dt_s, backend=config.backend)  # fmt: skip
        for k, variant in enumerate(same_model):
            mine = (neuron >= k * n) & (neuron < (k + 1) * n)
            out[variant] = (neuron[mine] - k * n, time_s[mine])
    if "alif" in config.variants:
        out["alif"] = run_driven(
            variant_parameters(drawn.params, "alif"), biases["alif"],
            drawn.weights_pA[: signal.shape[0]], signal, hold=config.hold_s, dt=config.dt_s,
            backend=config.backend,
        )  # fmt: skip
    return {v: out[v] for v in config.variants}


def _features(config: StudyConfig, spikes, n: int, samples: int) -> np.ndarray:
    # sampled at the end of each hold, just before the next sample's input begins
    times = (np.arange(1, samples + 1) * config.hold_s - config.dt_s / 2) * second
    return filtered_spike_trains(spikes[0], spikes[1], n, times, config.readout_tau_s * second)


def _recall_rows(config, seed, drawn, biases, say) -> list[dict]:
    recall = config.recall
    task = recall_task(
        recall.trials_per_delay * len(recall.delays), recall.delays,
        distractor_std=recall.distractor_std, seed=seed + _RECALL_SEED_OFFSET,
    )  # fmt: skip
    signal = np.stack([task.value_channel, task.recall_channel])
    rows = []
    for variant, spikes in _simulate_variants(config, drawn, biases, signal).items():
        features = _features(config, spikes, drawn.rates_Hz.size, signal.shape[1])
        # calibrated on the signal alone: the cue and distractor channels move the rates,
        # which the rows report
        rate = spikes[0].size / (drawn.rates_Hz.size * signal.shape[1] * config.hold_s)
        for delay in recall.delays:
            chosen = task.delays == delay
            scores = ridge_scores(
                features[task.recall_samples[chosen]], task.values[chosen],
                names=[f"recall after {delay * config.hold_s:g} s"], split=config.split,
            )  # fmt: skip
            rows.append(_row(seed, variant, "recall", scores.iloc[0], delay * config.hold_s,
                             rate, drawn.rates_Hz.mean()))  # fmt: skip
        say(f"seed {seed} {variant}: recall scored at {len(recall.delays)} delays")
    return rows


def _row(seed, variant, task, score, delay_s, rate, target_rate) -> dict:
    return {
        "seed": seed, "variant": variant, "task": task, "target": score["target"],
        "delay_s": delay_s, "r2_test": score["r2_test"], "r2_cv": score["r2_cv"],
        "r2_train": score["r2_train"], "alpha": score["alpha"], "n_train": score["n_train"],
        "n_test": score["n_test"], "rate_Hz": rate, "target_rate_Hz": target_rate,
    }  # fmt: skip


def _fingerprint(config: StudyConfig) -> str:
    skip = ("signal", "custom", "source", "seeds", "name")  # parts are per seed
    described = {k: v for k, v in asdict(config).items() if k not in skip}
    described["population"].pop("fitted", None)  # hashed in full below, not by its repr
    text = json.dumps(described, sort_keys=True, default=repr)
    arrays = [config.signal, *config.custom.values()]
    if config.population.fitted is not None:
        arrays.append(pd.util.hash_pandas_object(config.population.fitted).to_numpy())
    extra = b"".join(np.asarray(a).tobytes() for a in arrays if a is not None)
    return hashlib.sha256(text.encode() + extra).hexdigest()[:16]
