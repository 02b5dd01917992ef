"""The discrete-time linear float form of a model: what a fixed-point mapper quantizes.

Every catalogue model with a hardware form, stepped at ``dt``, is a linear recursion of the
shape neuromorphic compartments compute. With ``x`` the membrane variable measured from the
reset (hardware resets to 0)::

    x(t)   = keep_v x(t-1) + drive_offset + drive_per_pA I(t) - sum_k inflow_k y_k(t-1)
                                                 - sum_j z_j(t-1)
    y_k(t) = keep_k y_k(t-1) + s(t)              (one decaying trace per spike-triggered term)
    z_j(t) = keep_k z_j(t-1) + per_pA_j I(t)     (a share of the input on term k's decay)
    spike if x(t) > threshold;  then x <- 0 and x is held for the refractory period

The input-driven traces ``z_j`` (`InputDrivenTerm`, ``lif_ahp_input``) ride on the decay of a
spike-triggered term: on the chip they are the same auxiliary compartment, which takes a bias
proportional to the input as well as the spikes.

A model gives this form through `NeuronModel.hardware_form`; the mapper
(`hardware_mapping.quantization`) needs nothing else, so a new model with a hardware form is
mappable without touching the mapper. ``inflow_k`` is what one spike removes from ``x`` on the
first step after it (membrane units), each later step ``keep_k`` times the previous.

Two rules say how a term survives quantized decays:

- ``"charge"`` (AHP currents): the quantized term delivers the float term's charge within a
  horizon after the spike;
- ``"threshold"`` (threshold adaptation, ``w = v - theta``): the inflow is
  ``jump (keep_k - keep_v)`` at the realized decays, which keeps the recursion exact below
  threshold (the hardware resets ``w`` where the float model resets ``v``: an approximation).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

__all__ = [
    "TERM_RULES",
    "WHOLE_STEP_TOLERANCE",
    "HardwareForm",
    "InputDrivenTerm",
    "SpikeTriggeredTerm",
    "refractory_steps",
]

TERM_RULES = ("charge", "threshold")

#: Refractory periods this close to a whole number of steps (in steps) hold that number.
WHOLE_STEP_TOLERANCE = 0.01


def refractory_steps(refractory_ms: float | np.ndarray, dt_ms: float) -> int | np.ndarray:
    """Refractory period in steps (Loihi's refractDelay): ``max(1, ceil(t_ref / dt))``.

    A stepped neuron holds its membrane for ``steps - 1`` steps after the spike step (Brian2
    with ``t_ref = steps dt`` and Loihi with ``refractDelay = steps`` alike), and a threshold
    crossing waits for the end of its step: on average half a step after the continuous
    crossing. An interval therefore lasts ``(steps - 1/2) dt`` plus the time to threshold, and
    ``steps = ceil(t_ref / dt)`` keeps that within half a step of the continuous model's
    ``t_ref`` plus the time to threshold. Rounding to the nearest step instead shortens the
    mean interval by half a step to a whole step wherever t_ref lies less than half a step
    above a whole number, which at 1 ms steps biases fast cells' rates upward. A period that
    is a whole number of steps keeps that number (the tie goes to the shorter side, as the
    model's own fine-step simulation does), as does one within `WHOLE_STEP_TOLERANCE` steps of
    a whole number.

    Parameters
    ----------
    refractory_ms : float or numpy.ndarray
        The model's refractory period (ms; 0 for none).
    dt_ms : float
        The step (ms).

    Returns
    -------
    int or numpy.ndarray
        Steps, at least 1 (1 holds nothing after the spike step).
    """
    # a period within a hundredth of a step of a whole number keeps that number: float noise
    # (0.3 / 0.1 = 2.9999999999999996) and the 1e-4 perturbations of `sensitivity_floors`
    # must not move it a whole step (fitted periods have a resolution of 0.1 ms at best)
    steps = np.maximum(1, np.ceil(np.asarray(refractory_ms) / dt_ms - WHOLE_STEP_TOLERANCE))
    return steps.astype(int) if steps.ndim else int(steps)


@dataclass(frozen=True)
class SpikeTriggeredTerm:
    """One spike-triggered, exponentially decaying term of a `HardwareForm`.

    Attributes
    ----------
    name : str
        Name in reports (``tau_ahp``, ``tau_ahp_2``, ``tau_a``).
    tau_ms : float
        Nominal time constant (ms).
    keep : float
        The float model's decay factor per step.
    inflow : float
        What one spike removes from ``x`` on the next step (membrane units), at the float
        model's decays; positive hyperpolarizes.
    rule : {"charge", "threshold"}
        How the term is requantized when its decay is (see the module's docstring).
    jump : float
        For ``"threshold"``: the threshold increase per spike (membrane units).
    """

    name: str
    tau_ms: float
    keep: float
    inflow: float
    rule: str = "charge"
    jump: float = 0.0

    def __post_init__(self) -> None:
        if self.rule not in TERM_RULES:
            raise ValueError(f"SpikeTriggeredTerm.rule = {self.rule!r}; allowed: {TERM_RULES}")

    def inflow_at(self, keep: float, keep_v: float) -> float:
        """The inflow at realized decay factors ``keep`` (this term's) and ``keep_v``."""
        if self.rule == "threshold":
            return self.jump * (keep - keep_v)
        return self.inflow


@dataclass(frozen=True)
class InputDrivenTerm:
    """A share of the input drawn from ``x`` through a spike-triggered term's decay.

    Attributes
    ----------
    name : str
        Name in reports (``input_share``).
    term : str
        The `SpikeTriggeredTerm` whose decay (and, on the chip, compartment) it shares.
    per_pA : float
        What one pA of input adds to the trace per step (membrane units); in steady state the
        trace draws ``per_pA / (1 - keep)`` per pA from ``x`` each step.
    """

    name: str
    term: str
    per_pA: float


@dataclass(frozen=True)
class HardwareForm:
    """A neuron's discrete-time linear float form at one time step.

    Attributes
    ----------
    model : str
        Catalogue name of the model.
    dt_ms : float
        The step.
    tau_v_ms : float
        Nominal membrane time constant (ms).
    keep_v : float
        Membrane decay factor per step.
    drive_offset, drive_per_pA : float
        Drive per step at zero input, and per pA of constant input (membrane units).
    threshold : float
        Spike threshold above the reset (membrane units, > 0).
    rest : float
        Resting value of ``x`` (membrane units): the state a run starts from.
    unit : str
        The membrane units (``"mV above V_reset"``, or the model's own).
    refractory_ms : float
        Refractory period (ms; 0 for none).
    terms : tuple of SpikeTriggeredTerm
        The spike-triggered terms (AHP currents, threshold adaptation).
    inputs : tuple of InputDrivenTerm
        Shares of the input on the decays of ``terms`` (none for most models).
    """

    model: str
    dt_ms: float
    tau_v_ms: float
    keep_v: float
    drive_offset: float
    drive_per_pA: float
    threshold: float
    rest: float
    unit: str
    refractory_ms: float
    terms: tuple[SpikeTriggeredTerm, ...]
    inputs: tuple[InputDrivenTerm, ...] = ()

    def __post_init__(self) -> None:
        names = {term.name for term in self.terms}
        for share in self.inputs:
            if share.term not in names:
                raise ValueError(
                    f"InputDrivenTerm {share.name!r} rides on term {share.term!r}; allowed: "
                    + ", ".join(sorted(names))
                )

    def term_named(self, name: str) -> SpikeTriggeredTerm:
        """The spike-triggered term called ``name``."""
        return next(term for term in self.terms if term.name == name)

    def drive(self, current_pA: float) -> float:
        """Drive per step (membrane units) for a constant current in pA."""
        return self.drive_offset + self.drive_per_pA * current_pA
