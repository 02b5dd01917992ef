"""LIF neuron whose AHP current follows the input as well as the spikes: abrupt onsets.

Equations::

    tau_m dv/dt = (E_L - v) + R (I_ext - I_ahp)               (v held at V_reset while refractory)
    tau_ahp dI_ahp/dt = input_share I_ext - I_ahp
    on spike (v > V_th): v <- V_reset ; I_ahp <- I_ahp + b_ahp

With ``input_share = 0`` this is ``lif_ahp``. With a share ``s > 0`` a constant input ``I`` is
felt in full at its onset and as ``(1 - s) I`` once the AHP current has caught up (after a few
``tau_ahp``). That gives the neuron two thresholds:

- the *rheobase*, the smallest step that makes the resting neuron fire at all: the membrane
  peaks before the current has caught up (`onset_peak`), and fires a few spikes at the onset;
- the *tonic threshold* ``(V_th - E_L) / ((1 - s) R)``, above which it fires all along the step,
  at the steep rate of an LIF neuron near its threshold.

Between the two the neuron fires a handful of spikes, above the second tens: the abrupt onset of
fast-spiking (mostly Pvalb) cells, which fire 0-3 spikes at and just above their rheobase and
then jump to 40-140 spikes within a few tens of pA. ``lif_ahp``'s rate rises smoothly from its
rheobase and cannot hold both. The current follows the input, not the membrane potential (as
subthreshold adaptation in GIF or AdEx does): a neuromorphic compartment tree has no loop from
the membrane back into an adaptation compartment, but an auxiliary compartment can take a share
of the input as well as the spikes. For a resting neuron below threshold the two are the same
up to the membrane's filter, since ``v - E_L`` follows ``R I``.

Integrated with the closed-form step of `ahp_models.integration` (exact for input held constant
within a step): ``J = I_ahp - s I_ext`` decays freely with ``tau_ahp`` and drives the membrane
as ``lif_ahp``'s current does, towards ``E_L + (1 - s) R I_ext``.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass

import numpy as np
from brian2 import Quantity

from ahp_models.hardware_form import HardwareForm, InputDrivenTerm
from ahp_models.integration import coupling_factor, decay_factor, phi
from ahp_models.lif_ahp import LifAhp, LifAhpParams
from ahp_models.parameters import ParameterSet, parameter

__all__ = ["LifAhpInput", "LifAhpInputParams", "onset_peak"]


@dataclass(frozen=True)
class LifAhpInputParams(LifAhpParams):
    """Parameters of the LIF neuron whose AHP current also follows the input
    (``lif_ahp_input``)."""

    model_name = "lif_ahp_input"

    input_share: float = parameter(
        0.2,
        "1",
        low=0,
        high=1,
        high_open=True,
        description="share of the input current the AHP current takes on in steady state",
    )


def onset_peak(tau_m_s: np.ndarray, tau_ahp_s: np.ndarray, share: np.ndarray) -> np.ndarray:
    """Peak of the resting membrane's response to a current step, relative to ``R I``.

    The step response is ``u(t) = (1 - s)(1 - e^{-t/tau_m}) + s (t/tau_m) e^{-t/tau_m}
    phi(t (1/tau_m - 1/tau_ahp))``; it peaks at ``t* = (tau_ahp / s) log1p(y) / y`` with
    ``y = (tau_ahp - tau_m) / (s tau_m)`` where ``y > -1``, and otherwise rises to ``1 - s``
    for ever.

    Parameters
    ----------
    tau_m_s, tau_ahp_s : numpy.ndarray
        Membrane and AHP time constants (s; any one unit for both gives the same peak).
    share : numpy.ndarray
        ``input_share`` in [0, 1).

    Returns
    -------
    numpy.ndarray
        ``sup_t u(t)`` in (0, 1]: 1 without a share, ``1 - s`` at the least.
    """
    tau_m, tau_a, s = np.broadcast_arrays(
        *(np.asarray(x, dtype=float) for x in (tau_m_s, tau_ahp_s, share))
    )
    safe_s = np.where(s > 0, s, 1.0)
    y = (tau_a - tau_m) / (safe_s * tau_m)
    interior = (s > 0) & (y > -1)
    safe_y = np.where(interior & (y != 0), y, 1.0)
    ratio = np.where(y == 0, 1.0, np.log1p(np.where(interior, safe_y, 0.0)) / safe_y)
    t_peak = np.where(interior, tau_a / safe_s * ratio, 0.0)
    x = t_peak * (1.0 / tau_m - 1.0 / tau_a)
    decay = np.exp(-t_peak / tau_m)
    peak = (1 - s) * (1 - decay) + s * (t_peak / tau_m) * decay * phi(x)
    return np.where(s == 0, 1.0, np.where(interior, np.maximum(peak, 1 - s), 1 - s))


class LifAhpInput(LifAhp):
    """LIF neuron with one AHP current driven by its spikes and by a share of its input."""

    name = "lif_ahp_input"
    title = "LIF with an AHP current that also follows the input (abrupt onsets)"
    params_class = LifAhpInputParams

    def differential_equations(self) -> str:
        return (
            "dv/dt = (E_L - v + R*(I_ext - I_ahp))/tau_m : volt (unless refractory)\n"
            "dI_ahp/dt = (input_share*I_ext - I_ahp)/tau_ahp : amp"
        )

    def step_code(self) -> str:
        # J = I_ahp - s I_ext decays freely for input held within the step; the membrane sees
        # the input's remaining share (1 - s) I_ext and J through lif_ahp's exact coupling
        return "\n".join(
            [
                "_J = I_ahp - input_share*I_ext",
                "_v_inf = E_L + R*(I_ext - input_share*I_ext)",
                "_v_next = _v_inf + (v - _v_inf)*decay_m - k_I_ahp*_J",
                "I_ahp = input_share*I_ext + _J*decay_I_ahp",
                "v = _v_next",
            ]
        )

    def rheobase(self, params: ParameterSet, dt: Quantity | None = None) -> Quantity:
        """Smallest step that makes the resting neuron fire: ``(V_th - E_L) / (R u*)``, with
        ``u*`` the membrane's peak response (`onset_peak`)."""
        peak = onset_peak(
            np.asarray(params.tau_m, dtype=float),
            np.asarray(params.tau_ahp, dtype=float),
            np.asarray(params.input_share, dtype=float),
        )
        return (params.V_th - params.E_L) / (params.R * peak)

    def tonic_threshold(self, params: ParameterSet) -> Quantity:
        """Smallest step above which the neuron fires all along: ``(V_th - E_L) / ((1 - s) R)``.

        Parameters
        ----------
        params : LifAhpInputParams
            The parameters.

        Returns
        -------
        Quantity
            One value or one per neuron.
        """
        return (params.V_th - params.E_L) / (params.R * (1.0 - np.asarray(params.input_share)))

    def hardware_form(self, params: ParameterSet, dt_s: float) -> HardwareForm:
        """``lif_ahp``'s form with the input's share as an input-driven term on the same decay.

        The membrane's drive per pA is ``(1 - m) R (1 - s) + c s`` (the input through the
        membrane, less the share the current takes at the start of each step), and the current's
        share of the input, ``z(t) = a z(t-1) + c s (1 - a) I(t)`` in mV, is drawn from ``x``
        each step (`InputDrivenTerm`).
        """
        form = super().hardware_form(params, dt_s)  # the membrane and the spikes' term
        p = params.si_arrays(1)
        tau_m, tau_a = float(p["tau_m"][0]), float(p["tau_ahp"][0])
        share = float(p["input_share"][0])
        r_mv_per_pA = float(p["R"][0]) * 1e-9
        keep_a = float(decay_factor(tau_a, dt_s))
        coupling_mV_per_pA = r_mv_per_pA * float(coupling_factor(tau_m, tau_a, dt_s))
        keep_v = form.keep_v
        per_pA = (1.0 - keep_v) * r_mv_per_pA * (1.0 - share) + coupling_mV_per_pA * share
        return dataclasses.replace(
            form,
            drive_per_pA=per_pA,
            inputs=(
                InputDrivenTerm(
                    name="input_share",
                    term="tau_ahp",
                    per_pA=coupling_mV_per_pA * share * (1.0 - keep_a),
                ),
            ),
        )
