"""Float model vs its Loihi mapping on the same long-square protocol.

Each neuron runs twice at the hardware step: as the float model in Brian2 (the catalogue's
closed-form step) and as its mapped registers in the bit-accurate fixed-point simulator. Both
start at rest, get zero input until the step onset and the sweep's constant current during the
step (Allen's long square: onset 1.02 s, width 1 s). Per sweep: spike counts in the step window
(both ends included, as Allen counts) and adaptation indices; per neuron: the gamma coincidence
factor of all its sweeps laid end to end (2 ms window), and whether it meets the tolerances.
"""

from __future__ import annotations

import logging
from collections.abc import Hashable, Mapping
from dataclasses import dataclass

import numpy as np
import pandas as pd
from brian2 import Quantity, ms, pA

from ahp_models.parameters import ParameterSet
from ahp_models.progress import log_progress
from ahp_models.results import split_spike_trains
from analysis.population_features import population_cell_features, population_sweep_features
from hardware_mapping.lava_export import to_lava
from hardware_mapping.loihi import Network, Simulator
from hardware_mapping.long_square_runs import ONSET_S, WIDTH_S, rheobase_pA
from hardware_mapping.long_square_runs import float_trains as run_float_models
from hardware_mapping.neuron_mapping import MappingError, NeuronMapping
from hardware_mapping.register_search import SEARCH_ROUNDS, map_and_search
from hardware_mapping.sensitivity import FLOOR_COPIES, sensitivity_floors, sweeps_gamma

__all__ = [
    "CELL_FEATURES",
    "DEFAULT_OFFSETS_PA",
    "TARGETS",
    "TOLERANCES",
    "ValidationResult",
    "add_counters",
    "cell_features",
    "check_protocol_step",
    "largest_quantization",
    "long_square_amplitudes",
    "quantization_table",
    "tolerance_summary",
    "validate_long_squares",
]

_log = logging.getLogger(__name__)

#: The default series: the neuron's rheobase plus these offsets (Allen steps by 20 pA).
DEFAULT_OFFSETS_PA = tuple(float(x) for x in range(-20, 161, 20))
#: What the registers run on: the chip (Loihi 1) or Lava's bit-accurate CPU models.
TARGETS = ("loihi", "lava")
#: Acceptance per neuron: every sweep's spike count within max(1 spike, 2 %) of the float
#: model's, every adaptation index within 0.02, and the gamma factor (2 ms window, sweeps laid
#: end to end) at or above the float neuron's own sensitivity floor
#: (`hardware_mapping.sensitivity`). The plain gamma >= 0.9 is reported beside it.
TOLERANCES = {"count_relative": 0.02, "count_spikes": 1, "adaptation_index": 0.02, "gamma": 0.9}


@dataclass(frozen=True)
class ValidationResult:
    """What `validate_long_squares` measured.

    Attributes
    ----------
    sweeps : pandas.DataFrame
        One row per (neuron, sweep): ``neuron``, ``amplitude_pA``, ``float_count``,
        ``fixed_count``, ``count_error`` (relative; NaN if the float model is silent; inf if
        only the fixed-point one fires),
        ``float_ai``, ``fixed_ai``, ``ai_error``.
    neurons : pandas.DataFrame
        One row per neuron: ``neuron``, ``model``, ``max_count_error`` (relative; 0 when every
        count is equal), ``max_count_difference`` (spikes), ``count_mismatches``,
        ``counts_within`` (every count within max(1 spike, 2 %)), ``max_ai_error``,
        ``gamma``, ``gamma_floor`` (the float neuron's sensitivity floor), ``gamma_at_floor``,
        ``passes`` and ``reason`` (the tolerances missed and the mapping's largest
        quantization error, or why the neuron could not be mapped).
    mappings : dict
        Neuron -> its `NeuronMapping`.
    float_trains, fixed_trains : dict
        Neuron -> per sweep, spike times (s) of the float model and of the registers.
    counters : pandas.DataFrame
        The fixed-point runs' operation counters per step, summed over chunks of neurons (for
        `hardware_mapping.energy.estimate_energy`).
    """

    sweeps: pd.DataFrame
    neurons: pd.DataFrame
    mappings: dict[Hashable, NeuronMapping]
    float_trains: dict[Hashable, list[np.ndarray]]
    fixed_trains: dict[Hashable, list[np.ndarray]]
    counters: pd.DataFrame

    def summary(self) -> dict[str, float]:
        """Fractions of neurons meeting each tolerance, and all of them."""
        return tolerance_summary(self.neurons)


def tolerance_summary(neurons: pd.DataFrame) -> dict[str, float]:
    """Fractions of neurons (rows of `ValidationResult.neurons`) within each tolerance.

    A neuron that could not be mapped counts as outside every one.
    """
    mapped = neurons["max_count_error"].notna()
    summary = {
        "neurons": float(len(neurons)),
        "count_within": float((mapped & neurons["counts_within"].fillna(False)).mean()),
        "ai_within": float(
            (mapped & (neurons["max_ai_error"].fillna(0) <= TOLERANCES["adaptation_index"])).mean()
        ),
        "gamma_at_least": float(
            (mapped & (neurons["gamma"].fillna(1) >= TOLERANCES["gamma"])).mean()
        ),
    }
    if "gamma_at_floor" in neurons:
        summary["gamma_at_floor"] = float((mapped & neurons["gamma_at_floor"].fillna(False)).mean())
    summary["all"] = float(neurons["passes"].mean())
    return summary


def check_protocol_step(dt_ms: float, field: str) -> None:
    """Refuse a time step in which the long-square protocol's times are not whole steps.

    Parameters
    ----------
    dt_ms : float
        The hardware (and float) time step.
    field : str
        The option or file field that gave it, for the error.

    Raises
    ------
    MappingError
        Unless the onset (1.02 s) and the width (1 s) are whole numbers of steps.
    """
    for name, seconds in (("onset", ONSET_S), ("width", WIDTH_S)):
        steps = seconds * 1e3 / dt_ms
        if abs(steps - round(steps)) > 1e-6 * max(1.0, steps):
            raise MappingError(
                f"{field} = {dt_ms:g} ms: the long square's {name} ({seconds:g} s) is "
                f"{steps:g} steps; allowed: a step that divides 20 ms (1, 0.5, 0.1 ms ...)"
            )


def long_square_amplitudes(params: ParameterSet, offsets: Quantity | None = None) -> Quantity:
    """The default series of a neuron: its rheobase (rounded to 10 pA) plus ``offsets``.

    Parameters
    ----------
    params : ParameterSet
        One neuron.
    offsets : Quantity, optional
        Offsets from the rheobase; default `DEFAULT_OFFSETS_PA` (-20..160 pA).

    Returns
    -------
    Quantity
        The step amplitudes.
    """
    offsets_pA = np.asarray(
        DEFAULT_OFFSETS_PA if offsets is None else offsets / pA, dtype=float
    ).reshape(-1)
    return (np.round(rheobase_pA(params), -1) + offsets_pA) * pA


def validate_long_squares(
    neurons: Mapping[Hashable, ParameterSet],
    amplitudes: Mapping[Hashable, Quantity] | None = None,
    *,
    dt: Quantity = 1 * ms,
    decay_rounding: str = "nearest",
    backend: str = "cpp_standalone",
    chunk: int = 250,
    progress: bool = False,
    mappings: Mapping[Hashable, NeuronMapping] | None = None,
    target: str = "loihi",
    search_rounds: int = SEARCH_ROUNDS,
    floor_copies: int = FLOOR_COPIES,
    seed: int = 0,
) -> ValidationResult:
    """Map every neuron and compare it with its float model on long squares.

    Parameters
    ----------
    neurons : mapping
        Key -> one neuron's parameters.
    amplitudes : mapping, optional
        Key -> the step amplitudes (a current Quantity); default `long_square_amplitudes`.
    dt : Quantity
        The hardware step, used by both simulations.
    decay_rounding : {"nearest", "paper"}
        See `map_neuron`.
    backend : str
        Brian2 backend of the float runs.
    chunk : int
        Neurons simulated together (bounds the memory of the fixed-point recording).
    progress : bool
        Report each chunk and search round through this module's logger (INFO).
    mappings : mapping, optional
        Key -> an existing mapping (e.g. read from a parameter file) to validate instead of
        mapping the neuron here.
    target : {"loihi", "lava"}
        Run the mapping itself (Loihi 1), or its Lava export (`lava_export.to_lava`, with the
        approximations it lists) in Lava's bit-accurate conventions.
    search_rounds : int
        Rounds of the register search for the neurons mapped here
        (`hardware_mapping.register_search`; 0: the rounded registers).
    floor_copies : int
        Perturbed copies of each float neuron for its sensitivity floor
        (`hardware_mapping.sensitivity`; 0: no floor, the plain gamma bar of `TOLERANCES`).
    seed : int
        Seed of the perturbations.

    Returns
    -------
    ValidationResult
        Per sweep and per neuron comparisons.
    """
    if target not in TARGETS:
        raise MappingError(f"validate_long_squares: target = {target!r}; allowed: {TARGETS}")
    keys = list(neurons)
    dt_ms = float(dt / ms)
    given_amplitudes = amplitudes
    amplitudes = {  # plain pA inside
        key: np.asarray(
            (
                given_amplitudes[key]
                if given_amplitudes is not None
                else long_square_amplitudes(neurons[key])
            )
            / pA,
            dtype=float,
        ).reshape(-1)
        for key in keys
    }
    given = dict(mappings or {})
    to_map = {key: neurons[key] for key in keys if key not in given}
    mappings, unmappable, _ = map_and_search(
        to_map,
        {key: amplitudes[key] for key in to_map},
        dt_ms=dt_ms,
        decay_rounding=decay_rounding,
        rounds=search_rounds,
        backend=backend,
        progress=_log.info if progress else None,
    )
    mappings.update(given)
    keys = [key for key in keys if key in mappings]
    float_trains, fixed_trains = {}, {}
    counters = None
    for start in range(0, len(keys), chunk):
        part = keys[start : start + chunk]
        float_trains.update(
            run_float_models({k: neurons[k] for k in part}, amplitudes, dt_ms, backend)
        )
        trains, part_counters = _fixed_trains(
            {k: mappings[k] for k in part}, amplitudes, dt_ms, target
        )
        fixed_trains.update(trains)
        counters = part_counters if counters is None else add_counters(counters, part_counters)
        if progress:
            done = min(start + chunk, len(keys))
            log_progress(
                _log,
                "validate",
                done,
                len(keys),
                "neurons",
                f"validated {done} of {len(keys)} neurons",
            )
    floors = (
        sensitivity_floors(
            {k: neurons[k] for k in keys}, amplitudes, float_trains, dt_ms=dt_ms,
            backend=backend, copies=floor_copies, seed=seed, chunk=chunk,
            progress=_log.info if progress else None,
        )
        if floor_copies > 0
        else {}
    )  # fmt: skip
    rows, summaries = [], []
    for key in keys:
        sweeps = _compare_sweeps(key, amplitudes[key], float_trains[key], fixed_trains[key])
        rows.append(sweeps)
        floor = floors.get(key, (np.nan, None))[0]
        summaries.append(_neuron_summary(key, neurons[key], mappings[key], sweeps,
                                         float_trains[key], fixed_trains[key], floor))  # fmt: skip
    for key, reason in unmappable.items():
        summaries.append(
            {"neuron": key, "model": neurons[key].model_name, "max_count_error": np.nan,
             "max_count_difference": np.nan, "count_mismatches": 0, "counts_within": False,
             "max_ai_error": np.nan, "gamma": np.nan, "gamma_floor": np.nan,
             "gamma_at_floor": False, "passes": False, "reason": f"not mappable: {reason}"}
        )  # fmt: skip
    return ValidationResult(
        sweeps=pd.concat(rows, ignore_index=True) if rows else pd.DataFrame(),
        neurons=pd.DataFrame(summaries),
        mappings=mappings,
        float_trains=float_trains,
        fixed_trains=fixed_trains,
        counters=counters if counters is not None else pd.DataFrame(),
    )


def add_counters(first: pd.DataFrame, second: pd.DataFrame) -> pd.DataFrame:
    """Operation counters of two runs over the same steps (e.g. two chunks of neurons), summed
    step by step."""
    total = first.copy()
    columns = [c for c in first.columns if c != "step"]
    total[columns] = first[columns].to_numpy() + second[columns].to_numpy()
    return total


def _fixed_trains(mappings, amplitudes, dt_ms, target) -> tuple[dict, pd.DataFrame]:
    """Spike times (s) per neuron and sweep of the mapped registers, in one network."""
    network = Network()
    names = {}
    for index, (key, mapping) in enumerate(mappings.items()):
        names[key] = f"n{index}"
        at_rest = np.zeros(amplitudes[key].size) * pA
        if target == "lava":
            to_lava(mapping).add_to(network, names[key], *mapping.bias(at_rest))
        else:
            mapping.add_to(network, names[key], at_rest)
    simulator = Simulator(
        network, mode=target, record={name: slice(None) for name in names.values()}
    )
    for key, mapping in mappings.items():
        size = amplitudes[key].size
        simulator.set_state(names[key], v=np.full(size, mapping.v_rest))
    onset_steps = round(ONSET_S * 1e3 / dt_ms)
    width_steps = round(WIDTH_S * 1e3 / dt_ms)
    runs = [simulator.run(onset_steps)]
    for key, mapping in mappings.items():
        simulator.set_bias(names[key], *mapping.bias(amplitudes[key] * pA))
    lag = 0
    if any(m.takes_input_share for m in mappings.values()):
        # the AHP compartments' share follows one step later (`set_input_share`)
        lag = 1
        runs.append(simulator.run(lag))
        for key, mapping in mappings.items():
            mapping.set_input_share(simulator, names[key], amplitudes[key] * pA)
    runs.append(simulator.run(width_steps - lag))
    trains = {}
    for key in mappings:
        raster = np.concatenate([run.spikes[names[key]] for run in runs])
        step, neuron = np.nonzero(raster)
        trains[key] = split_spike_trains(neuron, step * dt_ms * 1e-3, raster.shape[1])
    return trains, pd.concat([run.counters for run in runs], ignore_index=True)


def _window_features(trains: list[np.ndarray]) -> pd.DataFrame:
    neuron = np.concatenate([np.full(t.size, i) for i, t in enumerate(trains)] or [np.zeros(0)])
    times = np.concatenate(trains or [np.zeros(0)])
    return population_sweep_features(neuron, times, len(trains), ONSET_S, ONSET_S + WIDTH_S)


def _compare_sweeps(key, amplitudes, float_trains, fixed_trains) -> pd.DataFrame:
    ours, theirs = _window_features(fixed_trains), _window_features(float_trains)
    float_count = theirs["spike_count"].to_numpy()
    fixed_count = ours["spike_count"].to_numpy()
    with np.errstate(divide="ignore", invalid="ignore"):
        count_error = np.where(
            float_count > 0,
            np.abs(fixed_count - float_count) / float_count,
            np.where(fixed_count > 0, np.inf, np.nan),
        )
    return pd.DataFrame(
        {
            "neuron": [key] * len(amplitudes),
            "amplitude_pA": amplitudes,
            "float_count": float_count,
            "fixed_count": fixed_count,
            "count_error": count_error,
            "float_ai": theirs["adaptation_index"].to_numpy(),
            "fixed_ai": ours["adaptation_index"].to_numpy(),
            "ai_error": np.abs(ours["adaptation_index"] - theirs["adaptation_index"]).to_numpy(),
        }
    )


def _neuron_summary(key, params, mapping, sweeps, float_trains, fixed_trains, floor) -> dict:
    count_error = sweeps["count_error"].fillna(0.0)
    max_count_error = float(count_error.max()) if len(count_error) else 0.0
    difference = (sweeps["fixed_count"] - sweeps["float_count"]).abs()
    allowed = np.maximum(TOLERANCES["count_spikes"],
                         TOLERANCES["count_relative"] * sweeps["float_count"])  # fmt: skip
    counts_within = bool((difference <= allowed).all())
    ai_error = sweeps["ai_error"]
    max_ai_error = float(ai_error.max()) if ai_error.notna().any() else np.nan
    gamma = sweeps_gamma(float_trains, fixed_trains)
    # a neuron silent on every sweep (gamma undefined) has nothing to miss; no floor: judged
    # by the plain gamma bar
    bar = floor if np.isfinite(floor) else TOLERANCES["gamma"]
    at_floor = bool(not np.isfinite(gamma) or gamma >= bar)
    reasons = []
    if not counts_within:
        worst = int(np.argmax((difference - allowed).to_numpy()))
        reasons.append(
            f"spike count off by {int(difference.iloc[worst])} at "
            f"{sweeps['amplitude_pA'].iloc[worst]:g} pA"
        )
    if np.isfinite(max_ai_error) and max_ai_error > TOLERANCES["adaptation_index"]:
        reasons.append(f"adaptation index off by {max_ai_error:.3f}")
    if not at_floor:
        reasons.append(f"gamma {gamma:.3f} below the float neuron's floor {bar:.3f}")
    worst_row = largest_quantization(mapping)
    return {
        "neuron": key,
        "model": params.model_name,
        "max_count_error": max_count_error,
        "max_count_difference": int(difference.max()) if len(difference) else 0,
        "count_mismatches": int((sweeps["float_count"] != sweeps["fixed_count"]).sum()),
        "counts_within": counts_within,
        "max_ai_error": max_ai_error,
        "gamma": gamma,
        "gamma_floor": floor,
        "gamma_at_floor": at_floor,
        "passes": not reasons,
        "reason": "; ".join(reasons)
        + (
            f" (largest quantization: {worst_row['quantity']} {worst_row['relative_error']:+.1e})"
            if reasons
            else ""
        ),
    }


def largest_quantization(mapping: NeuronMapping) -> pd.Series:
    """The mapping's quantization-report row of largest relative error, t_ref left out (both
    simulations hold the same whole steps, so it is no difference between them), and the
    headroom (not an error)."""
    report = mapping.report.dropna(subset=["relative_error"])
    report = report[~report["quantity"].isin(("t_ref", "voltage headroom"))]
    return report.loc[report["relative_error"].abs().idxmax()]


def quantization_table(mappings: Mapping[Hashable, NeuronMapping]) -> pd.DataFrame:
    """Every mapping's quantization report in one table, with a ``neuron`` column."""
    return pd.concat(
        [mapping.report.assign(neuron=name) for name, mapping in mappings.items()],
        ignore_index=True,
    )


#: Allen's cell features compared between a cell, its float fit and its registers.
CELL_FEATURES = ("adaptation", "f_i_curve_slope", "avg_isi", "threshold_i_long_square")


def cell_features(
    neurons: Mapping[Hashable, ParameterSet],
    mappings: Mapping[Hashable, NeuronMapping],
    amplitudes_pA: Mapping[Hashable, np.ndarray],
    *,
    dt: Quantity = 1 * ms,
    backend: str = "cpp_standalone",
) -> pd.DataFrame:
    """Allen's cell features of each float neuron and of its registers on given long squares.

    Parameters
    ----------
    neurons : mapping
        Key -> the float neuron.
    mappings : mapping
        Key -> its registers (the amplitudes must lie within their current range).
    amplitudes_pA : mapping
        Key -> the protocol's amplitudes (pA), e.g. Allen's grid around the cell's rheobase.
    dt : Quantity
        The step of both runs.
    backend : str
        Brian2 backend of the float runs.

    Returns
    -------
    pandas.DataFrame
        One row per neuron: ``neuron`` and, for each feature of `CELL_FEATURES`,
        ``float_<feature>`` (the float neuron at ``dt``) and ``registers_<feature>``.
    """
    dt_ms = float(dt / ms)
    keys = list(mappings)
    amplitudes = {k: np.asarray(amplitudes_pA[k], dtype=float).reshape(-1) for k in keys}
    float_runs = run_float_models({k: neurons[k] for k in keys}, amplitudes, dt_ms, backend)
    fixed_runs, _ = _fixed_trains({k: mappings[k] for k in keys}, amplitudes, dt_ms, "loihi")
    rows = []
    for key in keys:
        row: dict[str, object] = {"neuron": key}
        for label, trains in (("float", float_runs[key]), ("registers", fixed_runs[key])):
            features = population_cell_features(_window_features(trains), amplitudes[key])
            for feature in CELL_FEATURES:
                row[f"{label}_{feature}"] = float(features[feature].iloc[0])
        rows.append(row)
    return pd.DataFrame(rows)
