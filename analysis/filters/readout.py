"""Linear readouts of a population: filtered spike trains -> ridge regression -> R^2.

A population's spike trains, each filtered by an exponential kernel (a synaptic current, time
constant ``tau``), are sampled at the readout times; a ridge regression maps them to a target
signal. The regularization is chosen by blocked k-fold cross-validation on the training part
(contiguous folds: neighbouring samples are correlated, so shuffled folds would leak), and the
score is R^2 on a held-out test segment at the end, never seen while fitting or choosing. A
``gap`` of samples between folds and before the test keeps a slowly varying target (a leaky
integral) from leaking across the boundaries.
"""

from __future__ import annotations

import itertools
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd
from brian2 import Quantity, second

from ahp_models.quantities import QuantityError, parse_quantity
from analysis.filters.kernels import FilterEstimateError
from analysis.spike_trains import as_seconds

__all__ = [
    "DEFAULT_ALPHAS",
    "MIN_SAMPLES_PER_FOLD",
    "ReadoutSplit",
    "filtered_spike_trains",
    "ridge_scores",
]

#: Ridge penalties tried, relative to the mean eigenvalue of the standardized features' Gram
#: matrix (so the grid suits any population size and sample count).
DEFAULT_ALPHAS = tuple(10.0**k for k in np.arange(-7.0, 2.01, 0.5))
#: A fold with fewer samples gives no usable validation score.
MIN_SAMPLES_PER_FOLD = 20


@dataclass(frozen=True)
class ReadoutSplit:
    """How samples are split: a training part in ``folds`` contiguous folds, then the test part.

    Attributes
    ----------
    test_fraction : float
        Fraction of the (valid) samples at the end kept for the test.
    folds : int
        Cross-validation folds of the training part.
    gap : int
        Samples left out on each side of a validation fold and before the test part, so that a
        target correlated over that many samples (a leaky integral) does not leak across.
    """

    test_fraction: float = 0.2
    folds: int = 5
    gap: int = 0

    def check(self, n_samples: int, where: str = "readout") -> None:
        """Refuse a split that leaves too few samples, before any simulation."""
        if not 0.0 < self.test_fraction < 1.0:
            raise FilterEstimateError(
                f"{where}: test_fraction = {self.test_fraction}; allowed: between 0 and 1"
            )
        if not isinstance(self.folds, int) or self.folds < 2:
            raise FilterEstimateError(f"{where}: folds = {self.folds!r}; allowed: 2 or more")
        train = int(n_samples * (1.0 - self.test_fraction)) - self.gap
        test = n_samples - train - self.gap
        fold = train // self.folds
        if (
            fold < MIN_SAMPLES_PER_FOLD
            or test < MIN_SAMPLES_PER_FOLD
            or (train - fold - 2 * self.gap < MIN_SAMPLES_PER_FOLD)
        ):
            gap = f", {self.gap} left out around each fold" if self.gap else ""
            raise FilterEstimateError(
                f"{where}: {n_samples} readout samples give {train} for training in "
                f"{self.folds} folds and {test} for the test; allowed: at least "
                f"{MIN_SAMPLES_PER_FOLD} per fold, to train on beside each{gap}, and for the "
                "test (a longer signal, or shorter holds)"
            )


def filtered_spike_trains(
    spike_neuron: np.ndarray,
    spike_time_s: np.ndarray,
    n_neurons: int,
    sample_times: Quantity,
    tau: Quantity,
) -> np.ndarray:
    """Exponentially filtered spike trains sampled at given times.

    Parameters
    ----------
    spike_neuron, spike_time_s : numpy.ndarray
        Spikes (neuron index, time in s), as `ahp_models.SimulationResult` holds them.
    n_neurons : int
        Population size.
    sample_times : Quantity
        Increasing readout times.
    tau : Quantity
        Filter time constant: each spike adds ``exp(-(t - t_spike) / tau)`` for ``t >= t_spike``.

    Returns
    -------
    numpy.ndarray
        Shape ``(n_samples, n_neurons)``.
    """
    try:
        times_s = np.atleast_1d(
            np.asarray(parse_quantity(sample_times, second, field="sample_times") / second)
        ).astype(float)
    except QuantityError as error:
        raise FilterEstimateError(str(error)) from None
    tau_s = as_seconds(tau, "tau")
    if not tau_s > 0:
        raise FilterEstimateError(f"filtered_spike_trains: tau = {tau}; allowed: > 0")
    if np.any(np.diff(times_s) <= 0):
        raise FilterEstimateError("filtered_spike_trains: sample_times must increase")
    # per spike, the first sample at or after it; the filter state carries from sample to
    # sample with factor exp(-gap / tau)
    order = np.argsort(spike_time_s, kind="stable")
    neuron = np.asarray(spike_neuron)[order]
    time_s = np.asarray(spike_time_s, dtype=float)[order]
    slot = np.searchsorted(times_s, time_s, side="left")
    inside = slot < times_s.size
    contribution = np.zeros((times_s.size, n_neurons))
    np.add.at(
        contribution,
        (slot[inside], neuron[inside]),
        np.exp(-(times_s[slot[inside]] - time_s[inside]) / tau_s),
    )
    decay = np.exp(-np.diff(times_s, prepend=times_s[0]) / tau_s)
    state = np.zeros(n_neurons)
    out = np.empty_like(contribution)
    for k in range(times_s.size):
        state = state * decay[k] + contribution[k]
        out[k] = state
    return out


def ridge_scores(
    features: np.ndarray,
    targets: np.ndarray,
    *,
    names: Sequence[str] | None = None,
    split: ReadoutSplit = ReadoutSplit(),
    alphas: Sequence[float] = DEFAULT_ALPHAS,
) -> pd.DataFrame:
    """Ridge readouts of several targets, regularization chosen per target by blocked CV.

    Parameters
    ----------
    features : numpy.ndarray
        Shape ``(n_samples, n_features)`` (e.g. `filtered_spike_trains`).
    targets : numpy.ndarray
        Shape ``(n_samples,)`` or ``(n_samples, n_targets)``; NaN marks samples where a target
        is undefined (a delay reaching before the signal), left out of its fit and score.
    names : sequence of str, optional
        Target names (default ``target_0``...).
    split : ReadoutSplit
        Test fraction and folds.
    alphas : sequence of float
        Penalties, relative to the mean eigenvalue of the training Gram matrix.

    Returns
    -------
    pandas.DataFrame
        Per target: ``target``, ``r2_test``, ``r2_train``, ``r2_cv`` (best mean validation),
        ``alpha`` (relative), ``n_train``, ``n_test``.
    """
    x = np.asarray(features, dtype=float)
    y = np.asarray(targets, dtype=float)
    y = y[:, None] if y.ndim == 1 else y
    if x.ndim != 2 or y.ndim != 2 or x.shape[0] != y.shape[0]:
        raise FilterEstimateError(
            f"ridge_scores: features {x.shape} and targets {np.shape(targets)}; allowed: the "
            "same number of samples (rows)"
        )
    if not np.isfinite(x).all():
        raise FilterEstimateError("ridge_scores: features hold NaN or infinite values")
    names = list(names) if names is not None else [f"target_{k}" for k in range(y.shape[1])]
    if len(names) != y.shape[1]:
        raise FilterEstimateError(f"ridge_scores: {len(names)} names for {y.shape[1]} targets")
    rows = []
    # targets sharing the same valid samples share the decompositions
    valid = np.isfinite(y)
    patterns: dict[bytes, list[int]] = {}
    for column in range(y.shape[1]):
        patterns.setdefault(valid[:, column].tobytes(), []).append(column)
    for columns in patterns.values():
        mask = valid[:, columns[0]]
        split.check(int(mask.sum()), f"ridge_scores (target {names[columns[0]]!r})")
        scores = _scores(x[mask], y[mask][:, columns], split, np.asarray(alphas, dtype=float))
        for column, score in zip(columns, scores, strict=True):
            rows.append((column, {"target": names[column], **score}))
    return pd.DataFrame([row for _, row in sorted(rows, key=lambda r: r[0])])


def _scores(x, y, split: ReadoutSplit, alphas: np.ndarray) -> list[dict]:
    n = x.shape[0]
    test_start = int(n * (1.0 - split.test_fraction))
    n_train = test_start - split.gap  # the gap before the test part is in neither
    bounds = np.linspace(0, n_train, split.folds + 1).astype(int)
    validation = np.zeros((alphas.size, y.shape[1]))
    for lo, hi in itertools.pairwise(bounds):
        train = np.r_[0 : max(lo - split.gap, 0), min(hi + split.gap, n_train) : n_train]
        fit = _RidgePath(x[train], y[train])
        validation += _r2(y[lo:hi], fit.predict(x[lo:hi], alphas)) * (hi - lo)
    validation /= n_train
    best = validation.argmax(axis=0)
    fit = _RidgePath(x[:n_train], y[:n_train])
    test = fit.predict(x[test_start:], alphas)
    train = fit.predict(x[:n_train], alphas)
    r2_test, r2_train = _r2(y[test_start:], test), _r2(y[:n_train], train)
    columns = np.arange(y.shape[1])
    return [
        {
            "r2_test": float(r2_test[best[c], c]),
            "r2_train": float(r2_train[best[c], c]),
            "r2_cv": float(validation[best[c], c]),
            "alpha": float(alphas[best[c]]),
            "n_train": n_train,
            "n_test": n - test_start,
        }
        for c in columns
    ]


class _RidgePath:
    """Ridge solutions for many penalties from one eigendecomposition of the Gram matrix."""

    def __init__(self, x: np.ndarray, y: np.ndarray) -> None:
        self.mean = x.mean(axis=0)
        scale = x.std(axis=0)
        self.scale = np.where(scale > 0, scale, 1.0)  # a silent feature stays 0
        z = (x - self.mean) / self.scale
        self.y_mean = y.mean(axis=0)
        gram = z.T @ z
        self.eigenvalues, self.eigenvectors = np.linalg.eigh(gram)
        self.eigenvalues = np.clip(self.eigenvalues, 0.0, None)
        self.projected = self.eigenvectors.T @ (z.T @ (y - self.y_mean))
        self.unit = max(float(np.mean(self.eigenvalues)), 1e-300)

    def predict(self, x: np.ndarray, alphas: np.ndarray) -> np.ndarray:
        """Predictions for every penalty: shape ``(n_alphas, n_samples, n_targets)``."""
        zv = ((x - self.mean) / self.scale) @ self.eigenvectors
        out = np.empty((alphas.size, x.shape[0], self.projected.shape[1]))
        for index, alpha in enumerate(alphas):
            shrink = 1.0 / (self.eigenvalues + alpha * self.unit)
            out[index] = (zv * shrink) @ self.projected + self.y_mean
        return out


def _r2(y: np.ndarray, predictions: np.ndarray) -> np.ndarray:
    """R^2 of each penalty's predictions per target: shape ``(n_alphas, n_targets)``."""
    residual = ((predictions - y[None]) ** 2).sum(axis=1)
    total = ((y - y.mean(axis=0)) ** 2).sum(axis=0)
    return 1.0 - residual / np.where(total > 0, total, np.nan)
