"""Registers checked by the float neuron: a search of the rounded registers' neighbourhood.

The mapper (`hardware_mapping.quantization`) rounds every register once, analytically. Each
rounding is small (about 1e-4 of the drive, the threshold or an AHP increment), but a neuron
that fires for a second integrates them, and which integer neighbour lands closest to the float
neuron's spike trains is not predictable from the roundings alone. So the search runs the
neighbours in the bit-accurate simulator and keeps the one whose spike trains are closest to
the float neuron's:

- on a *training* protocol that is not the scored one: long squares at the amplitudes halfway
  between those of the scored series and 0.25 pA either side of the float neuron's rheobase
  (`training_amplitudes`), so nothing is tuned to the sweeps a validation scores;
- over one register set per neuron, valid for any input: the moves change the threshold
  mantissa, the drive's offset and gain (the bias of every current), each AHP synapse's
  mantissa, each AHP decay and its compensation bias; never a bias per sweep;
- by the earth mover's distance between spike trains (the area between the two cumulative
  spike counts over the step, in spike-steps): a spike moved by one step costs 1, a spike too
  many costs the rest of the step. Greedy: each round evaluates every single move from the
  current best, vectorised over all candidates of many neurons in one fixed-point network,
  and moves to the best if it is strictly better.

Which lattice the rounding starts from matters as much as the search: a neuron whose chosen
registers still miss the float neuron on the training sweeps (gamma below
`RESTART_BELOW_GAMMA`) is mapped again at smaller shares of its largest scale
(`RESTART_SCALES`), searched again, and keeps the start whose registers reach the highest
training gamma. On the full Allen fit this lifted the cells at their sensitivity floor by about
a point. Mapping every neuron at a smaller scale instead gains about as many cells as it loses:
what helps is a second lattice for the neurons the first one fits badly, chosen on training
sweeps.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Hashable, Mapping
from dataclasses import dataclass

import numpy as np
from brian2 import ms, pA

from ahp_models.parameters import ParameterSet
from hardware_mapping.headroom import voltage_bound
from hardware_mapping.loihi import CompartmentGroup, Network, Simulator
from hardware_mapping.loihi.registers import DECAY_REGISTER, VTH_MANT
from hardware_mapping.long_square_runs import ONSET_S, float_trains, rheobase_pA
from hardware_mapping.mapped_neuron import (
    AhpCompartment,
    MappingError,
    NeuronMapping,
    quantize_bias,
)
from hardware_mapping.network_mapping import add_ahp_compartments, ahp_slot_biases
from hardware_mapping.neuron_mapping import map_neuron
from hardware_mapping.quantization import MIN_VTH_MANT, weights_text, with_headroom_row
from hardware_mapping.sensitivity import sweeps_gamma

__all__ = [
    "RESTART_BELOW_GAMMA",
    "RESTART_SCALES",
    "RHEOBASE_MARGIN_PA",
    "SEARCH_ROUNDS",
    "TRAINING_ONSET_S",
    "SearchOutcome",
    "map_and_search",
    "search_registers",
    "training_amplitudes",
]

#: Greedy rounds of single moves (each evaluates every neighbour of the current best).
SEARCH_ROUNDS = 6
#: The training protocol's rest before the step (s) and its step (s): the scored protocol's
#: step after a shorter rest (the neuron starts at its resting state).
TRAINING_ONSET_S, TRAINING_WIDTH_S = 0.1, 1.0
#: Threshold mantissa moves.
VTH_MOVES = (-4, -2, -1, 1, 2, 4)
#: Drive moves, in bias steps at the top of the range (offset, and gain at the top current).
DRIVE_MOVES = (-2.0, -1.0, -0.5, 0.5, 1.0, 2.0)
#: The training pair around the float neuron's rheobase lies this far from it (pA).
RHEOBASE_MARGIN_PA = 0.25
#: Neurons (candidates x sweeps) simulated together.
NEURONS_PER_RUN = 12_000
#: Steps per simulator call (bounds the memory of the recording).
RECORD_BLOCK = 128
#: A neuron whose searched registers reach less than this gamma against the float neuron on
#: the training sweeps starts again from the smaller scales `RESTART_SCALES`.
RESTART_BELOW_GAMMA = 0.98
#: Shares of the largest scale the range allows that a restart maps at.
RESTART_SCALES = (0.95, 0.9)


@dataclass(frozen=True)
class SearchOutcome:
    """What the search did for one neuron.

    Attributes
    ----------
    mapping : NeuronMapping
        The chosen registers (the rounded ones if no neighbour was better).
    rounded_distance, chosen_distance : float
        Earth mover's distance (spike-steps, summed over the training sweeps) of the rounded
        and of the chosen registers to the float neuron.
    moves : tuple of str
        The moves taken, in order (a restart's scale first).
    candidates : int
        Register sets simulated.
    training_gamma : float
        Gamma factor (2 ms) of the chosen registers against the float neuron on the training
        sweeps (NaN where the float neuron does not spike there).
    """

    mapping: NeuronMapping
    rounded_distance: float
    chosen_distance: float
    moves: tuple[str, ...]
    candidates: int
    training_gamma: float = np.nan


def training_amplitudes(params: ParameterSet, scored_pA: np.ndarray) -> np.ndarray:
    """The training amplitudes (pA): halfway between consecutive scored amplitudes, and the
    float neuron's rheobase +- `RHEOBASE_MARGIN_PA`.

    The pair around the rheobase holds the registers' threshold current to the float
    neuron's: between the midpoints (20 pA apart on Allen's grids) a rheobase shifted by a few
    pA costs no spike, yet moves a cell's rheobase sweep, its first spikes and its latency.

    Parameters
    ----------
    params : ParameterSet
        The neuron (its model's `rheobase`).
    scored_pA : numpy.ndarray
        The scored series (sorted or not).

    Returns
    -------
    numpy.ndarray
        The midpoints of the sorted unique scored amplitudes, then the pair (those within the
        scored series' span and not already scored).
    """
    scored = np.unique(np.asarray(scored_pA, dtype=float))
    if not scored.size:
        return scored
    midpoints = (scored[1:] + scored[:-1]) / 2.0
    rheobase = rheobase_pA(params)
    pair = np.array([rheobase - RHEOBASE_MARGIN_PA, rheobase + RHEOBASE_MARGIN_PA])
    keep = (pair >= scored[0]) & (pair <= scored[-1]) & ~np.isin(pair, scored)
    return np.concatenate([midpoints, pair[keep]])


def search_registers(
    neurons: Mapping[Hashable, ParameterSet],
    mappings: Mapping[Hashable, NeuronMapping],
    amplitudes_pA: Mapping[Hashable, np.ndarray],
    *,
    rounds: int = SEARCH_ROUNDS,
    backend: str = "cpp_standalone",
    progress: Callable[[str], None] | None = None,
    start: str = "",
) -> dict[Hashable, SearchOutcome]:
    """Search each mapping's integer neighbourhood against its float neuron.

    Parameters
    ----------
    neurons : mapping
        Key -> the float neuron.
    mappings : mapping
        Key -> its rounded mapping (`map_neuron`).
    amplitudes_pA : mapping
        Key -> the training amplitudes (pA, within the mapping's current range), e.g.
        `training_amplitudes` of the scored series.
    rounds : int
        Greedy rounds (0: no search).
    backend : str
        Brian2 backend of the float reference runs.
    progress : callable, optional
        Called with a line after each round.
    start : str
        How the mappings were started, if not as `map_neuron` does by default (e.g. a
        restart's scale): the first entry of each neuron's moves and search report.

    Returns
    -------
    dict
        Key -> `SearchOutcome`.
    """
    keys, amplitudes, dt_ms = _searchable(mappings, amplitudes_pA)
    reference = _reference_counts(neurons, keys, amplitudes, dt_ms, backend) if keys else {}
    return _search(mappings, amplitudes, reference, rounds, progress, start)


def _searchable(mappings, amplitudes_pA) -> tuple[list, dict[Hashable, np.ndarray], float]:
    """The neurons with training sweeps, their amplitudes (pA) and the mappings' one step."""
    keys = [k for k in mappings if np.asarray(amplitudes_pA[k]).size]
    dt_values = {mappings[k].dt_ms for k in keys}
    if len(dt_values) > 1:
        raise ValueError(f"search_registers: mappings of several time steps {sorted(dt_values)}")
    amplitudes = {k: np.asarray(amplitudes_pA[k], dtype=float).reshape(-1) for k in keys}
    return keys, amplitudes, dt_values.pop() if dt_values else np.nan


def _search(mappings, amplitudes, reference, rounds, progress, start) -> dict:
    """`search_registers` with the float neurons' cumulative counts already run (the keys of
    ``amplitudes`` are the neurons with training sweeps)."""
    keys = list(amplitudes)
    outcomes = {
        k: SearchOutcome(mappings[k], np.nan, np.nan, (), 0) for k in mappings if k not in keys
    }
    if not keys:
        return outcomes
    dt_ms = mappings[keys[0]].dt_ms
    best = {k: mappings[k] for k in keys}
    moves: dict[Hashable, list[str]] = {k: [] for k in keys}
    evaluated = dict.fromkeys(keys, 1)
    distance = _distances({k: [best[k]] for k in keys}, amplitudes, reference, dt_ms)
    rounded = {k: float(distance[k][0]) for k in keys}
    current = dict(rounded)
    active = list(keys)  # a neuron that did not move keeps its neighbourhood: not run again
    for round_index in range(rounds):
        neighbourhoods = {k: _held_neighbours(best[k]) for k in active}
        candidates = {k: [m for _, m in neighbourhoods[k]] for k in active}
        scores = _distances(candidates, amplitudes, reference, dt_ms)
        moved = []
        for k in active:
            evaluated[k] += len(candidates[k])
            if not len(scores[k]):
                continue
            choice = int(np.argmin(scores[k]))
            if scores[k][choice] < current[k]:
                best[k] = candidates[k][choice]
                current[k] = float(scores[k][choice])
                moves[k].append(neighbourhoods[k][choice][0])
                moved.append(k)
        if progress is not None:
            progress(
                f"register search: round {round_index + 1} of {rounds}, {len(moved)} of "
                f"{len(active)} neurons moved"
            )
        active = moved
        if not active:
            break
    gammas = _score({k: [best[k]] for k in keys}, amplitudes, reference, dt_ms, _gamma)
    for k in keys:
        taken = [start, *moves[k]] if start else moves[k]
        mapping = _with_search_report(best[k], taken) if taken else best[k]
        outcomes[k] = SearchOutcome(mapping, rounded[k], current[k], tuple(taken), evaluated[k],
                                    float(gammas[k][0]))  # fmt: skip
    return outcomes


def _reference_counts(neurons, keys, amplitudes, dt_ms, backend) -> dict[Hashable, np.ndarray]:
    """Cumulative spike counts of the float neuron per training sweep: (window steps, sweeps)."""
    trains = float_trains({k: neurons[k] for k in keys}, amplitudes, dt_ms, backend,
                          onset_s=TRAINING_ONSET_S, width_s=TRAINING_WIDTH_S)  # fmt: skip
    onset, width = _window(dt_ms)
    counts = {}
    for k in keys:
        raster = np.zeros((width + 1, amplitudes[k].size), dtype=np.int32)
        for sweep, times in enumerate(trains[k]):
            steps = np.round(np.asarray(times) * 1e3 / dt_ms).astype(np.int64) - onset
            steps = steps[(steps >= 0) & (steps <= width)]
            np.add.at(raster[:, sweep], steps, 1)
        counts[k] = np.cumsum(raster, axis=0)
    return counts


def _window(dt_ms: float) -> tuple[int, int]:
    return round(TRAINING_ONSET_S * 1e3 / dt_ms), round(TRAINING_WIDTH_S * 1e3 / dt_ms)


def _distances(candidates, amplitudes, reference, dt_ms) -> dict[Hashable, np.ndarray]:
    """Earth mover's distance of every candidate (summed over its training sweeps)."""
    return _score(candidates, amplitudes, reference, dt_ms, _earth_movers)


def _earth_movers(counts: np.ndarray, reference: np.ndarray, dt_ms: float) -> float:
    del dt_ms  # in spike-steps
    return float(np.abs(counts - reference).sum())


def _gamma(counts: np.ndarray, reference: np.ndarray, dt_ms: float) -> float:
    """Gamma factor (`hardware_mapping.sensitivity.sweeps_gamma`) of cumulative counts."""

    def trains(cumulative: np.ndarray) -> list[np.ndarray]:
        # spike steps of the window, placed where `sweeps_gamma` looks for a sweep's step
        spiked = np.diff(cumulative, axis=0, prepend=0) > 0
        return [ONSET_S + np.flatnonzero(column) * dt_ms * 1e-3 for column in spiked.T]

    return sweeps_gamma(trains(reference), trains(counts))


def _score(candidates, amplitudes, reference, dt_ms, score) -> dict[Hashable, np.ndarray]:
    """``score(counts, reference counts, dt_ms)`` of every candidate on its training sweeps,
    many candidates per fixed-point run."""
    rows = [(k, index) for k in candidates for index in range(len(candidates[k]))]
    result = {k: np.zeros(len(candidates[k])) for k in candidates}
    start = 0
    while start < len(rows):
        part, neurons = [], 0
        while start < len(rows):
            k, _ = rows[start]
            if part and neurons + amplitudes[k].size > NEURONS_PER_RUN:
                break
            part.append(rows[start])
            neurons += amplitudes[k].size
            start += 1
        mappings = [candidates[k][i] for k, i in part]
        currents = [amplitudes[k] for k, _ in part]
        counts = _cumulative_counts(mappings, currents, dt_ms)
        column = 0
        for (k, index), sweeps in zip(part, currents, strict=True):
            mine = counts[:, column : column + sweeps.size]
            result[k][index] = score(mine, reference[k], dt_ms)
            column += sweeps.size
    return result


def _cumulative_counts(mappings: list[NeuronMapping], currents: list[np.ndarray], dt_ms: float):
    """Run every (mapping, current) pair on the training protocol; cumulative spike counts
    in the step window, (window steps + 1, pairs)."""
    network = Network()
    per_neuron = [m for m, c in zip(mappings, currents, strict=True) for _ in range(c.size)]
    rest = [m.bias_registers(np.zeros(c.size)) for m, c in zip(mappings, currents, strict=True)]
    step = [m.bias_registers(c) for m, c in zip(mappings, currents, strict=True)]
    main = CompartmentGroup(
        "main",
        len(per_neuron),
        decay_u=4096,
        decay_v=[m.decay_v for m in per_neuron],
        vth_mant=[m.vth_mant for m in per_neuron],
        bias_mant=np.concatenate([b[0] for b in rest]),
        bias_exp=np.concatenate([b[1] for b in rest]),
        refract_delay=[m.refract_delay for m in per_neuron],
    )
    network.add(main)
    add_ahp_compartments(network, main, per_neuron)
    simulator = Simulator(network, record={"main": slice(None)})
    simulator.set_state("main", v=np.array([m.v_rest for m in per_neuron]))
    onset, width = _window(dt_ms)
    simulator.run(onset)
    simulator.set_bias(
        "main", np.concatenate([b[0] for b in step]), np.concatenate([b[1] for b in step])
    )
    # AHP compartments that take a share of the input follow the step one step later
    # (`NeuronMapping.set_input_share`)
    step_pA = np.concatenate(currents)
    sharing = [
        slot
        for slot in range(max(len(m.aux) for m in per_neuron))
        if any(len(m.aux) > slot and m.aux[slot].bias_per_pA for m in per_neuron)
    ]
    counts = np.zeros((width + 1, len(per_neuron)), dtype=np.int32)
    total = np.zeros(len(per_neuron), dtype=np.int32)
    done = 0
    while done <= width:
        block = 1 if sharing and done == 0 else min(RECORD_BLOCK, width + 1 - done)
        spikes = simulator.run(block).spikes["main"]
        counts[done : done + block] = total + np.cumsum(spikes, axis=0, dtype=np.int32)
        total = counts[done + block - 1].copy()
        done += block
        if done == 1:
            for slot in sharing:
                biases = ahp_slot_biases(per_neuron, step_pA, slot)
                simulator.set_bias(f"main_ahp{slot + 1}", *biases)
    return counts


def _held_neighbours(mapping: NeuronMapping) -> list[tuple[str, NeuronMapping]]:
    """`_neighbours` whose registers hold them over the stated range: every state inside its
    bound and every bias inside the bias register."""
    return [(what, m) for what, m in _neighbours(mapping) if _holds(m)]


def _holds(mapping: NeuronMapping) -> bool:
    try:
        return voltage_bound(mapping).holds
    except MappingError:  # a bias beyond the register at the end of the range
        return False


def _neighbours(mapping: NeuronMapping) -> list[tuple[str, NeuronMapping]]:
    """Every single move from ``mapping``: (description, mapping)."""
    replace = dataclasses.replace
    moves: list[tuple[str, NeuronMapping]] = []
    for delta in VTH_MOVES:
        mant = mapping.vth_mant + delta
        if MIN_VTH_MANT <= mant <= VTH_MANT.high:
            moves.append((f"vth_mant {delta:+d}", replace(mapping, vth_mant=mant)))
    low, high = mapping.current_range_pA
    top = high if abs(high) >= abs(low) else low
    _, exponent = quantize_bias(mapping.drive_pA(np.array([top])))
    bias_step = 2.0 ** int(exponent[0])
    for fraction in DRIVE_MOVES:
        shift = fraction * bias_step
        moves.append((f"drive offset {fraction:+g} bias step",
                      replace(mapping, drive_offset=mapping.drive_offset + shift)))  # fmt: skip
        if top != 0:
            gain = mapping.drive_per_pA + shift / top
            moves.append((f"drive gain {fraction:+g} bias step at {top:g} pA",
                          replace(mapping, drive_per_pA=gain)))  # fmt: skip
    for k, compartment in enumerate(mapping.aux):
        for changed, what in _compartment_moves(compartment):
            aux = list(mapping.aux)
            aux[k] = changed
            moves.append((f"AHP compartment {k + 1} {what}", replace(mapping, aux=tuple(aux))))
    # a weight step from one compartment of a term's pair to the other: the same charge,
    # another share between the two decays (the pair's effective time constant)
    for k in range(len(mapping.aux) - 1):
        first, second = mapping.aux[k], mapping.aux[k + 1]
        if not first.term or first.term != second.term:
            continue
        for delta in (-1, 1):
            shifted = (_add_step(first, delta), _add_step(second, -delta))
            if None in shifted:
                continue
            aux = list(mapping.aux)
            aux[k], aux[k + 1] = shifted
            moves.append((f"AHP compartments {k + 1}/{k + 2} share {delta:+d} step",
                          replace(mapping, aux=tuple(aux))))  # fmt: skip
    return moves


def _add_step(compartment: AhpCompartment, delta: int) -> AhpCompartment | None:
    """The compartment with one weight step (64 units) more or less on its finest synapse, or
    None if that synapse cannot take it."""
    weights = list(compartment.weights)
    if not weights:  # a compartment that takes a share of the input only
        return None
    weight, exponent = weights[-1]
    # the compartment's direction: its fine synapse may have the other sign (a remainder)
    sign = 1 if compartment.input_per_spike > 0 else -1
    if exponent != 0:  # no fine synapse yet: add one
        weights.append((sign * delta, 0))
    elif abs(weight + sign * delta) > 255:
        return None
    elif weight + sign * delta == 0:
        if len(weights) == 1:
            return None
        weights.pop()
    else:
        weights[-1] = (weight + sign * delta, 0)
    return dataclasses.replace(compartment, weights=tuple(weights))


def _compartment_moves(compartment: AhpCompartment) -> list[tuple[AhpCompartment, str]]:
    replace = dataclasses.replace
    moves = []
    for part, (weight, exponent) in enumerate(compartment.weights):
        for delta in (-1, 1):
            changed = weight + delta
            if abs(changed) > 255:
                continue
            weights = list(compartment.weights)
            if changed == 0:
                if part == 0:
                    continue
                del weights[part]
            else:
                weights[part] = (changed, exponent)
            moves.append((replace(compartment, weights=tuple(weights)),
                          f"weight {part + 1} {delta:+d}"))  # fmt: skip
    for delta in (-1, 1):
        decay = compartment.decay + delta
        if 1 <= decay <= DECAY_REGISTER.high:
            moves.append((replace(compartment, decay=decay), f"decay {delta:+d}"))
    if compartment.decay > 0:  # a biased compartment that does not decay would integrate
        sign = int(np.sign(compartment.input_per_spike))
        toggled = 0 if compartment.bias else sign
        moves.append((replace(compartment, bias=toggled), f"bias {compartment.bias} -> {toggled}"))
    return moves


def _with_search_report(chosen: NeuronMapping, moves: list[str]) -> NeuronMapping:
    """The chosen mapping, its report stating the search's register changes."""
    report = chosen.report.copy()
    scale = chosen.scale_per_mV
    threshold = report["quantity"] == "threshold"
    report.loc[threshold, "realized"] = 64 * chosen.vth_mant / scale
    report.loc[threshold, "note"] = f"vth_mant {chosen.vth_mant} (searched)"
    for term_row in report.index[report["quantity"].str.endswith(" increment")]:
        term = report.loc[term_row, "quantity"].removesuffix(" increment")
        members = [c for c in chosen.aux if c.term == term]
        report.loc[term_row, "realized"] = -sum(c.input_per_spike for c in members) / scale
        report.loc[term_row, "note"] = "; ".join(
            f"decay {c.decay}: {weights_text(c.weights)}, bias {c.bias}" for c in members
        )
    requested = report["requested"]
    with np.errstate(divide="ignore", invalid="ignore"):
        report["relative_error"] = np.where(
            requested != 0, (report["realized"] - requested) / requested, np.nan
        )
    report.loc[len(report)] = {
        "quantity": "register search",
        "unit": "moves",
        "requested": 0.0,
        "realized": float(len(moves)),
        "relative_error": np.nan,
        "note": "; ".join(moves),
    }
    return with_headroom_row(dataclasses.replace(chosen, report=report))


def map_and_search(
    neurons: Mapping[Hashable, ParameterSet],
    scored_pA: Mapping[Hashable, np.ndarray],
    *,
    dt_ms: float = 1.0,
    decay_rounding: str = "nearest",
    rounds: int = SEARCH_ROUNDS,
    backend: str = "cpp_standalone",
    progress: Callable[[str], None] | None = None,
    also_pA: Mapping[Hashable, np.ndarray] | None = None,
) -> tuple[dict[Hashable, NeuronMapping], dict[Hashable, str], dict[Hashable, SearchOutcome]]:
    """Map neurons over their scored series' range and search their registers.

    Parameters
    ----------
    neurons : mapping
        Key -> the float neuron.
    scored_pA : mapping
        Key -> the amplitudes (pA) it will be scored on: the mapping's range is
        ``min(0, lowest)..max(0, highest)`` and the search trains between them
        (`training_amplitudes`).
    dt_ms : float
        The hardware step.
    decay_rounding : str
        See `hardware_mapping.neuron_mapping.map_neuron`.
    rounds : int
        Search rounds (0: the rounded registers).
    backend : str
        Brian2 backend of the float reference runs.
    progress : callable, optional
        Called with a line after each search round.
    also_pA : mapping, optional
        Key -> other amplitudes (pA) the registers must hold (e.g. Allen's grid around the
        cell's own rheobase): the range covers them too.

    Returns
    -------
    (dict, dict, dict)
        Key -> mapping; key -> why it could not be mapped; key -> `SearchOutcome`.
    """
    ranges_pA, unmappable = {}, {}
    for key in neurons:
        amplitudes = np.asarray(scored_pA[key], dtype=float).reshape(-1)
        if also_pA is not None and key in also_pA:
            amplitudes = np.concatenate([amplitudes, np.asarray(also_pA[key], dtype=float)])
        ranges_pA[key] = (min(0.0, amplitudes.min()), max(0.0, amplitudes.max()))

    def mapped_at(keys, scale_fraction: float, errors: dict) -> dict[Hashable, NeuronMapping]:
        mappings = {}
        for key in keys:
            low_pA, high_pA = ranges_pA[key]
            try:
                mappings[key] = map_neuron(
                    neurons[key], dt=dt_ms * ms, current_range=(low_pA * pA, high_pA * pA),
                    decay_rounding=decay_rounding, name=str(key), scale_fraction=scale_fraction,
                )  # fmt: skip
            except MappingError as error:
                errors[key] = str(error)
        return mappings

    first = mapped_at(neurons, 1.0, unmappable)
    keys, amplitudes, step_ms = _searchable(
        first, {k: training_amplitudes(neurons[k], scored_pA[k]) for k in first}
    )
    # the float neurons run once: a restart changes the registers, not the reference
    reference = _reference_counts(neurons, keys, amplitudes, step_ms, backend) if keys else {}

    def searched(mappings, start: str = "") -> dict[Hashable, SearchOutcome]:
        return _search(mappings, {k: amplitudes[k] for k in mappings if k in amplitudes},
                       reference, rounds, progress, start)  # fmt: skip

    outcomes = searched(first)
    poor = [k for k, o in outcomes.items() if o.training_gamma < RESTART_BELOW_GAMMA]
    for fraction in RESTART_SCALES if rounds and poor else ():
        if progress is not None:
            progress(
                f"register search: {len(poor)} neurons below gamma {RESTART_BELOW_GAMMA} on the "
                f"training sweeps start again at {fraction:.0%} of their scale"
            )
        for key, again in searched(
            # a smaller scale the range cannot hold leaves the neuron its first start
            mapped_at(poor, fraction, {}),
            start=f"start at {fraction:.0%} of the largest scale",
        ).items():
            if _training_rank(again) > _training_rank(outcomes[key]):
                outcomes[key] = again
    return {k: outcomes[k].mapping for k in first}, unmappable, outcomes


def _training_rank(outcome: SearchOutcome) -> float:
    """Training gamma, NaN (a float neuron silent on the training sweeps) ranked lowest."""
    return -1.0 if np.isnan(outcome.training_gamma) else outcome.training_gamma
