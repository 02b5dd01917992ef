"""Input signals and target filters of the population studies, sampled once per hold.

The input ``u`` is a random signal held for ``hold`` seconds per sample (Gaussian, unit
variance, seeded). Targets are functions of its past, one value per sample (NaN where the past
they need lies before the signal):

- `delay_targets`: ``u[n - d]``, the memory curve's delay lines;
- `integrator_targets`: ``(1 - a) sum_k a**k u[n - k]``, leaky integrators (``a = exp(-hold /
  tau)``), scaled to unit variance;
- `volterra_targets`: ``u[n - d1] u[n - d2]``, second-order Volterra terms (nonlinear fading
  memory);
- `recall_task`: a value shown at a cue, to be reported at a recall cue ``delay`` later, with
  distractor input in between.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import scipy.signal

from analysis.filters.kernels import FilterEstimateError

__all__ = [
    "RecallTask",
    "delay_targets",
    "held_signal",
    "integrator_targets",
    "recall_task",
    "volterra_targets",
]


def held_signal(n_samples: int, seed: int) -> np.ndarray:
    """Gaussian samples of unit variance (``numpy.random.default_rng(seed)``)."""
    if not isinstance(seed, int | np.integer) or seed < 0:
        raise FilterEstimateError(f"held_signal: seed = {seed!r}; allowed: a whole number >= 0")
    return np.random.default_rng(int(seed)).standard_normal(int(n_samples))


def delay_targets(u: np.ndarray, delays: Sequence[int]) -> np.ndarray:
    """``u[n - d]`` for each delay ``d`` (samples), shape ``(n, len(delays))``."""
    u = np.asarray(u, dtype=float)
    out = np.full((u.size, len(delays)), np.nan)
    for column, d in enumerate(delays):
        if not 0 <= d < u.size:
            raise FilterEstimateError(
                f"delay_targets: delay {d} samples; allowed: 0..{u.size - 1} (the signal's length)"
            )
        out[d:, column] = u[: u.size - d]
    return out


def integrator_targets(u: np.ndarray, time_constants: Sequence[float]) -> np.ndarray:
    """Leaky integrals of ``u`` with these time constants (in samples), unit variance.

    The first ``3 tau`` samples, where the integral has not forgotten its zero start, are NaN.
    """
    u = np.asarray(u, dtype=float)
    out = np.full((u.size, len(time_constants)), np.nan)
    for column, tau in enumerate(time_constants):
        if not tau > 0:
            raise FilterEstimateError(f"integrator_targets: tau = {tau}; allowed: > 0 samples")
        keep = np.exp(-1.0 / tau)
        y = scipy.signal.lfilter([1.0 - keep], [1.0, -keep], u)
        start = min(u.size, int(np.ceil(3 * tau)))
        y[:start] = np.nan
        spread = np.nanstd(y)
        out[:, column] = y / spread if spread > 0 else y
    return out


def volterra_targets(u: np.ndarray, pairs: Sequence[tuple[int, int]]) -> np.ndarray:
    """``u[n - d1] * u[n - d2]`` for each pair of delays (samples)."""
    delayed = delay_targets(u, sorted({d for pair in pairs for d in pair}))
    index = {d: k for k, d in enumerate(sorted({d for pair in pairs for d in pair}))}
    return np.stack([delayed[:, index[a]] * delayed[:, index[b]] for a, b in pairs], axis=1)


@dataclass(frozen=True)
class RecallTask:
    """A store-and-recall session: inputs per sample and where each trial is scored.

    Attributes
    ----------
    value_channel : numpy.ndarray
        Per sample: the value at its cue sample, distractor noise elsewhere.
    recall_channel : numpy.ndarray
        Per sample: 1 at recall cues, 0 elsewhere.
    values : numpy.ndarray
        Per trial, the value to report.
    delays : numpy.ndarray
        Per trial, the cue-to-recall delay (samples).
    recall_samples : numpy.ndarray
        Per trial, the sample at which the value must be reported.
    """

    value_channel: np.ndarray
    recall_channel: np.ndarray
    values: np.ndarray
    delays: np.ndarray
    recall_samples: np.ndarray


def recall_task(
    n_trials: int, delays: Sequence[int], *, distractor_std: float, seed: int
) -> RecallTask:
    """Trials of a value (uniform, unit variance) shown at a cue and recalled ``delay`` later.

    Each trial lasts ``delay + 2`` samples: the cue at its first sample, the recall ``delay``
    samples later, one quiet sample after it; the delays cycle through ``delays``, so each
    gets ``n_trials / len(delays)`` trials. Between cues the value channel carries Gaussian
    distractor noise of ``distractor_std``.
    """
    if not delays or min(delays) < 1:
        raise FilterEstimateError(f"recall_task: delays {list(delays)}; allowed: >= 1 sample")
    if n_trials < len(delays):
        raise FilterEstimateError(
            f"recall_task: {n_trials} trials for {len(delays)} delays; allowed: at least one "
            "trial per delay"
        )
    rng = np.random.default_rng(int(seed))
    trial_delays = np.resize(np.asarray(delays, dtype=int), n_trials)
    starts = np.concatenate([[0], np.cumsum(trial_delays + 2)[:-1]])
    n = int(starts[-1] + trial_delays[-1] + 2)
    value_channel = distractor_std * rng.standard_normal(n)
    recall_channel = np.zeros(n)
    values = rng.uniform(-np.sqrt(3.0), np.sqrt(3.0), n_trials)
    value_channel[starts] = values
    recall = starts + trial_delays
    recall_channel[recall] = 1.0
    return RecallTask(value_channel, recall_channel, values, trial_delays, recall)
