"""Recurrent synapses within a population: spikes make the target's voltage jump.

A spike of neuron ``pre[k]`` at step t adds ``weight[k]`` to ``v`` of neuron ``post[k]`` at step
``t + delay[k]/dt``, after that step's membrane update and before its threshold check, unless
the target is refractory then. This is the order of Loihi's compartments (an input arriving at a
step enters that step's voltage; a refractory compartment's voltage is held), so a population
with these synapses maps exactly onto a fixed-point network (`hardware_mapping`).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
from brian2 import NeuronGroup, Quantity, Synapses, ms, mV, second

from ahp_models.parameters import ParameterError
from ahp_models.quantities import parse_quantity

__all__ = ["RecurrentSynapses"]


@dataclass(frozen=True)
class RecurrentSynapses:
    """Synapses within one population.

    Attributes
    ----------
    pre, post : numpy.ndarray
        Source and target neuron of each synapse.
    weight : Quantity
        Voltage jump of each synapse (one value or one per synapse).
    delay : Quantity
        Delay of each synapse (one value or one per synapse): whole steps, at least one.
    """

    pre: np.ndarray
    post: np.ndarray
    weight: Quantity
    delay: Quantity = field(default_factory=lambda: 1 * ms)

    def __post_init__(self) -> None:
        pre = np.asarray(self.pre)
        post = np.asarray(self.post)
        if pre.ndim != 1 or pre.shape != post.shape:
            raise ParameterError(
                f"RecurrentSynapses: pre has shape {pre.shape}, post {post.shape}; allowed: "
                "two 1-d arrays of equal length"
            )
        if pre.size and not (np.issubdtype(pre.dtype, np.integer) and
                             np.issubdtype(post.dtype, np.integer)):  # fmt: skip
            raise ParameterError("RecurrentSynapses: pre and post must be integer indices")
        object.__setattr__(self, "pre", pre.astype(np.int64))
        object.__setattr__(self, "post", post.astype(np.int64))
        for name, unit in (("weight", "mV"), ("delay", "ms")):
            value = np.asarray(parse_quantity(getattr(self, name), unit, field=name) / _UNITS[unit])
            if value.ndim > 1 or value.size not in (1, pre.size) or not np.isfinite(value).all():
                raise ParameterError(
                    f"RecurrentSynapses.{name}: {value.size} values; allowed: one, or one finite "
                    f"value per synapse ({pre.size})"
                )
            object.__setattr__(self, name, np.broadcast_to(value, pre.shape) * _UNITS[unit])

    @property
    def size(self) -> int:
        """Number of synapses."""
        return int(self.pre.size)

    def weight_mV(self) -> np.ndarray:
        """Weights as plain floats in mV."""
        return np.asarray(self.weight / mV, dtype=float)

    def delay_steps(self, dt_s: float) -> np.ndarray:
        """Delays in steps of ``dt_s``; refuses delays off the grid or shorter than a step."""
        steps_float = np.asarray(self.delay / second, dtype=float) / dt_s
        steps = np.round(steps_float).astype(np.int64)
        bad = (np.abs(steps_float - steps) > 1e-6) | (steps < 1)
        if bad.any():
            index = int(np.flatnonzero(bad)[0])
            raise ParameterError(
                f"RecurrentSynapses.delay[{index}] = {steps_float[index] * dt_s * 1e3:g} ms; "
                f"allowed: a whole number of steps of {dt_s * 1e3:g} ms, at least one"
            )
        return steps

    def check(self, n_neurons: int, dt_s: float) -> None:
        """Check indices against the population size and delays against the step."""
        for name in ("pre", "post"):
            index = getattr(self, name)
            if index.size and (index.min() < 0 or index.max() >= n_neurons):
                raise ParameterError(
                    f"RecurrentSynapses.{name} holds {int(index.max())}; allowed: 0.."
                    f"{n_neurons - 1}"
                )
        self.delay_steps(dt_s)

    def brian_objects(self, group: NeuronGroup, dt_s: float) -> list[Any]:
        """Return the Brian2 ``Synapses`` of these synapses onto ``group``.

        They run after the membrane update and before the threshold check of each step
        (``when="thresholds", order=-1``), as Loihi's input enters the step's voltage.
        """
        if not self.size:
            return []
        refractory = "not_refractory" in group.variables
        gate = "*int(not_refractory_post)" if refractory else ""
        synapses = Synapses(
            group,
            group,
            "w : volt (constant)",
            on_pre=f"v_post += w{gate}",
            dt=dt_s * second,
            name="recurrent",
        )
        synapses.connect(i=self.pre, j=self.post)
        synapses.w = self.weight
        synapses.pre.when = "thresholds"  # the on_pre pathway
        synapses.pre.order = -1
        # Scheduled before the thresholds, the pathway reads step t's spikes at step t + 1:
        # Brian2's own delay is the rest
        synapses.delay = (self.delay_steps(dt_s) - 1) * dt_s * second
        return [synapses]


_UNITS = {"mV": mV, "ms": ms}
