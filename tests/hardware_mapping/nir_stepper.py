"""A reference simulator of NIR graphs, written from NIR's node equations alone.

It knows Input, Output, LIF, LI, Scale, Linear and Delay. The LIF and LI states form one linear
system ``tau dx/dt = (v_leak - x) + r I``, where ``I`` sums the outputs of the LI nodes that
reach the node (through Scale and Linear nodes); it is integrated exactly over each step of
``dt`` (matrix exponential). Spikes are unit impulses: one of weight ``w`` into a node makes
its state jump by ``r w / tau``. A spike emitted at a step end arrives ``k`` steps later
through Delay nodes of ``k dt``; arrivals land at the step end before the thresholds are
checked (``v > v_threshold``: spike, ``v <- v_reset``); undelayed spikes reach LI nodes at
once. Nothing of the toolkit is used.
"""

from __future__ import annotations

from collections import defaultdict

import nir
import numpy as np
import scipy.linalg

_STATE_NODES = (nir.LIF, nir.LI)
_SPIKE_SOURCES = (nir.LIF, nir.Input)


def _paths(graph, start, dt_s):
    """(target, matrix, delay in steps) of every path from ``start`` through Scale, Linear
    and Delay nodes to a state node."""
    successors = defaultdict(list)
    for source, target in graph.edges:
        successors[source].append(target)
    size = _size(graph.nodes[start])
    found = []
    pending = [(target, np.eye(size), 0) for target in successors[start]]
    while pending:
        name, matrix, steps = pending.pop()
        node = graph.nodes[name]
        if isinstance(node, _STATE_NODES):
            found.append((name, matrix, steps))
            continue
        if isinstance(node, nir.Output):
            continue
        if isinstance(node, nir.Scale):
            matrix = node.scale[:, None] * matrix
        elif isinstance(node, nir.Linear):
            matrix = node.weight @ matrix
        elif isinstance(node, nir.Delay):
            delay_steps = np.asarray(node.delay) / dt_s
            k = round(float(delay_steps.flat[0]))
            assert np.allclose(delay_steps, k, rtol=0, atol=1e-9), "delays are whole steps"
            steps += k
        else:
            raise NotImplementedError(type(node).__name__)
        pending.extend((target, matrix, steps) for target in successors[name])
    return found


def _size(node) -> int:
    if isinstance(node, nir.Input):
        return int(np.prod(node.input_type["input"]))
    return int(np.prod(node.output_type["output"]))


def simulate_graph(graph, dt_s: float, steps: int, spikes=None, initial=None):
    """Run ``graph`` for ``steps`` steps.

    Parameters
    ----------
    spikes : dict of str to numpy.ndarray, optional
        Per Input node, bool (steps, size): its spikes (an Input not given is silent).
    initial : dict of str to numpy.ndarray, optional
        Initial states of LIF and LI nodes (default 0).

    Returns
    -------
    (dict, dict)
        Per LIF node its spikes, bool (steps, size); per state node its final state.
    """
    spikes, initial = spikes or {}, initial or {}
    states = [name for name, node in graph.nodes.items() if isinstance(node, _STATE_NODES)]
    where, total = {}, 0
    for name in states:
        where[name] = slice(total, total + _size(graph.nodes[name]))
        total += _size(graph.nodes[name])
    gain = np.zeros(total)  # r / tau of each state
    system = np.zeros((total + 1, total + 1))  # the last entry is the constant 1
    state = np.zeros(total)
    for name in states:
        node, rows = graph.nodes[name], where[name]
        tau = node.tau
        system[rows, rows] = -np.diag(1.0 / tau)
        system[rows, total] = node.v_leak / tau
        gain[rows] = node.r / tau
        state[rows] = initial.get(name, 0.0)
    impulses = []
    for name, node in graph.nodes.items():
        if not isinstance(node, (nir.LI, *_SPIKE_SOURCES)):
            continue  # a node between sources and targets: walked by `_paths`
        if isinstance(node, nir.Input) and name not in spikes:
            continue  # a silent input
        for target, matrix, k in _paths(graph, name, dt_s):
            rows = where[target]
            weighted = gain[rows][:, None] * matrix
            if isinstance(node, nir.LI):  # a continuous signal into the linear system
                assert k == 0, "no delays on continuous signals"
                system[rows, where[name]] += weighted
            else:
                assert k > 0 or isinstance(graph.nodes[target], nir.LI), "no undelayed LIF input"
                impulses.append((name, rows, weighted, k))
    step = scipy.linalg.expm(system * dt_s)
    fired = {
        name: np.zeros((steps, _size(node)), dtype=bool)
        for name, node in graph.nodes.items()
        if isinstance(node, _SPIKE_SOURCES)
    }
    for name, raster in spikes.items():
        fired[name][:] = raster
    lif = [name for name in states if isinstance(graph.nodes[name], nir.LIF)]
    for t in range(steps):
        state = step[:total, :total] @ state + step[:total, total]
        for source, rows, weighted, k in impulses:
            if k > 0 and t >= k:
                state[rows] += weighted @ fired[source][t - k]
        for name in lif:
            node, rows = graph.nodes[name], where[name]
            crossed = state[rows] > node.v_threshold
            state[rows] = np.where(crossed, node.v_reset, state[rows])
            fired[name][t] = crossed
        for source, rows, weighted, k in impulses:
            if k == 0:
                state[rows] += weighted @ fired[source][t]
    final = {name: state[where[name]].copy() for name in states}
    return {name: fired[name] for name in lif}, final
