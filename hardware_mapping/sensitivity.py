"""The float neuron's own sensitivity floor: how far its spike timing moves under 1e-4.

A neuron driven for a second at tens of hertz integrates every small difference of its
parameters into its spike times: some fitted neurons lose a gamma factor of 0.9 against
themselves when one parameter moves by 1e-4. Registers cannot be asked to agree with the float
neuron better than the float neuron agrees with itself, so each neuron's bar is its floor: the
gamma factor between the float neuron and copies of it whose every parameter is multiplied by
``1 + 1e-4`` or ``1 - 1e-4`` (a random sign per parameter and copy, seeded), run on the same
sweeps; the floor is the `FLOOR_PERCENTILE` th percentile over `FLOOR_COPIES` copies.
"""

from __future__ import annotations

import zlib
from collections.abc import Callable, Hashable, Mapping

import numpy as np
from brian2 import second

from ahp_models.parameters import ParameterSet
from analysis.metrics import gamma_factor
from hardware_mapping.long_square_runs import (
    ONSET_S,
    WIDTH_S,
    run_population,
    stacked_magnitudes,
)

__all__ = [
    "FLOOR_COPIES",
    "FLOOR_PERCENTILE",
    "PERTURBATION",
    "laid_end_to_end",
    "neuron_rng",
    "perturbed_magnitudes",
    "sensitivity_floors",
    "sweeps_gamma",
]

#: Copies per neuron, their relative perturbation and the percentile taken as the floor.
FLOOR_COPIES = 20
PERTURBATION = 1e-4
FLOOR_PERCENTILE = 5.0
#: The coincidence window of the gamma factor.
GAMMA_WINDOW_S = 2e-3


def perturbed_magnitudes(
    magnitudes: dict[str, np.ndarray],
    copies: int,
    relative: float,
    rngs: list[np.random.Generator],
) -> dict[str, np.ndarray]:
    """Copies of stacked neurons with every parameter (every element) times ``1 +- relative``.

    Parameters
    ----------
    magnitudes : dict
        Field -> (neurons, ...) values (`long_square_runs.stacked_magnitudes`).
    copies : int
        Copies per neuron (consecutive rows of the result).
    relative : float
        The relative perturbation.
    rngs : list of numpy.random.Generator
        One per neuron: draws its copies' signs, field by field.

    Returns
    -------
    dict
        Field -> (neurons * copies, ...) values.
    """
    signs: dict[str, list[np.ndarray]] = {name: [] for name in magnitudes}
    for rng in rngs:
        for name, values in magnitudes.items():
            signs[name].append(rng.choice((-1.0, 1.0), size=(copies, *values.shape[1:])))
    return {
        name: np.repeat(values, copies, axis=0) * (1.0 + relative * np.concatenate(signs[name]))
        for name, values in magnitudes.items()
    }


def neuron_rng(seed: int, key: Hashable) -> np.random.Generator:
    """A neuron's own generator, from the seed and its key: its copies do not depend on which
    other neurons are validated with it (one at a time or all together)."""
    return np.random.default_rng([seed, zlib.crc32(repr(key).encode("utf-8"))])


def laid_end_to_end(trains: list[np.ndarray]) -> np.ndarray:
    """The step-window spikes of every sweep, sweep i shifted to [i W, (i + 1) W) (s).

    The window is half open: a spike at the step's last instant and the next sweep's spike at
    its onset would otherwise land on the same time (a neuron that fires every step).
    """
    parts = []
    for index, train in enumerate(trains):
        inside = train[(train >= ONSET_S) & (train < ONSET_S + WIDTH_S)]
        parts.append(inside - ONSET_S + index * WIDTH_S)
    return np.sort(np.concatenate(parts)) if parts else np.zeros(0)


def sweeps_gamma(reference: list[np.ndarray], other: list[np.ndarray]) -> float:
    """Gamma factor (2 ms window) of two neurons' sweeps, laid end to end."""
    return gamma_factor(
        laid_end_to_end(reference) * second,
        laid_end_to_end(other) * second,
        len(reference) * WIDTH_S * second,
        window=GAMMA_WINDOW_S * second,
    )


def sensitivity_floors(
    neurons: Mapping[Hashable, ParameterSet],
    amplitudes_pA: Mapping[Hashable, np.ndarray],
    reference: Mapping[Hashable, list[np.ndarray]],
    *,
    dt_ms: float,
    backend: str = "cpp_standalone",
    copies: int = FLOOR_COPIES,
    relative: float = PERTURBATION,
    seed: int = 0,
    chunk: int = 250,
    progress: Callable[[str], None] | None = None,
) -> dict[Hashable, tuple[float, np.ndarray]]:
    """Each neuron's floor and the gammas of its perturbed copies against it.

    Parameters
    ----------
    neurons : mapping
        Key -> the float neuron.
    amplitudes_pA : mapping
        Key -> the sweeps' amplitudes (pA).
    reference : mapping
        Key -> the unperturbed neuron's spike trains on those sweeps (s).
    dt_ms : float
        The step.
    backend : str
        Brian2 backend.
    copies, relative : int, float
        Copies per neuron and their perturbation.
    seed : int
        Seed of the signs (the same seed, the same floors).
    chunk : int
        Neurons whose copies run together.
    progress : callable, optional
        Called with a line after each chunk.

    Returns
    -------
    dict
        Key -> (floor, gammas of the copies). A neuron without spikes has floor NaN.
    """
    keys = list(neurons)
    floors: dict[Hashable, tuple[float, np.ndarray]] = {}
    for start in range(0, len(keys), chunk):
        part = keys[start : start + chunk]
        by_class: dict[type, list[Hashable]] = {}
        for key in part:
            by_class.setdefault(type(neurons[key]), []).append(key)
        for params_class, members in by_class.items():
            copied = perturbed_magnitudes(
                stacked_magnitudes([neurons[k] for k in members]), copies, relative,
                [neuron_rng(seed, k) for k in members],
            )  # fmt: skip
            sweeps = np.repeat([np.asarray(amplitudes_pA[k]).size for k in members], copies)
            trains = run_population(
                params_class,
                {name: np.repeat(values, sweeps, axis=0) for name, values in copied.items()},
                np.concatenate([np.tile(np.asarray(amplitudes_pA[k], dtype=float), copies)
                                for k in members]),
                dt_ms,
                backend,
            )  # fmt: skip
            offsets = np.concatenate([[0], np.cumsum(sweeps)])
            for m, key in enumerate(members):
                gammas = np.array(
                    [
                        sweeps_gamma(reference[key], trains[offsets[row] : offsets[row + 1]])
                        for row in range(m * copies, (m + 1) * copies)
                    ]
                )
                defined = gammas[np.isfinite(gammas)]
                floor = float(np.percentile(defined, FLOOR_PERCENTILE)) if defined.size else np.nan
                floors[key] = (floor, gammas)
        if progress is not None:
            progress(f"sensitivity floors: {min(start + chunk, len(keys))} of {len(keys)} neurons")
    return floors
