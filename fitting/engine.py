"""Batched CMA-ES fits: many cells, every candidate, every amplitude, one compiled population.

A `FitEngine` compiles one C++ standalone simulation of ``slots x popsize x n_amplitudes``
neurons. Each slot fits one cell with its own CMA-ES (pycma, ask/tell); every generation asks all
active cells for their candidates, runs the population once through ``run_args`` (no
recompilation), computes every sweep's and candidate's Allen features in one vectorised pass,
and tells each cell its costs. When a cell stops (target cost reached, every feature within
`FitSettings.stop_within` of its acceptance tolerance for a cell without sweeps, CMA-ES
converged, or the generation limit), its slot takes the next cell, so the
compiled population stays full; once no cell waits, the last few move to a small population
(compiled when first needed) instead of running beside idle slots.

With `FitSettings.coarse_dt_ms` set (the default), each cell fitted to its features alone is
searched at that coarser step first and its best point is then polished at `FitSettings.dt_ms`
(a short warm-started run that starts by evaluating that point as it is): the features barely
depend on the step, a coarse run costs about half a fine one, and everything a fit reports
(features, errors, cost) is measured at ``dt_ms``.
"""

from __future__ import annotations

import dataclasses
import os
import time
import zlib
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

import cma
import numpy as np
from brian2 import Quantity, ms, pA, second
from brian2.units.fundamentalunits import get_dimensions

from ahp_models import CompiledSimulation, compile_simulator, long_square
from ahp_models.parameters import ParameterSet
from analysis.population_features import population_cell_features, population_sweep_features
from fitting.objective import (
    SWEEP_TERMS,
    normalised_errors,
    sweep_count_errors,
    sweep_term_errors,
    total_cost,
)
from fitting.quality import features_within
from fitting.space import FITTABLE_MODELS, CandidateCells, FitSpace, space_for
from fitting.targets import FEATURES, GRID_SWEEPS, ONSET_S, WIDTH_S, CellTargets

__all__ = ["CellFit", "FitEngine", "FitSettings"]

#: Restarts of cells whose best cost is below this refine locally (smaller step, from the best).
NEAR_MISS_COST = 20.0
LOCAL_STEP = 0.3
#: Step (relative to ``sigma0``) of a run warm-started from another model's fit.
WARM_STEP = 0.5
#: A CMA-ES run whose best cost has not fallen by `STALL_IMPROVEMENT` (relative) for this many
#: generations ends early: its generations are better spent on a restart elsewhere.
STALL_GENERATIONS = 15
STALL_IMPROVEMENT = 0.01
#: Default `FitSettings.stop_within`: a tenth of each tolerance kept as margin (fits that end
#: at the tolerance's edge lose cells when mapped to hardware registers); 0.9 saved 19 % of the
#: generations on 80 cells, 1.0 would save 33 %.
STOP_WITHIN = 0.9
#: Default `FitSettings.tail_slots`.
TAIL_SLOTS = 4
#: Default `FitSettings.coarse_dt_ms`: at 0.5 ms the rheobase of 400 of 400 fitted Allen cells
#: stays the same and 90-100 % of them keep each feature within half a tolerance of its 0.1 ms
#: value, while a generation costs about half (41 against 88 ms for 16 cells; bench/README.md).
COARSE_DT_MS = 0.5
#: Default `FitSettings.polish_generations`.
POLISH_GENERATIONS = 10


def _repeated(value: Quantity, repeat: int) -> Quantity:
    """A quantity with each element (row) repeated ``repeat`` times."""
    magnitudes = np.asarray(value, dtype=float)
    return Quantity(np.repeat(magnitudes, repeat, axis=0), dim=get_dimensions(value))


@dataclass(frozen=True)
class FitSettings:
    """How to fit.

    Attributes
    ----------
    model : str
        Fittable catalogue model (`fitting.space.FITTABLE_MODELS`: ``lif_ahp``,
        ``lif_multi_ahp``, ``lif_ahp_input``).
    popsize : int
        CMA-ES population per cell and generation.
    max_generations : int
        Generation limit per CMA-ES run (an attempt may run 1 + max_restarts of them).
    target_cost : float
        A cell stops once its best cost falls below this (sum of squared normalised errors).
    stop_within : float or None
        A cell without measured sweeps also stops once its best fit lies within this fraction
        of every acceptance tolerance (`fitting.quality.features_within` with ``scale``):
        further generations would lower the cost (latency) but cannot bring the cell within a
        tolerance it is not already within. Cells fitted to their sweeps do not stop for this.
        None: only `target_cost` ends a fit early.
    restart_cost : float
        A cell whose CMA-ES run ends above this cost restarts (the best result so far is
        kept): alternately around its best point with a smaller step if it is a near miss
        (cost below `NEAR_MISS_COST`), else from the space's next restart point.
    max_restarts : int
        Restarts per attempt.
    attempts : int
        Independent attempts for a cell whose best fit still misses an acceptance tolerance
        (`fitting.quality.features_within`): each starts again from the space's start point
        with its own seeds and may restart ``max_restarts`` times (from other regions only);
        the best fit over all attempts is kept. Fits of hard cells are that random: of the
        cells one seed left outside the adaptation-index tolerance, another seed fixed about 40 %.
    sigma0 : float
        Initial CMA-ES step in the unit cube.
    seed : int
        Seed of every random choice (each cell's CMA-ES seed derives from it and the specimen).
    slots : int
        Cells fitted side by side in one population.
    tail_slots : int or None
        Once no cell waits and at most this many are still running, they move to a population
        of this many slots (compiled when first needed) instead of running beside idle slots
        of the full one; None: they stay.
    dt_ms : float
        Simulation step: every reported feature, error and cost is measured at this step.
    coarse_dt_ms : float or None
        Search each cell fitted to its features alone at this coarser step first, then polish
        its best point at ``dt_ms`` for up to `polish_generations` generations (the polish
        starts by evaluating that point as it is, so it keeps the coarse search's result
        whenever that is still the best at ``dt_ms``). Cells fitted to measured sweeps are
        searched at ``dt_ms``. None, or a step no coarser than ``dt_ms``: search at ``dt_ms``
        throughout.
    polish_generations : int
        Generation limit of the polish at ``dt_ms`` (no restarts).
    fixed : tuple of (str, float)
        Free parameters held at a value instead of searched (`fitting.space.space_for`).
    fallback_model : str or None
        A richer fittable model that refits, warm-started from the first fit, each cell whose
        best fit misses an acceptance tolerance; the better of the two fits is kept
        (`fitting.pipeline`). None: no refit. Default ``lif_ahp_input``: on the whole Allen
        database it brings more cells within every tolerance than ``lif_multi_ahp`` in the
        same time (bench/README.md).
    fallback_restarts : int
        Restarts of the refit.
    """

    model: str = "lif_ahp"
    popsize: int = 12
    max_generations: int = 60
    target_cost: float = 1.0
    stop_within: float | None = STOP_WITHIN
    tail_slots: int | None = TAIL_SLOTS
    restart_cost: float = 4.0
    max_restarts: int = 2
    attempts: int = 1
    sigma0: float = 0.25
    seed: int = 0
    slots: int = 16
    dt_ms: float = 0.1
    coarse_dt_ms: float | None = COARSE_DT_MS
    polish_generations: int = POLISH_GENERATIONS
    fixed: tuple[tuple[str, float], ...] = ()
    fallback_model: str | None = "lif_ahp_input"
    fallback_restarts: int = 5

    def __post_init__(self) -> None:
        for name in (self.model, self.fallback_model):
            if name is not None and name not in FITTABLE_MODELS:
                raise ValueError(
                    f"cannot fit model {name!r}; fittable: {', '.join(FITTABLE_MODELS)}"
                )
        if self.fallback_model == self.model:
            raise ValueError(f"fallback_model {self.fallback_model!r} is the fitted model")
        if self.coarse_dt_ms is not None and not self.coarse_dt_ms > 0:
            raise ValueError(f"coarse_dt_ms = {self.coarse_dt_ms!r}; allowed: None or a step > 0")
        if self.polish_generations < 1:
            raise ValueError(
                f"polish_generations = {self.polish_generations!r}; allowed: an integer >= 1"
            )

    @property
    def two_step(self) -> bool:
        """Whether cells are searched at `coarse_dt_ms` before the polish at `dt_ms`."""
        return self.coarse_dt_ms is not None and self.coarse_dt_ms > self.dt_ms

    def steps_text(self) -> str:
        """The fit's time steps in words, for reports."""
        if self.two_step:
            return (
                f"{self.dt_ms:g} ms steps (cells fitted to their features alone searched at "
                f"{self.coarse_dt_ms:g} ms, then polished at {self.dt_ms:g} ms)"
            )
        return f"{self.dt_ms:g} ms steps"

    def coarse_settings(self) -> FitSettings:
        """The settings of the search at `coarse_dt_ms` (everything else as these)."""
        return dataclasses.replace(self, dt_ms=self.coarse_dt_ms, coarse_dt_ms=None)

    def polish_settings(self) -> FitSettings:
        """The settings of the polish at `dt_ms`: `polish_generations`, no restarts."""
        return dataclasses.replace(
            self,
            coarse_dt_ms=None,
            max_generations=self.polish_generations,
            max_restarts=0,
            attempts=1,
        )

    def fallback_settings(self) -> FitSettings | None:
        """The settings of the refit with `fallback_model` (None without one): one attempt,
        `fallback_restarts` restarts, the held parameters that model also searches."""
        if self.fallback_model is None:
            return None
        searched = {p.name for p in FITTABLE_MODELS[self.fallback_model]().free}
        return dataclasses.replace(
            self,
            model=self.fallback_model,
            attempts=1,
            max_restarts=self.fallback_restarts,
            fixed=tuple((name, value) for name, value in self.fixed if name in searched),
            fallback_model=None,
        )

    def cell_seed(self, specimen_id: int) -> int:
        """The CMA-ES seed of one cell (positive, stable across runs and machines)."""
        return zlib.crc32(f"{self.seed}:{specimen_id}".encode()) % (2**31 - 2) + 1


@dataclass
class CellFit:
    """The outcome of fitting one cell."""

    specimen_id: int
    model: str
    cost: float
    generations: int
    evaluations: int
    stop_reason: str
    seed: int
    free: dict[str, float]
    parameters: ParameterSet
    model_features: dict[str, float]
    target_features: dict[str, float]
    errors: dict[str, float]
    seconds: float
    metadata: dict[str, Any] = field(default_factory=dict)

    def to_row(self) -> dict[str, Any]:
        """A flat results-table row: parameters with units in their names, features, errors."""
        row: dict[str, Any] = {
            "specimen_id": self.specimen_id,
            **self.metadata,
            "model": self.model,
        }
        row.update(self.parameters.to_row())
        for feature in FEATURES:
            row[f"model_{feature}"] = self.model_features.get(feature, np.nan)
            row[f"cell_{feature}"] = self.target_features.get(feature, np.nan)
            row[f"error_{feature}"] = self.errors.get(feature, np.nan)
        for term in ("spike_count", *SWEEP_TERMS):
            if term in self.errors:
                row[f"error_sweep_{term}"] = self.errors[term]
        row.update(
            {
                "cost": self.cost,
                "generations": self.generations,
                "evaluations": self.evaluations,
                "stop_reason": self.stop_reason,
                "seed": self.seed,
                "seconds": self.seconds,
            }
        )
        return row


@dataclass
class _Slot:
    targets: CellTargets
    strategy: cma.CMAEvolutionStrategy
    started: float
    generations: int = 0
    run_generations: int = 0
    restarts: int = 0
    global_restarts: int = 0
    attempt: int = 1
    attempt_start: int = 0
    run_best: float = np.inf
    run_improved: int = 0
    best_cost: float = np.inf
    best_unit: np.ndarray | None = None
    best_features: dict[str, float] = field(default_factory=dict)
    best_errors: dict[str, float] = field(default_factory=dict)
    pending: list[np.ndarray] | None = None
    #: A point the next generation evaluates as it is, in place of one sampled candidate (a
    #: warm start, so that the fit never ends worse than it; CMA-ES's own injection moves
    #: points near the bounds).
    probe: np.ndarray | None = None


class FitEngine:
    """Fits cells with the same number of protocol amplitudes in one compiled population.

    Parameters
    ----------
    settings : FitSettings
        How to fit.
    n_amplitudes : int
        Long squares simulated per candidate (`fitting.targets.CellTargets.simulated_amplitudes`:
        Allen's grid of 11, then a cell's measured sweeps if fitted).
    directory : str, optional
        Where to compile (a temporary directory by default).
    """

    def __init__(self, settings: FitSettings, n_amplitudes: int, directory: str | None = None):
        self.settings = settings
        self.space: FitSpace = space_for(settings.model, settings.dt_ms, dict(settings.fixed))
        self.n_amplitudes = int(n_amplitudes)
        self.per_slot = settings.popsize * self.n_amplitudes
        self.directory = directory
        self._simulations: dict[int, CompiledSimulation] = {}
        #: The search at the coarse step (None: this engine searches at ``dt_ms`` itself).
        self.coarse: FitEngine | None = None
        # cells fitted to their own sweeps stay at dt_ms: their latencies and ISIs are fitted
        # sweep by sweep to tolerances near the coarse step, and every sweep count compiles
        # populations of its own, which a second step would double (40 OSB cells: 289 -> 455 s)
        if settings.two_step and self.n_amplitudes == GRID_SWEEPS:
            coarse_directory = None if directory is None else os.path.join(directory, "coarse")
            self.coarse = FitEngine(settings.coarse_settings(), n_amplitudes, coarse_directory)
        self._simulation_for(settings.slots)  # the full population, compiled up front

    @property
    def _limits(self) -> FitSettings:
        """The stop and restart rules of this engine's own runs (the polish's after a search)."""
        return self.settings.polish_settings() if self.coarse is not None else self.settings

    def _simulation_for(self, n_slots: int) -> CompiledSimulation:
        """The compiled population of ``n_slots`` cells (compiled the first time it is needed)."""
        if n_slots not in self._simulations:
            directory = self.directory
            if directory is not None and n_slots != self.settings.slots:
                directory = os.path.join(directory, f"slots_{n_slots}")
            self._simulations[n_slots] = compile_simulator(
                self.space.model(),
                n_neurons=n_slots * self.per_slot,
                stimulus=self._stimulus(np.zeros(n_slots * self.per_slot)),
                dt=self.settings.dt_ms * ms,
                directory=directory,
            )
        return self._simulations[n_slots]

    def _stimulus(self, amplitudes_pa: np.ndarray):
        return long_square(
            amplitudes_pa * pA,
            onset=ONSET_S * second,
            width=WIDTH_S * second,
            duration=(ONSET_S + WIDTH_S) * second,
            dt=self.settings.dt_ms * ms,
        )

    def _strategy(
        self,
        targets: CellTargets,
        run: int,
        start: np.ndarray | None = None,
        point: int = 0,
        step: float = LOCAL_STEP,
    ) -> cma.CMAEvolutionStrategy:
        """CMA-ES run number ``run`` of a cell: from ``start`` with ``step`` x ``sigma0``, else
        from the space's start point (``point`` 0) or its restart point number ``point``."""
        options = {
            "bounds": [0.0, 1.0],
            "popsize": self.settings.popsize,
            "verbose": -9,
            "seed": self.settings.cell_seed(targets.specimen_id) + run,
            "tolfun": 1e-4,
        }
        # cma samples from numpy's global generator by default, which the cells of a batch
        # would share (a restart re-seeds it for all): each run gets its own generator
        options["randn"] = np.random.RandomState(options["seed"]).randn
        if start is not None:
            return cma.CMAEvolutionStrategy(start, self.settings.sigma0 * step, options)
        return cma.CMAEvolutionStrategy(
            self.space.initial_unit(point), self.settings.sigma0, options
        )

    def _new_slot(self, targets: CellTargets, start: np.ndarray | None = None) -> _Slot:
        amplitudes = targets.simulated_amplitudes()
        if amplitudes.size != self.n_amplitudes:
            raise ValueError(
                f"specimen {targets.specimen_id}: {amplitudes.size} amplitudes, this engine "
                f"simulates {self.n_amplitudes}"
            )
        strategy = self._strategy(targets, 0, start, step=WARM_STEP)
        return _Slot(targets, strategy, time.perf_counter(), probe=start)

    def _evaluate(self, slots: list[_Slot | None]) -> None:
        """Ask every active slot for candidates, simulate them all, tell the costs."""
        active = [s for s in slots if s is not None]
        sources = [slot if slot is not None else active[0] for slot in slots]  # idle: repeat one
        for slot in active:
            slot.pending = slot.strategy.ask()
            if slot.probe is not None:
                slot.pending[0], slot.probe = np.array(slot.probe, dtype=float), None
        # every candidate of every cell mapped at once, validated as one parameter set with each
        # candidate once per amplitude
        values = self.space.values(
            np.concatenate([np.array(source.pending) for source in sources]),
            CandidateCells.of([source.targets for source in sources], self.settings.popsize),
        )
        params = self.space.model().params_class(
            **{name: _repeated(value, self.n_amplitudes) for name, value in values.items()}
        )
        amplitudes = np.concatenate(
            [
                np.tile(source.targets.simulated_amplitudes(), self.settings.popsize)
                for source in sources
            ]
        )
        n_neurons = len(slots) * self.per_slot
        result = self._simulation_for(len(slots)).run(params, self._stimulus(amplitudes))
        sweeps = population_sweep_features(
            result.spike_neuron, result.spike_time_s, n_neurons, ONSET_S, ONSET_S + WIDTH_S
        )
        # each candidate's first GRID_SWEEPS sweeps are Allen's grid (its features), the rest
        # the cell's measured sweeps (`CellTargets.simulated_amplitudes`)
        on_grid = np.arange(n_neurons) % self.n_amplitudes < GRID_SWEEPS
        cells = population_cell_features(
            sweeps[on_grid].reset_index(drop=True),
            amplitudes.reshape(-1, self.n_amplitudes)[:, :GRID_SWEEPS],
        )
        counts = sweeps.spike_count.to_numpy().reshape(-1, self.n_amplitudes)[:, GRID_SWEEPS:]
        columns = {feature: cells[feature].to_numpy() for feature in FEATURES}
        for k, slot in enumerate(slots):
            if slot is None:
                continue
            rows = slice(k * self.settings.popsize, (k + 1) * self.settings.popsize)
            features = {feature: column[rows] for feature, column in columns.items()}
            errors = normalised_errors(features, slot.targets)
            extra = {}
            if slot.targets.sweeps is not None:
                extra["spike_count"] = sweep_count_errors(counts[rows], slot.targets)
                for column in SWEEP_TERMS:
                    if column in slot.targets.sweeps:
                        model_values = sweeps[column].to_numpy().reshape(-1, self.n_amplitudes)
                        extra[column] = sweep_term_errors(
                            column, model_values[rows, GRID_SWEEPS:], slot.targets
                        )
            costs = total_cost(errors, extra)
            slot.strategy.tell(slot.pending, costs.tolist())
            slot.generations += 1
            slot.run_generations += 1
            best = int(np.argmin(costs))
            if costs[best] < slot.run_best * (1.0 - STALL_IMPROVEMENT):
                slot.run_best, slot.run_improved = float(costs[best]), slot.run_generations
            if costs[best] < slot.best_cost:
                slot.best_cost = float(costs[best])
                slot.best_unit = np.array(slot.pending[best])
                slot.best_features = {f: float(features[f][best]) for f in FEATURES}
                slot.best_errors = {f: float(v[best]) for f, v in errors.items()}
                slot.best_errors.update({name: float(v[best]) for name, v in extra.items()})

    def _stop_reason(self, slot: _Slot) -> str | None:
        """Why the cell stops now, or None; restarts the CMA-ES run when that is due."""
        limits = self._limits
        if slot.best_cost < limits.target_cost:
            return "target_cost"
        # a cell with measured sweeps is fitted to them too: its features being within
        # tolerance says nothing about its sweeps
        margin = limits.stop_within
        if (
            margin is not None
            and slot.targets.sweeps is None
            and features_within(slot.best_features, slot.targets.features, margin)
        ):
            reason = "within_tolerance"
            return reason if not slot.restarts else f"{reason} after {slot.restarts} restarts"
        stop = slot.strategy.stop()
        if slot.run_generations >= limits.max_generations:
            reason = "max_generations"
        elif slot.run_generations - slot.run_improved >= STALL_GENERATIONS:
            reason = "stalled"
        elif stop:
            reason = "cma:" + ",".join(sorted(stop))
        else:
            return None
        in_attempt = slot.restarts - slot.attempt_start
        regular = slot.best_cost > limits.restart_cost and in_attempt < limits.max_restarts
        again = (
            not regular
            and slot.attempt < limits.attempts
            and not features_within(slot.best_features, slot.targets.features)
        )
        if regular or again:
            slot.restarts += 1
            slot.run_generations, slot.run_best, slot.run_improved = 0, np.inf, 0
            if again:
                slot.attempt, slot.attempt_start, slot.global_restarts = (
                    slot.attempt + 1,
                    slot.restarts,
                    0,
                )
                slot.strategy = self._strategy(slot.targets, slot.restarts, point=0)
                return None
            # a near miss is refined around its best point (first attempt only: later attempts
            # stay independent of it); a poor fit tries another region, the restart points in turn
            local = slot.attempt == 1 and slot.best_cost < NEAR_MISS_COST and slot.restarts % 2 == 1
            if local:
                slot.strategy = self._strategy(slot.targets, slot.restarts, slot.best_unit)
            else:
                slot.global_restarts += 1
                slot.strategy = self._strategy(
                    slot.targets, slot.restarts, point=slot.global_restarts
                )
            return None
        if slot.attempt > 1:
            reason += f", attempt {slot.attempt}"
        return reason if not slot.restarts else f"{reason} after {slot.restarts} restarts"

    def _finish(self, slot: _Slot, reason: str) -> CellFit:
        parameters = self.space.parameters(slot.best_unit, slot.targets)
        values = self.space.physical(slot.best_unit)
        return CellFit(
            specimen_id=slot.targets.specimen_id,
            model=self.settings.model,
            cost=slot.best_cost,
            generations=slot.generations,
            evaluations=slot.generations * self.settings.popsize,
            stop_reason=reason,
            seed=self.settings.cell_seed(slot.targets.specimen_id),
            free={name: float(v[0]) for name, v in values.items()},
            parameters=parameters,
            model_features=slot.best_features,
            target_features=dict(slot.targets.features),
            errors=slot.best_errors,
            seconds=time.perf_counter() - slot.started,
            metadata=dict(slot.targets.metadata),
        )

    def fit(
        self, cells: Iterable[CellTargets], starts: Mapping[int, np.ndarray] | None = None
    ) -> Iterator[CellFit]:
        """Fit cells, yielding each result as soon as its cell stops.

        With a coarse step (`FitSettings.two_step`), each cell is searched at that step and
        polished here as soon as its search ends; both stages keep their populations full.

        Parameters
        ----------
        cells : iterable of CellTargets
            The cells (all with this engine's number of amplitudes).
        starts : mapping, optional
            Specimen id -> unit-cube point where that cell's first CMA-ES run starts (a warm
            start, `fitting.space.FitSpace.start_from`), instead of the space's start point.

        Yields
        ------
        CellFit
            One per cell, in the order they finish; generations, evaluations and seconds are
            those of both stages.
        """
        if self.coarse is None:
            yield from self._fit(cells, starts)
            return
        waiting: dict[int, CellTargets] = {}
        searched: dict[int, CellFit] = {}
        polish_starts: dict[int, np.ndarray] = {}

        def searched_cells() -> Iterator[CellTargets]:
            # the polish pulls cells from here as its slots free up, which drives the search
            recorded = (waiting.setdefault(cell.specimen_id, cell) for cell in cells)
            for fit in self.coarse._fit(recorded, starts):
                searched[fit.specimen_id] = fit
                polish_starts[fit.specimen_id] = self.space.unit_of(fit.free)
                yield waiting.pop(fit.specimen_id)

        for fit in self._fit(searched_cells(), polish_starts):
            del polish_starts[fit.specimen_id]
            coarse = searched.pop(fit.specimen_id)
            yield dataclasses.replace(
                fit,
                generations=coarse.generations + fit.generations,
                evaluations=coarse.evaluations + fit.evaluations,
                stop_reason=(
                    f"{fit.stop_reason} (searched at {self.settings.coarse_dt_ms:g} ms: "
                    f"{coarse.stop_reason})"
                ),
                seconds=coarse.seconds + fit.seconds,
            )

    def _fit(
        self, cells: Iterable[CellTargets], starts: Mapping[int, np.ndarray] | None = None
    ) -> Iterator[CellFit]:
        """Fit cells at this engine's own step (`fit` without the coarse search)."""
        queue = iter(cells)
        slots: list[_Slot | None] = [None] * self.settings.slots
        exhausted = False

        def refill() -> None:
            nonlocal exhausted
            for k in range(len(slots)):
                if slots[k] is None and not exhausted:
                    try:
                        cell = next(queue)
                        start = (starts or {}).get(cell.specimen_id)
                        slots[k] = self._new_slot(cell, start)
                    except StopIteration:
                        exhausted = True

        refill()
        tail = self.settings.tail_slots
        while any(slot is not None for slot in slots):
            active = [slot for slot in slots if slot is not None]
            if exhausted and tail is not None and len(active) <= tail < len(slots):
                # the last cells leave the idle slots of the full population behind: a fit
                # does not depend on the slots beside it
                slots = active + [None] * (tail - len(active))
            self._evaluate(slots)
            for k, slot in enumerate(slots):
                if slot is None:
                    continue
                reason = self._stop_reason(slot)
                if reason:
                    yield self._finish(slot, reason)
                    slots[k] = None
            refill()

    def close(self) -> None:
        """Remove the compiled projects."""
        for simulation in self._simulations.values():
            simulation.close()
        if self.coarse is not None:
            self.coarse.close()
