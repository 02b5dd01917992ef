r"""Closed-form time step of linear membranes driven by exponentially decaying currents.

Scheme
------
Over one step of length :math:`\Delta t` the input current is held at its value at the start of
the step (zero-order hold, which is exactly what a TimedArray sampled at the step provides).
The subthreshold system

.. math::

    \tau_m \dot v = E_L - v + R\,(I_{ext} - \textstyle\sum_k I_k), \qquad
    \tau_k \dot I_k = -I_k

is linear with constant coefficients inside the step, so its solution is exact:

.. math::

    v(t+\Delta t) = v_\infty + (v - v_\infty)\,m - \textstyle\sum_k c_k I_k, \qquad
    I_k(t+\Delta t) = a_k I_k

with :math:`v_\infty = E_L + R I_{ext}`, :math:`m = e^{-\Delta t/\tau_m}`,
:math:`a_k = e^{-\Delta t/\tau_k}` and the coupling

.. math::

    c_k = R\,\frac{\tau_k (a_k - m)}{\tau_k - \tau_m}
        = R\,\frac{\Delta t}{\tau_m}\, m\, \varphi(x_k)
        = R\,\frac{\Delta t}{\tau_m}\, a_k\, \varphi(-x_k), \qquad
    x_k = \Delta t\left(\frac{1}{\tau_m} - \frac{1}{\tau_k}\right), \quad
    \varphi(x) = \frac{e^x - 1}{x}.

The last two forms have no division by :math:`\tau_k - \tau_m`: :math:`\varphi` is evaluated
with ``expm1`` and :math:`\varphi(0) = 1`, so :math:`\tau_m = \tau_k` is an ordinary case
(Brian2's ``exact`` integrator returns NaN there, Brian2 issues #573, #679). The code takes the
form whose :math:`\varphi` argument is negative, so no exponential overflows however large
:math:`\Delta t/\tau` is. All factors depend only on
per-neuron constants and are computed once, in double precision, before the run; the step itself
is a few multiply-adds per neuron and no ``exp``.

Error
-----
For input that is constant over each step the subthreshold trajectory is exact up to
floating-point rounding (about 1e-15 relative per step). Two discretisation effects remain, the
same for every backend:

- a time-varying input is seen through the zero-order hold (error :math:`O(\Delta t)` in the
  input itself);
- threshold crossings are checked once per step. A spike is reported at the start of the step
  in which ``v`` crossed, i.e. the continuous crossing time rounded down to the grid, and
  integration restarts from the reset exactly one refractory period after that reported time.
  A regular interspike interval is therefore :math:`t_{ref} + \lfloor T/\Delta t\rfloor\Delta t`
  for the continuous time-to-threshold :math:`T` (tested), shorter than the continuous interval
  by less than one step.
"""

from __future__ import annotations

import numpy as np

__all__ = ["coupling_factor", "decay_factor", "mean_factor", "phi"]


def decay_factor(tau_s: np.ndarray, dt_s: float) -> np.ndarray:
    """Return :math:`e^{-\\Delta t/\\tau}` per neuron.

    Parameters
    ----------
    tau_s : numpy.ndarray
        Time constants in seconds (> 0).
    dt_s : float
        Time step in seconds.

    Returns
    -------
    numpy.ndarray
        Decay factors in (0, 1).
    """
    return np.exp(-dt_s / np.asarray(tau_s, dtype=float))


def phi(x: np.ndarray) -> np.ndarray:
    """Return :math:`(e^x - 1)/x` with its limit 1 at :math:`x = 0`, accurate for all x."""
    x = np.asarray(x, dtype=float)
    safe = np.where(x == 0.0, 1.0, x)
    return np.where(x == 0.0, 1.0, np.expm1(safe) / safe)


def coupling_factor(tau_m_s: np.ndarray, tau_k_s: np.ndarray, dt_s: float) -> np.ndarray:
    """Return the dimensionless coupling :math:`c_k/R` of a decaying current into the membrane.

    Parameters
    ----------
    tau_m_s : numpy.ndarray
        Membrane time constants in seconds.
    tau_k_s : numpy.ndarray
        Current time constants in seconds (equal to ``tau_m_s`` is allowed).
    dt_s : float
        Time step in seconds.

    Returns
    -------
    numpy.ndarray
        :math:`(\\Delta t/\\tau_m)\\, e^{-\\Delta t/\\tau_m}\\, \\varphi(x)`; multiply by the
        resistance to get volts per ampere of current at the start of the step.
    """
    tau_m_s = np.asarray(tau_m_s, dtype=float)
    tau_k_s = np.asarray(tau_k_s, dtype=float)
    x = dt_s * (1.0 / tau_m_s - 1.0 / tau_k_s)
    # m phi(x) = a_k phi(-x); use the form whose exponential cannot overflow, so that even
    # dt >> tau gives the finite limit instead of 0 * inf
    m, a = decay_factor(tau_m_s, dt_s), decay_factor(tau_k_s, dt_s)
    scaled = np.where(x >= 0, a * phi(-np.abs(x)), m * phi(-np.abs(x)))
    return (dt_s / tau_m_s) * scaled


def mean_factor(tau_s: np.ndarray, dt_s: float) -> np.ndarray:
    """Return the mean of ``exp(-s/tau)`` over one step: ``tau (1 - exp(-dt/tau)) / dt``.

    Parameters
    ----------
    tau_s : numpy.ndarray
        Time constants in seconds.
    dt_s : float
        Time step in seconds.

    Returns
    -------
    numpy.ndarray
        Factors in (0, 1]: the exact step average of an exponentially decaying quantity
        relative to its value at the start of the step.
    """
    return phi(-dt_s / np.asarray(tau_s, dtype=float))
