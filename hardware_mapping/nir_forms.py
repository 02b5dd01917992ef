"""The float neurons of a mapped population as parameters of NIR's continuous-time nodes.

NIR (the Neuromorphic Intermediate Representation) states neurons as differential equations;
a spike is a unit Dirac impulse, and the inputs of a node are summed. Its ``LIF`` is
``tau dv/dt = (v_leak - v) + r I`` (spike when ``v > v_threshold``, then ``v <- v_reset``), its
``LI`` the same without threshold; an impulse of weight ``w`` into either makes its state jump
by ``r w / tau``. Each population becomes one LIF node and one LI node per AHP current:

``lif_ahp``, ``lif_multi_ahp`` (SI units: s, V, A, ohm)::

    LIF:  tau = tau_m, r = R, v_leak = E_L + R I_ext, v_threshold = V_th, v_reset = V_reset
    LI k: tau = tau_ahp_k, r = 1, v_leak = 0; its state is -I_ahp_k: the neuron's spikes reach
          it through Scale(-b_ahp_k tau_ahp_k) (a jump of -b_ahp_k) and it feeds the LIF

which are the model's equations (the constant input folded into ``v_leak``). The toolkit steps
them exactly (`ahp_models.integration`), so a simulation of the nodes that integrates exactly
over steps of dt and checks thresholds at the end of each step is the toolkit's float run.

``loihi_ahp`` (the model's own voltage units) is a discrete-time neuron:
``v(t) = k_v v(t-1) + v_aux(t) + input``, ``v_aux(t) = k_a v_aux(t-1) - b_ahp s(t-1)``. Its
nodes are the continuous-time system that, sampled every dt, is that recursion exactly: time
constants ``-dt / ln k`` (the LIF's from the factor the mapping records, ``float_keep_v``), the
LIF with ``r = tau`` (so that a synaptic weight is the voltage jump itself: the chip's integer
inputs stay integers), and the AHP's LI coupled so that what it adds to ``v`` over one step,
``r c x`` with ``c`` the exact coupling of the two decays (`ahp_models.integration`), is the
AHP compartment's ``v_aux``: its spikes' weight is ``-b_ahp tau_a / (r c)``. This holds at the
mapping's dt only. A factor of 0 (no memory: a relay's ``decay_v`` 4096) gets a time constant
of `MEMORYLESS_TAU_STEPS` steps, whose decay over a step is 0 in floating point. The mapping
records the voltage factor but not the AHP's: the AHP's factor is taken in the voltage's
convention, ``exp(-dt/tau_ahp)`` when ``float_keep_v`` is ``exp(-dt/tau_v)`` (a trained
network's float neurons), else the catalogue neuron's ``1 - dt/tau_ahp``.

What the nodes cannot hold is listed by `PopulationForm.unsupported`; what cannot be stated
at all is refused (`NirExportError`).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from ahp_models.errors import UserError
from ahp_models.integration import coupling_factor
from hardware_mapping.mapped_neuron import NeuronMapping

__all__ = [
    "MEMORYLESS_TAU_STEPS",
    "NIR_MODELS",
    "AhpCurrentForm",
    "NirExportError",
    "PopulationForm",
    "population_form",
]

#: Source models with a NIR form.
NIR_MODELS = ("lif_ahp", "lif_multi_ahp", "loihi_ahp")

#: The time constant (in steps) standing for a loihi_ahp factor of 0 (no memory, such as a
#: relay's decay_v 4096): its decay over one step, exp(-1000), is 0 in floating point.
MEMORYLESS_TAU_STEPS = 1e-3

_WHY_NOT = {
    "alif": "its threshold rises with each spike and NIR's LIF has a fixed threshold",
    "lif_ahp_input": "its AHP current takes a share of the constant input, which no NIR node "
    "states",
}


class NirExportError(UserError):
    """A network that NIR cannot state, naming the population, the field and the value."""


@dataclass(frozen=True)
class AhpCurrentForm:
    """One AHP current of a population as a NIR ``LI`` node (``r = 1``, ``v_leak = 0``).

    Attributes
    ----------
    tau_s : numpy.ndarray
        The LI's time constant per neuron (s).
    feedback : numpy.ndarray
        Per neuron, the weight of its own spike into the LI (a ``Scale``): the LI jumps by
        ``feedback / tau_s``. Zero for a neuron without this current.
    """

    tau_s: np.ndarray
    feedback: np.ndarray


@dataclass(frozen=True)
class PopulationForm:
    """A population's neurons as NIR node parameters, one value per neuron.

    Attributes
    ----------
    model : str
        The source model.
    tau_s, r, v_leak, v_threshold, v_reset : numpy.ndarray
        The ``LIF`` node's parameters.
    v_initial : numpy.ndarray
        The voltage the toolkit's run starts from (NIR has no initial state).
    voltage_unit, current_unit : str
        Units of the voltages and of the AHP LI states.
    volts_per_input : numpy.ndarray
        Per neuron, the voltage jump (``voltage_unit``) per unit of its synaptic input in the
        mapping's integer units (a projection's ``requested``).
    currents : tuple of AhpCurrentForm
        The AHP currents (none: a plain LIF).
    refractory_steps : numpy.ndarray
        Register ``refract_delay`` per neuron: v is held for ``refract_delay - 1`` steps.
    refractory_s : numpy.ndarray
        The source model's refractory period (s; 0 for none).
    unsupported : tuple of str
        What of these neurons the nodes do not express.
    """

    model: str
    tau_s: np.ndarray
    r: np.ndarray
    v_leak: np.ndarray
    v_threshold: np.ndarray
    v_reset: np.ndarray
    v_initial: np.ndarray
    voltage_unit: str
    current_unit: str
    volts_per_input: np.ndarray
    currents: tuple[AhpCurrentForm, ...]
    refractory_steps: np.ndarray
    refractory_s: np.ndarray
    unsupported: tuple[str, ...]

    @property
    def size(self) -> int:
        """Number of neurons."""
        return int(self.tau_s.size)

    def input_weight(self, post_index: np.ndarray, requested: np.ndarray) -> np.ndarray:
        """The weight of an impulse into the LIF for synaptic inputs in integer units.

        Parameters
        ----------
        post_index : numpy.ndarray
            Target neuron of each synapse.
        requested : numpy.ndarray
            Each synapse's voltage jump in its target's integer units (before rounding).

        Returns
        -------
        numpy.ndarray
            ``jump tau / r`` per synapse: the weight whose impulse makes ``v`` jump by it.
        """
        jump = requested * self.volts_per_input[post_index]
        # tau / r first: 1 exactly where r = tau, so integer jumps stay integers
        return jump * (self.tau_s / self.r)[post_index]


def population_form(
    name: str, mappings: Sequence[NeuronMapping], currents_pA: np.ndarray
) -> PopulationForm:
    """The NIR node parameters of one mapped population.

    Parameters
    ----------
    name : str
        The population (in messages).
    mappings : sequence of NeuronMapping
        One per neuron, all of one model in `NIR_MODELS`.
    currents_pA : numpy.ndarray
        Each neuron's constant input (pA).

    Returns
    -------
    PopulationForm
        The parameters and what they leave out.

    Raises
    ------
    NirExportError
        For a model without a NIR form, mixed models, or a loihi_ahp factor without a time
        constant (1: no decay).
    """
    models = sorted({m.source["model"] for m in mappings})
    if len(models) > 1:
        raise NirExportError(
            f"population {name!r}: neurons of models {models}; allowed: one model per "
            "population (one NIR node)"
        )
    model = models[0]
    if model not in NIR_MODELS:
        why = _WHY_NOT.get(model, "NIR has no node for it")
        raise NirExportError(
            f"population {name!r}: model {model!r} has no NIR form ({why}); allowed: "
            f"{', '.join(NIR_MODELS)}"
        )
    currents_pA = np.asarray(currents_pA, dtype=float)
    dt_s = mappings[0].dt_ms * 1e-3
    # a trained population holds one mapping object for all its neurons: read it once
    parameters: dict[int, dict[str, np.ndarray]] = {}
    for mapping in mappings:
        if id(mapping) not in parameters:
            parameters[id(mapping)] = mapping.source_parameters(
                where=f"population {name!r}"
            ).si_arrays(1)
    rows = [parameters[id(m)] for m in mappings]
    if model == "loihi_ahp":
        form = _loihi_form(name, mappings, rows, currents_pA, dt_s)
    else:
        form = _lif_form(mappings, rows, currents_pA)
    ahp_factors = form.pop("ahp_factors", ())
    unsupported = _unsupported(name, model, form, dt_s, ahp_factors)
    return PopulationForm(model=model, **form, unsupported=unsupported)


def _lif_form(mappings, rows, currents_pA) -> dict:
    """LIF membrane with exponential AHP currents, in SI units."""

    def column(key: str) -> np.ndarray:
        return np.array([float(row[key][0]) for row in rows])

    resistance = column("R")
    n_currents = max(np.ravel(row["tau_ahp"]).size for row in rows)
    currents = []
    for k in range(n_currents):
        tau = np.ones(len(rows))  # a neuron without current k: any tau, no input
        feedback = np.zeros(len(rows))
        for i, row in enumerate(rows):
            taus, increments = np.ravel(row["tau_ahp"]), np.ravel(row["b_ahp"])
            if k < taus.size:
                tau[i], feedback[i] = taus[k], -increments[k] * taus[k]
        if feedback.any():  # a current no spike feeds stays 0: it needs no node
            currents.append(AhpCurrentForm(tau, feedback))
    return {
        "tau_s": column("tau_m"),
        "r": resistance,
        "v_leak": column("E_L") + resistance * currents_pA * 1e-12,
        "v_threshold": column("V_th"),
        "v_reset": column("V_reset"),
        "v_initial": column("E_L"),
        "voltage_unit": "V",
        "current_unit": "A",
        "volts_per_input": np.array([1e-3 / m.scale_per_mV for m in mappings]),
        "currents": tuple(currents),
        "refractory_steps": np.array([m.refract_delay for m in mappings]),
        "refractory_s": column("t_ref"),
    }


def _loihi_form(name, mappings, rows, currents_pA, dt_s) -> dict:
    """The discrete loihi_ahp neuron as the continuous system it samples (module docstring)."""
    n = len(mappings)
    tau_v, tau_a, feedback, v_leak = (np.zeros(n) for _ in range(4))
    ahp_factors = set()
    for i, (mapping, row) in enumerate(zip(mappings, rows, strict=True)):
        keep_v = mapping.float_keep_v
        tau_v[i] = _time_constant(keep_v, dt_s, f"population {name!r} neuron {i}: float_keep_v")
        v_leak[i] = float(row["input_gain"][0]) * currents_pA[i] * 1e-12 / (1.0 - keep_v)
        source_tau_v, source_tau_a = float(row["tau_v"][0]), float(row["tau_ahp"][0])
        b_ahp = float(row["b_ahp"][0])
        if b_ahp == 0:
            tau_a[i] = 1.0  # no AHP: any tau, no input
            continue
        exact_decays = math.isclose(keep_v, math.exp(-dt_s / source_tau_v), rel_tol=1e-12)
        keep_a = math.exp(-dt_s / source_tau_a) if exact_decays else 1.0 - dt_s / source_tau_a
        ahp_factors.add("exp(-dt/tau_ahp)" if exact_decays else "1 - dt/tau_ahp")
        tau_a[i] = _time_constant(
            keep_a, dt_s, f"population {name!r} neuron {i}: AHP factor (tau_ahp {source_tau_a:g} s)"
        )
        # what x adds to v over a step: r c x with r = tau_v
        added = tau_v[i] * float(coupling_factor(tau_v[i], tau_a[i], dt_s))
        feedback[i] = -b_ahp * tau_a[i] / added
    return {
        "tau_s": tau_v,
        "r": tau_v.copy(),
        "v_leak": v_leak,
        "v_threshold": np.array([float(row["v_th"][0]) for row in rows]),
        "v_reset": np.zeros(n),
        "v_initial": np.zeros(n),
        "voltage_unit": "1 (the model's own)",
        "current_unit": "1/s (the model's voltage per second)",
        "volts_per_input": np.array([1.0 / m.scale_per_mV for m in mappings]),
        "currents": (AhpCurrentForm(tau_a, feedback),) if feedback.any() else (),
        "refractory_steps": np.array([m.refract_delay for m in mappings]),
        "refractory_s": np.zeros(n),
        "ahp_factors": tuple(sorted(ahp_factors)),
    }


def _time_constant(keep: float, dt_s: float, what: str) -> float:
    """``-dt / ln(keep)``: the time constant whose exact decay over dt is ``keep``; for no
    memory (``keep`` 0), `MEMORYLESS_TAU_STEPS` steps."""
    if keep == 0.0:
        return MEMORYLESS_TAU_STEPS * dt_s
    if not 0.0 < keep < 1.0:
        raise NirExportError(
            f"{what} = {keep:g} has no continuous-time time constant; allowed: a factor from 0 "
            "(no memory) to 1 (exclusive: a factor of 1 never decays)"
        )
    return -dt_s / math.log(keep)


def _unsupported(
    name: str, model: str, form: dict, dt_s: float, ahp_factors: tuple[str, ...]
) -> tuple[str, ...]:
    """What of the population the nodes leave out, one line each."""
    notes = []
    held = form["refractory_steps"] - 1
    refractory_ms = form["refractory_s"] * 1e3
    if held.any() or refractory_ms.any():
        period = (
            f"a refractory period of {_span(refractory_ms)} ms"
            if refractory_ms.any()
            else "a refractory delay"
        )
        notes.append(
            f"population {name!r}: {period} is not expressed (NIR's LIF has none): the "
            f"toolkit holds v at its reset and drops synaptic input for {_span(held)} steps "
            f"of {dt_s * 1e3:g} ms after each spike (LIF metadata refractory_steps"
            + (", refractory_s)" if refractory_ms.any() else ")")
        )
    memoryless = [
        what
        for what, taus in (("voltage", form["tau_s"]),
                           *(("AHP", c.tau_s) for c in form["currents"]))
        if model == "loihi_ahp" and (taus == MEMORYLESS_TAU_STEPS * dt_s).any()
    ]  # fmt: skip
    if memoryless:
        notes.append(
            f"population {name!r}: {' and '.join(memoryless)} without memory (factor 0), which "
            f"NIR's nodes cannot hold: their tau is dt/{1 / MEMORYLESS_TAU_STEPS:g}, whose "
            "decay over a step is 0 in floating point (simulate it exactly, not by Euler steps)"
        )
    if model == "loihi_ahp":
        notes.append(
            f"population {name!r}: loihi_ahp is a discrete-time neuron; the nodes are the "
            f"continuous system that, sampled every {dt_s * 1e3:g} ms, is its recursion (time "
            f"constants from its per-step factors, tau {_span(form['tau_s'] * 1e3)} ms): they "
            "hold at that step only"
            + (
                f"; the AHP's factor, which the mapping does not record, is taken as "
                f"{' or '.join(ahp_factors)} (the voltage factor's convention)"
                if ahp_factors
                else ""
            )
        )
    return tuple(notes)


def _span(values: np.ndarray) -> str:
    """One value, or the range of several, in short form."""
    low, high = float(np.min(values)), float(np.max(values))
    return f"{low:.4g}" if low == high else f"{low:.4g} to {high:.4g}"
