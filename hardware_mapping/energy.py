"""Energy and latency of a fixed-point run on Loihi, from the simulator's operation counters.

Two published tables; every estimate says which it used:

- ``davies2018``: Davies et al. 2018, IEEE Micro 38(1), Table 2 (pre-silicon, 0.75 V):
  synaptic spike operation 23.6 pJ, neuron update 81 pJ active / 52 pJ inactive, spike within a
  tile 1.7 pJ; synaptic operation 3.5 ns, neuron update 8.4 ns active / 5.3 ns inactive.
- ``sana-fe``: the silicon-fitted figures of SANA-FE (arch/loihi.yaml): synapse 35.5 pJ, neuron
  update 51.2 pJ inactive / 72.8 pJ active / 69.3 pJ spiking, spike out 76.8 pJ (no timings:
  latency uses Davies' figures).

Dynamic energy per step::

    davies2018: 23.6 synaptic_ops + 81 active + 52 (updates - active) + 1.7 spikes      [pJ]
    sana-fe:    35.5 synaptic_ops + 72.8 (active - spikes) + 69.3 spikes
                + 51.2 (updates - active) + 76.8 spikes                                 [pJ]

Latency per step: the compartments are spread over cores of 1024 and each core's work is
assumed even, so a step takes ``(8.4 active + 5.3 inactive + 3.5 synaptic_ops) / cores`` ns
(spike routing between tiles and the barrier synchronization are not in the tables and are not
counted). Static energy: 104 mW per chip (Frady et al. 2020) over the run's latency, or the used
cores' share of it.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import pandas as pd

__all__ = ["COMPARTMENTS_PER_CORE", "ENERGY_TABLES", "EnergyEstimate", "estimate_energy"]

COMPARTMENTS_PER_CORE = 1024
CORES_PER_CHIP = 128
STATIC_POWER_W = 0.104  # per chip, Frady et al. 2020
ENERGY_TABLES = {
    "davies2018": {
        "synaptic_op_pJ": 23.6,
        "update_active_pJ": 81.0,
        "update_spiking_pJ": 81.0,
        "update_inactive_pJ": 52.0,
        "spike_pJ": 1.7,
    },
    "sana-fe": {
        "synaptic_op_pJ": 35.5,
        "update_active_pJ": 72.8,
        "update_spiking_pJ": 69.3,
        "update_inactive_pJ": 51.2,
        "spike_pJ": 76.8,
    },
}
# Davies et al. 2018, Table 2
SYNAPTIC_OP_NS = 3.5
UPDATE_ACTIVE_NS = 8.4
UPDATE_INACTIVE_NS = 5.3


@dataclass(frozen=True)
class EnergyEstimate:
    """Energy and latency of one run.

    Attributes
    ----------
    table : str
        The energy table (`ENERGY_TABLES`).
    per_step : pandas.DataFrame
        Per step: ``dynamic_pJ`` and ``latency_ns``.
    dynamic_J, static_J, total_J : float
        Over the run (static: the chips' static power over the summed step latencies).
    latency_s : float
        Summed step latencies.
    cores, chips : int
        The cores the compartments fill and the chips they need.
    """

    table: str
    per_step: pd.DataFrame
    dynamic_J: float
    static_J: float
    total_J: float
    latency_s: float
    cores: int
    chips: int


def estimate_energy(
    counters: pd.DataFrame, *, table: str = "davies2018", static_scope: str = "chips"
) -> EnergyEstimate:
    """Estimate energy and latency from a run's counters (`FixedPointRun.counters`).

    Parameters
    ----------
    counters : pandas.DataFrame
        Per step: ``synaptic_ops``, ``neuron_updates``, ``active_updates``, ``spikes``.
    table : {"davies2018", "sana-fe"}
        Which published figures.
    static_scope : {"chips", "cores"}
        Static power of the whole chips the network needs, or only the used cores' share of
        it (cores / 128 of a chip's), as NxSDK's energy probes apportion it to a network.

    Returns
    -------
    EnergyEstimate
        Per step and totals.
    """
    if table not in ENERGY_TABLES:
        raise ValueError(f"table = {table!r}; allowed: {', '.join(ENERGY_TABLES)}")
    missing = {"synaptic_ops", "neuron_updates", "active_updates", "spikes"} - set(counters)
    if missing:
        raise ValueError(f"counters lack {', '.join(sorted(missing))}")
    figures = ENERGY_TABLES[table]
    synaptic = counters["synaptic_ops"].to_numpy(dtype=float)
    updates = counters["neuron_updates"].to_numpy(dtype=float)
    active = counters["active_updates"].to_numpy(dtype=float)
    spikes = counters["spikes"].to_numpy(dtype=float)
    dynamic_pJ = (
        figures["synaptic_op_pJ"] * synaptic
        + figures["update_active_pJ"] * (active - spikes)
        + figures["update_spiking_pJ"] * spikes
        + figures["update_inactive_pJ"] * (updates - active)
        + figures["spike_pJ"] * spikes
    )
    n_compartments = int(updates.max()) if updates.size else 0
    cores = max(1, math.ceil(n_compartments / COMPARTMENTS_PER_CORE))
    chips = math.ceil(cores / CORES_PER_CHIP)
    latency_ns = (
        UPDATE_ACTIVE_NS * active
        + UPDATE_INACTIVE_NS * (updates - active)
        + SYNAPTIC_OP_NS * synaptic
    ) / cores
    latency_s = float(latency_ns.sum()) * 1e-9
    dynamic_J = float(dynamic_pJ.sum()) * 1e-12
    if static_scope not in ("chips", "cores"):
        raise ValueError(f"static_scope = {static_scope!r}; allowed: chips, cores")
    share = chips if static_scope == "chips" else cores / CORES_PER_CHIP
    static_J = STATIC_POWER_W * share * latency_s
    per_step = pd.DataFrame({"dynamic_pJ": dynamic_pJ, "latency_ns": latency_ns})
    if "step" in counters:
        per_step.insert(0, "step", counters["step"].to_numpy())
    return EnergyEstimate(
        table=table,
        per_step=per_step,
        dynamic_J=dynamic_J,
        static_J=static_J,
        total_J=dynamic_J + static_J,
        latency_s=latency_s,
        cores=cores,
        chips=chips,
    )
