"""Export mapped neurons to Lava: ``LIF`` and ``Dense`` process parameters, and run them.

Lava (lava-nc/lava) has no dendritic join, so the AHP of a mapped neuron cannot be an
auxiliary compartment that pushes its voltage into the main one. Lava's ``LIF`` has a second
state, though, the current ``u``, which decays on its own register and enters ``v`` every step:

    u[t] = D(u[t-1], du + 1) + a_in[t]          v[t] = D(v[t-1], dv) + u[t] + bias

A mapped neuron whose main compartment takes no synaptic input (constant input through the
bias, as on Allen's long squares) has ``u = 0`` there; its AHP compartment follows
``v_aux[t] = D(v_aux[t-1], d_ahp) + input`` and is added to the main ``v`` in the same step.
With ``du = d_ahp - 1`` and the AHP synapses as a ``Dense`` from the LIF onto itself (its
spike reaches ``a_in`` one step later, as the main -> aux synapse does on Loihi), Lava's ``u``
*is* the AHP compartment, and the export is bit-exact.

What Lava's bit-accurate LIF cannot hold is approximated, and each neuron lists what:

- several AHP compartments (split decays, several AHP currents): merged into one with their
  charge-weighted mean decay and their total charge over 1 s (a split pair merges into about
  what ``map_neuron(..., split_decays=False)`` gives);
- the AHP compartment's truncation-compensation bias (Lava's ``u`` has no bias): dropped;
- a refractory period longer than one step (``PyLifModelBitAcc`` has none): dropped. A bias
  that climbs more slowly instead does no better (over 120 fitted cells, one lengthening the
  climb by the held steps fires 10 spikes per sweep too few where dropping fires 15 too many,
  and keeps fewer sweeps' counts identical: 18 % vs 51 %): while held, the chip ignores the
  AHP too, which no bias reproduces;
- an AHP decay of 0 (Lava's ``u`` decays by at least 1) or a voltage decay of 4096.

`to_lava` makes the Lava form of a `NeuronMapping`; `write_lava_file` writes the processes'
keyword arguments (Lava's own names) and connections as JSON; `read_lava_file` checks such a
file and builds it for ``Simulator(network, mode="lava")``, which reproduces Lava's
``PyLifModelBitAcc`` and ``PyDenseModelBitAcc`` (`hardware_mapping.loihi.lava`). In Lava::

    import json, numpy as np
    from lava.proc.lif.process import LIF
    from lava.proc.dense.process import Dense
    neuron = json.load(open("cell.lava.json"))["neurons"][0]
    made = {p["name"]: (LIF if p["process"] == "LIF" else Dense)(
        **{k: np.asarray(v) if isinstance(v, list) else v for k, v in p["kwargs"].items()})
        for p in neuron["processes"]}
    for source, target in neuron["connections"]:   # "name.port"
        getattr(made[source.split(".")[0]], source.split(".")[1]).connect(
            getattr(made[target.split(".")[0]], target.split(".")[1]))

(``shape`` must be passed as a tuple.) Run it with ``Loihi2SimCfg(select_tag="fixed_pt")``.
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from brian2 import Quantity, pA

from ahp_models.files import atomic_write_text
from hardware_mapping.loihi.lava import lava_dense, lava_lif
from hardware_mapping.loihi.network import CompartmentGroup, Network
from hardware_mapping.loihi.registers import RegisterError
from hardware_mapping.neuron_mapping import MappingError, NeuronMapping, quantize_weights
from hardware_mapping.parameter_files import (
    ParameterFileError,
    common_time_step,
    creation_stamp,
    load_checked_json,
    toolkit_version,
    validate_against_schema,
)

__all__ = [
    "LAVA_FORMAT",
    "LAVA_SCHEMA_PATH",
    "LavaFile",
    "LavaNeuron",
    "read_lava_file",
    "to_lava",
    "write_lava_file",
]

LAVA_FORMAT = "ahp-toolkit/lava-export"
LAVA_VERSION = 1
LAVA_SCHEMA_PATH = Path(__file__).parent / "schema" / "lava-export-v1.schema.json"
# Lava's registers: du and dv are 12 bits; u decays by du + 1 (ds_offset), v by dv.
LAVA_DECAY_MAX = 4095


@dataclass(frozen=True)
class LavaNeuron:
    """A mapped neuron in the registers of Lava's ``LIF`` and ``Dense`` processes.

    Attributes
    ----------
    du, dv : int
        Lava's decay registers, 0..4095 (u decays by du + 1, v by dv).
    vth : int
        Threshold mantissa (spike when v > vth << 6).
    v_rest : int
        Initial voltage.
    feedback : tuple of (int, int)
        The AHP: one ``Dense`` from the LIF onto itself per (weight, weight_exp); a spike
        adds ``weight << (6 + weight_exp)`` to u one step later.
    approximations : tuple of str
        What differs from the Loihi mapping (empty: bit-exact).
    """

    du: int
    dv: int
    vth: int
    v_rest: int
    feedback: tuple[tuple[int, int], ...]
    approximations: tuple[str, ...]

    @property
    def exact(self) -> bool:
        """Whether the Lava form spikes exactly as the Loihi mapping."""
        return not self.approximations

    def add_to(
        self, network: Network, name: str, bias_mant: np.ndarray, bias_exp: np.ndarray
    ) -> CompartmentGroup:
        """Add one LIF neuron per bias (and the AHP Dense processes) to a Lava-mode network.

        Parameters
        ----------
        network : Network
            A network to run with ``Simulator(network, mode="lava")``.
        name : str
            Name of the LIF group; the Dense groups are ``name_ahp1``...
        bias_mant, bias_exp : numpy.ndarray
            Bias registers, one per neuron (`NeuronMapping.bias`).

        Returns
        -------
        CompartmentGroup
            The LIF group (set its initial ``v`` to ``v_rest``).
        """
        n = np.asarray(bias_mant).size
        lif = lava_lif(
            name, n, du=self.du, dv=self.dv, bias_mant=bias_mant, bias_exp=bias_exp, vth=self.vth
        )
        network.add(lif)
        for k, (weight, weight_exp) in enumerate(self.feedback, start=1):
            network.add(
                lava_dense(
                    f"{name}_ahp{k}", lif, lif, np.diag(np.full(n, weight)), weight_exp=weight_exp
                )
            )
        return lif

    def processes(self, name: str, bias_mant: np.ndarray, bias_exp: np.ndarray) -> list[dict]:
        """The Lava processes (``{"name", "process", "kwargs"}``) in Lava's parameter names."""
        n = int(np.asarray(bias_mant).size)
        lif = {
            "name": name,
            "process": "LIF",
            "kwargs": {
                "shape": [n],
                "u": 0,
                "v": self.v_rest,
                "du": self.du,
                "dv": self.dv,
                "vth": self.vth,
                "bias_mant": [int(b) for b in np.ravel(bias_mant)],
                "bias_exp": [int(b) for b in np.ravel(bias_exp)],
            },
        }
        dense = [
            {
                "name": f"{name}_ahp{k}",
                "process": "Dense",
                "kwargs": {
                    "weights": np.diag(np.full(n, weight)).tolist(),
                    "weight_exp": weight_exp,
                    "num_weight_bits": 8,
                    "num_message_bits": 0,
                },
            }
            for k, (weight, weight_exp) in enumerate(self.feedback, start=1)
        ]
        return [lif, *dense]


def to_lava(mapping: NeuronMapping, *, charge_horizon_steps: float | None = None) -> LavaNeuron:
    """Return the Lava form of a mapped neuron, exact where Lava's LIF allows.

    Parameters
    ----------
    mapping : NeuronMapping
        The Loihi mapping (one main compartment, AHP compartments joined into it).
    charge_horizon_steps : float, optional
        The horizon over which merged AHP compartments keep their charge; default 1 s.

    Returns
    -------
    LavaNeuron
        The registers, with ``approximations`` naming every difference from the mapping.
    """
    horizon = charge_horizon_steps if charge_horizon_steps is not None else 1e3 / mapping.dt_ms
    notes: list[str] = []
    dv = mapping.decay_v
    if dv > LAVA_DECAY_MAX:
        notes.append(f"voltage decay {dv} -> {LAVA_DECAY_MAX} (Lava's dv is 12 bits)")
        dv = LAVA_DECAY_MAX
    if mapping.refract_delay > 1:
        notes.append(
            f"refractory period of {mapping.refract_delay} steps dropped (Lava's bit-accurate "
            "LIF holds v at 0 for no step after a spike)"
        )
    aux = mapping.aux
    if mapping.takes_input_share:
        raise MappingError(
            f"to_lava: model {mapping.model!r} takes a share of its input in its AHP "
            "compartment, and Lava's LIF has no bias on its current u; allowed: models without "
            "an input share (write this one as a Loihi parameter file)"
        )
    if not aux:
        return LavaNeuron(LAVA_DECAY_MAX, dv, mapping.vth_mant, mapping.v_rest, (), tuple(notes))
    if any(c.bias for c in aux):
        notes.append("AHP truncation-compensation bias dropped (Lava's u has no bias)")
    if len(aux) == 1:
        decay, feedback = aux[0].decay, aux[0].weights
    else:
        decay, feedback = _merged(aux, horizon)
        notes.append(
            f"{len(aux)} AHP compartments (decays {', '.join(str(c.decay) for c in aux)}) merged "
            f"into one of decay {decay} with their charge over {horizon:g} steps (Lava's LIF "
            "has one current u)"
        )
    if decay == 0:
        notes.append("AHP decay 0 -> 1 (Lava's u decays by du + 1 >= 1)")
        decay = 1
    return LavaNeuron(decay - 1, dv, mapping.vth_mant, mapping.v_rest, feedback, tuple(notes))


def _merged(aux, horizon: float) -> tuple[int, tuple[tuple[int, int], ...]]:
    """One decay and input for several AHP compartments: their charge-weighted mean decay,
    and the input that keeps their total charge over ``horizon`` steps."""

    def charge(decay: int) -> float:  # what an input of 1 adds up to over the horizon
        keep = (4096 - decay) / 4096
        return horizon if decay == 0 else (1.0 - keep**horizon) / (1.0 - keep)

    charges = [c.input_per_spike * charge(c.decay) for c in aux]
    total = sum(charges)
    decay = round(sum(q * c.decay for q, c in zip(charges, aux, strict=True)) / total)
    return decay, quantize_weights(total / charge(decay))


@dataclass(frozen=True)
class LavaFile:
    """A Lava export read back: its network for ``Simulator(mode="lava")`` and its neurons.

    Attributes
    ----------
    network : Network
        Every neuron's LIF group (named as the neuron) and Dense groups.
    initial_v : dict of str to numpy.ndarray
        Each LIF group's initial voltage.
    neurons : list of dict
        The file's neuron entries (name, currents, approximations, source).
    time_step_ms : float
        The hardware step.
    """

    network: Network
    initial_v: dict[str, np.ndarray]
    neurons: list[dict[str, Any]]
    time_step_ms: float


def write_lava_file(
    path: str | os.PathLike,
    mappings: Mapping[str, NeuronMapping],
    currents: Mapping[str, Quantity],
    *,
    created: str | None = None,
) -> Path:
    """Write mapped neurons as Lava LIF and Dense parameters (atomically).

    Parameters
    ----------
    path : str or os.PathLike
        The file (``.lava.json`` by convention).
    mappings : mapping of str to NeuronMapping
        Neuron name -> mapping, all at one time step.
    currents : mapping of str to Quantity
        Neuron name -> the constant input currents to export it for: one LIF neuron per
        current, each with its bias (Lava's LIF takes a constant input as its bias).
    created : str, optional
        The file's ``created`` stamp; default `hardware_mapping.parameter_files.creation_stamp`.

    Returns
    -------
    pathlib.Path
        The written file.
    """
    time_step_ms = common_time_step(path, mappings)
    neurons = []
    for name, mapping in mappings.items():
        if name not in currents:
            raise ParameterFileError(f"{path}: no currents given for neuron {name!r}")
        current_pA = np.atleast_1d(np.asarray(currents[name] / pA, dtype=float))
        lava = to_lava(mapping)
        bias_mant, bias_exp = mapping.bias(current_pA * pA)
        processes = lava.processes(name, bias_mant, bias_exp)
        connections = [
            pair
            for dense in processes[1:]
            for pair in ([f"{name}.s_out", f"{dense['name']}.s_in"],
                         [f"{dense['name']}.a_out", f"{name}.a_in"])
        ]  # fmt: skip
        neurons.append(
            {
                "name": name,
                "currents_pA": current_pA.tolist(),
                "exact": lava.exact,
                "approximations": list(lava.approximations),
                "processes": processes,
                "connections": connections,
                "source": {
                    "model": mapping.source["model"],
                    "parameters": mapping.source["parameters"],
                },
            }
        )
    document = {
        "format": LAVA_FORMAT,
        "version": LAVA_VERSION,
        "target": "lava PyLifModelBitAcc / PyDenseModelBitAcc",
        "time_step_ms": time_step_ms,
        "toolkit_version": toolkit_version(),
        "created": created or creation_stamp(),
        "neurons": neurons,
    }
    validate_against_schema(document, path, LAVA_SCHEMA_PATH)
    atomic_write_text(path, json.dumps(document, indent=1, allow_nan=False) + "\n")
    return Path(path)


def read_lava_file(path: str | os.PathLike) -> LavaFile:
    """Read and check a Lava export and build it for ``Simulator(network, mode="lava")``.

    Parameters
    ----------
    path : str or os.PathLike
        The file.

    Returns
    -------
    LavaFile
        The network, initial voltages and neuron entries.

    Raises
    ------
    ParameterFileError
        Naming the file, the field, its value and what is allowed.
    """
    document = load_checked_json(path, LAVA_SCHEMA_PATH)
    network = Network(delay_bits=0)
    initial_v: dict[str, np.ndarray] = {}
    seen: set[str] = set()
    for index, neuron in enumerate(document["neurons"]):
        where = f"{path}: neurons[{index}]"
        names = [p["name"] for p in neuron["processes"]]
        if neuron["name"] != names[0] or seen.intersection(names) or len(set(names)) < len(names):
            raise ParameterFileError(
                f"{where}.processes: names {names}; allowed: the neuron's name first, then "
                "names used nowhere else in the file"
            )
        seen.update(names)
        _check_connections(neuron, where)
        lif, *dense = neuron["processes"]
        kwargs = lif["kwargs"]
        n = kwargs["shape"][0]
        try:
            group = lava_lif(
                neuron["name"], n, du=kwargs["du"], dv=kwargs["dv"], vth=kwargs["vth"],
                bias_mant=_per_neuron(kwargs, "bias_mant", n, where),
                bias_exp=_per_neuron(kwargs, "bias_exp", n, where),
            )  # fmt: skip
            network.add(group)
            for process in dense:
                weights = np.asarray(process["kwargs"]["weights"], dtype=float)
                if weights.shape != (n, n):
                    raise RegisterError(
                        f"weights have shape {weights.shape}; allowed: ({n}, {n}), the LIF's "
                        "shape both ways"
                    )
                network.add(
                    lava_dense(
                        process["name"], group, group, weights,
                        weight_exp=process["kwargs"]["weight_exp"],
                        num_weight_bits=process["kwargs"]["num_weight_bits"],
                    )
                )  # fmt: skip
        except RegisterError as error:
            raise ParameterFileError(f"{where}.processes: {error}") from None
        initial_v[neuron["name"]] = np.broadcast_to(_per_neuron(kwargs, "v", n, where), (n,)).copy()
        if np.any(_per_neuron(kwargs, "u", n, where)):
            raise ParameterFileError(f"{where}.processes[0].kwargs.u: allowed: 0 (at rest)")
    return LavaFile(network, initial_v, list(document["neurons"]), document["time_step_ms"])


def _per_neuron(kwargs: Mapping[str, Any], key: str, n: int, where: str) -> np.ndarray:
    value = np.asarray(kwargs[key], dtype=np.int64)
    if value.ndim == 1 and value.size != n:
        raise ParameterFileError(
            f"{where}.processes[0].kwargs.{key}: {value.size} values; allowed: one, or one per "
            f"neuron ({n})"
        )
    return value


def _check_connections(neuron: Mapping[str, Any], where: str) -> None:
    """Each Dense must connect the LIF's s_out to its s_in and its a_out to the LIF's a_in."""
    name = neuron["name"]
    wanted = sorted(
        pair
        for process in neuron["processes"][1:]
        for pair in ([f"{name}.s_out", f"{process['name']}.s_in"],
                     [f"{process['name']}.a_out", f"{name}.a_in"])
    )  # fmt: skip
    if sorted(neuron["connections"]) != wanted:
        raise ParameterFileError(
            f"{where}.connections = {json.dumps(neuron['connections'])[:200]}; allowed: each "
            f"Dense fed by {name}.s_out and feeding {name}.a_in ({json.dumps(wanted)[:200]})"
        )
