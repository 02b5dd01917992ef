"""Export a mapped network as a NIR graph: its float neurons and synapses in continuous time.

NIR (the Neuromorphic Intermediate Representation, the optional ``nir`` package: ``pip install
'ahp-toolkit[nir]'``) states a network as a graph of continuous-time nodes whose edges carry
signals (a spike is a unit Dirac impulse; a node sums its inputs). `to_nir` gives the *float
view* of a `MappedNetwork` (from `map_network`, `map_description` or `read_network_file`): the
neurons the registers were mapped from and the synapses' requested weights, not the chip's
integers. Per population ``P`` (`hardware_mapping.nir_forms` gives the node parameters)::

    P (LIF) -> P_output (Output)                      the population's spikes
    P -> P_ahp1_feedback (Scale) -> P_ahp1 (LI) -> P  each AHP current, fed by the own spikes

and per source ``S`` (population or spike input) and delay of ``k`` steps onto population ``T``::

    S -> S_delay<k> (Delay, k dt) -> S_to_T_delay<k> (Linear, weight jump tau / r) -> T

(synapses of one source, target and delay summed into one matrix, ``(n_T, n_S)``). Every
synaptic delay is whole steps and exact. Spike inputs become ``Input`` nodes; a network
without any (constant currents only) gets one ``P_input`` per population, as does a
population that nothing projects onto: an extra input into its LIF, zero in the toolkit's
network (NIR graphs start at their inputs).

Exact: the subthreshold equations, resets, AHP currents and synaptic jumps and delays; a
simulation of the graph that integrates exactly over steps of dt and checks thresholds at
the end of each step reproduces the toolkit's float run of ``lif_ahp`` and ``lif_multi_ahp``
networks (and of ``loihi_ahp`` networks, at that dt). Not expressed, and listed in
`NirExport.unsupported` and the graph's ``metadata["unsupported"]``: the chip's registers
(integer decays with truncation, 8-bit weight mantissas and exponents, bias registers, split
AHP compartments), refractory periods (v held, input dropped), the initial state (kept in
node metadata), threshold checks at step ends rather than at the crossing, and a loihi_ahp
neuron without memory (a relay; its tau is a thousandth of a step). A model NIR cannot state
(ALIF's moving threshold) is refused. The LIF nodes reset to ``v_reset`` (NIR 1.0.8; readers
that reset by subtracting the threshold differ), and simulators that delay recurrent edges by
one step see each AHP one step late.
"""

from __future__ import annotations

import os
from collections import defaultdict
from dataclasses import dataclass
from importlib import import_module
from typing import TYPE_CHECKING, Any

import numpy as np

from ahp_models.errors import UserError
from ahp_models.files import atomic_path
from hardware_mapping.network_mapping import MappedNetwork
from hardware_mapping.nir_forms import NIR_MODELS, NirExportError, PopulationForm, population_form
from hardware_mapping.parameter_files import toolkit_version

if TYPE_CHECKING:
    import nir

__all__ = [
    "MAX_DENSE_WEIGHTS",
    "NIR_FORMAT",
    "NIR_MODELS",
    "NirExport",
    "NirExportError",
    "check_nir_installed",
    "to_nir",
    "write_nir_file",
]

NIR_FORMAT = "ahp-toolkit/nir-export"
NIR_FORMAT_VERSION = 1
#: NIR's Linear is dense: a projection whose matrix has more entries (512 MB) is refused.
MAX_DENSE_WEIGHTS = 2**26


@dataclass(frozen=True)
class NirExport:
    """A network as a NIR graph, and what of it the graph does not express.

    Attributes
    ----------
    graph : nir.NIRGraph
        The graph (type-checked by NIR).
    unsupported : tuple of str
        One line per thing of the toolkit's network the graph leaves out.
    """

    graph: nir.NIRGraph
    unsupported: tuple[str, ...]


def to_nir(mapped: MappedNetwork) -> NirExport:
    """Return the float view of a mapped network as a NIR graph.

    Parameters
    ----------
    mapped : MappedNetwork
        Populations of `NIR_MODELS` neurons, projections and spike inputs.

    Returns
    -------
    NirExport
        The graph and the list of what it does not express.

    Raises
    ------
    NirExportError
        For a model without a NIR form, a factor without a time constant, a projection too
        large for a dense matrix, or node names that clash.
    UserError
        When the ``nir`` package is not installed.
    """
    nir = _nir()
    dt_s = _time_step_s(mapped)
    forms = {
        name: population_form(name, members, mapped.currents_pA[name])
        for name, members in mapped.mappings.items()
    }
    graph = _GraphBuilder(nir)
    for name, size in mapped.inputs.items():
        graph.add(name, nir.Input(input_type={"input": np.array([size])}))
    for name, form in forms.items():
        _add_population(graph, nir, name, form)
    targets = {p.post for p in mapped.projections}
    for name, form in forms.items():
        if not mapped.inputs or name not in targets:
            graph.add(f"{name}_input", nir.Input(input_type={"input": np.array([form.size])}))
            graph.connect(f"{name}_input", name)
    sizes = {**mapped.inputs, **{name: form.size for name, form in forms.items()}}
    _add_synapses(graph, nir, mapped, forms, sizes, dt_s)
    unsupported = _unsupported(mapped, forms, dt_s)
    metadata = {
        "format": NIR_FORMAT,
        "format_version": NIR_FORMAT_VERSION,
        "toolkit_version": toolkit_version(),
        "view": "float",
        "time_unit": "s",
        "time_step_s": dt_s,
        "unsupported": "\n".join(unsupported),
    }
    result = nir.NIRGraph(nodes=graph.nodes, edges=graph.edges, metadata=metadata)
    added = sorted(set(result.nodes) - set(graph.names))
    if added:  # every root and leaf is an Input or Output: NIR's inference adds none
        raise AssertionError(f"NIR added nodes {added} to the exported graph")
    return NirExport(result, unsupported)


def write_nir_file(path: str | os.PathLike, mapped: MappedNetwork) -> NirExport:
    """Write the float view of a mapped network as a NIR file (HDF5, atomically).

    Parameters
    ----------
    path : str or os.PathLike
        The file (``.nir`` by convention).
    mapped : MappedNetwork
        See `to_nir`.

    Returns
    -------
    NirExport
        What was written and what it does not express.
    """
    exported = to_nir(mapped)
    nir = _nir()
    with atomic_path(path) as temporary:
        nir.write(temporary, exported.graph)
    return exported


def check_nir_installed() -> None:
    """Refuse, before any work, an export that would fail for want of the nir package."""
    _nir()


def _nir() -> Any:
    """The nir package, or a one-line error saying how to install it."""
    try:
        return import_module("nir")
    except ImportError:
        raise UserError(
            "NIR export needs the nir package; install it with pip install 'ahp-toolkit[nir]'"
        ) from None


def _time_step_s(mapped: MappedNetwork) -> float:
    steps = {m.dt_ms for members in mapped.mappings.values() for m in members}
    if len(steps) != 1:
        raise NirExportError(
            f"the neurons were mapped at time steps {sorted(steps)} ms; allowed: one time step"
        )
    return steps.pop() * 1e-3


class _GraphBuilder:
    """Nodes and edges in the order they are added; a name used twice is refused."""

    def __init__(self, nir: Any) -> None:
        self.nir = nir
        self.nodes: dict[str, Any] = {}
        self.edges: list[tuple[str, str]] = []
        self.names: list[str] = []

    def add(self, name: str, node: Any) -> None:
        if name in self.nodes:
            raise NirExportError(
                f"NIR node name {name!r} is needed twice (a population or input and a node "
                "derived from another name); allowed: population and input names that no "
                "derived node name (_output, _input, _ahp<k>, _delay<k>, _to_) repeats"
            )
        self.nodes[name] = node
        self.names.append(name)

    def connect(self, source: str, target: str) -> None:
        self.edges.append((source, target))


def _add_population(graph: _GraphBuilder, nir: Any, name: str, form: PopulationForm) -> None:
    metadata = {
        "model": form.model,
        "voltage_unit": form.voltage_unit,
        "current_unit": form.current_unit,
        "v_initial": form.v_initial,
        "refractory_steps": form.refractory_steps,
    }
    if form.refractory_s.any():
        metadata["refractory_s"] = form.refractory_s
    graph.add(
        name,
        nir.LIF(
            tau=form.tau_s, r=form.r, v_leak=form.v_leak, v_threshold=form.v_threshold,
            v_reset=form.v_reset, metadata=metadata,
        ),
    )  # fmt: skip
    graph.add(f"{name}_output", nir.Output(output_type={"output": np.array([form.size])}))
    graph.connect(name, f"{name}_output")
    for k, current in enumerate(form.currents, start=1):
        ahp, feedback = f"{name}_ahp{k}", f"{name}_ahp{k}_feedback"
        graph.add(feedback, nir.Scale(scale=current.feedback))
        graph.add(
            ahp,
            nir.LI(
                tau=current.tau_s, r=np.ones(form.size), v_leak=np.zeros(form.size),
                metadata={"state": f"minus AHP current {k}", "unit": form.current_unit},
            ),
        )  # fmt: skip
        graph.connect(name, feedback)
        graph.connect(feedback, ahp)
        graph.connect(ahp, name)


def _add_synapses(graph, nir, mapped, forms, sizes, dt_s) -> None:
    """One Delay per source and delay, one dense Linear per source, target and delay."""
    weights: dict[tuple[str, str, int], np.ndarray] = {}
    for index, p in enumerate(mapped.projections):
        shape = (sizes[p.post], sizes[p.pre])
        if shape[0] * shape[1] > MAX_DENSE_WEIGHTS:
            raise NirExportError(
                f"projections[{index}] ({p.pre} -> {p.post}) needs a dense {shape[0]} x "
                f"{shape[1]} weight matrix (NIR's Linear); allowed: at most "
                f"{MAX_DENSE_WEIGHTS} entries"
            )
        steps = p.delay + 1  # the delay field counts the steps beyond the first
        weight = forms[p.post].input_weight(p.post_index, p.requested)
        for k in np.unique(steps):
            chosen = steps == k
            matrix = weights.setdefault((p.pre, p.post, int(k)), np.zeros(shape))
            np.add.at(matrix, (p.post_index[chosen], p.pre_index[chosen]), weight[chosen])
    delays: dict[str, set[int]] = defaultdict(set)
    for (pre, post, k), matrix in weights.items():
        delay = f"{pre}_delay{k}"
        if k not in delays[pre]:
            graph.add(delay, nir.Delay(delay=np.full(sizes[pre], k * dt_s)))
            graph.connect(pre, delay)
            delays[pre].add(k)
        linear = f"{pre}_to_{post}_delay{k}"
        graph.add(linear, nir.Linear(weight=matrix))
        graph.connect(delay, linear)
        graph.connect(linear, post)


def _unsupported(
    mapped: MappedNetwork, forms: dict[str, PopulationForm], dt_s: float
) -> tuple[str, ...]:
    """The network-wide lines, then each population's."""
    rounding = ""
    table = mapped.weights
    if not table.empty:
        error = np.nanmax(np.abs(table["relative_error"].to_numpy(dtype=float)), initial=0.0)
        rounding = f" (the synapses' largest relative rounding there: {error:.3g})"
    lines = [
        "the chip's registers are not expressed (this is the float view): integer decays "
        "with truncation, 8-bit weight mantissas and exponents" + rounding + ", bias "
        "registers, split AHP compartments; the mapping's quantization report holds them",
        f"thresholds: the toolkit checks them at the end of each step of {dt_s * 1e3:g} ms, "
        "NIR fires at the crossing; a simulation of the graph that integrates exactly over "
        "steps of dt and checks thresholds at their ends reproduces the toolkit's float run",
    ]
    if any(form.v_initial.any() for form in forms.values()):
        lines.append(
            "initial state: the toolkit's run starts from v = E_L and no AHP current (LIF "
            "metadata v_initial); NIR has no initial state"
        )
    for form in forms.values():
        lines.extend(form.unsupported)
    return tuple(lines)
