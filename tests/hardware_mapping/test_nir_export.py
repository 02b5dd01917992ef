"""NIR export: the graph reads back as written, is well formed, holds the float neurons'
parameters, and, stepped from NIR's equations alone (`nir_stepper`), spikes as the toolkit's
float run; what NIR cannot hold is listed, what it cannot state is refused."""

import math
import sys
from dataclasses import replace

import numpy as np
import pytest
from brian2 import ms, mV, pA, second

from ahp_models import (
    AlifParams,
    LifAhpParams,
    LoihiAhpParams,
    MultiAhpParams,
    RecurrentSynapses,
    long_square,
    simulate,
)
from ahp_models.errors import UserError
from ahp_models.populations import Population, Projection, flatten
from hardware_mapping.network_mapping import map_network
from hardware_mapping.trained import map_description
from hardware_mapping.trained.description import parse_description
from hardware_mapping.trained.float_run import run_float
from tests.hardware_mapping.trained.conftest import small_network

nir = pytest.importorskip(
    "nir", reason="the nir package (extra 'nir', part of 'test') is not installed"
)

from hardware_mapping import nir_export  # noqa: E402
from hardware_mapping.nir_export import NirExportError, to_nir, write_nir_file  # noqa: E402
from tests.hardware_mapping.nir_stepper import simulate_graph  # noqa: E402

DT_S = 1e-3
STEPS = 600


def lif_network(seed=4, t_ref=0 * ms, model="lif_ahp"):
    """Populations with AHP currents and projections with delays of 1 to 4 steps."""
    rng = np.random.default_rng(seed)

    def neurons(n):
        if model == "lif_multi_ahp":
            return [
                MultiAhpParams(
                    tau_m=float(rng.uniform(10, 40)) * ms, t_ref=t_ref,
                    tau_ahp=rng.uniform([20, 200], [60, 900]) * ms,
                    b_ahp=rng.uniform([5, 2], [20, 8]) * pA,
                )
                for _ in range(n)
            ]  # fmt: skip
        return [
            LifAhpParams(
                tau_m=float(rng.uniform(10, 40)) * ms, t_ref=t_ref,
                tau_ahp=float(rng.uniform(50, 500)) * ms, b_ahp=float(rng.uniform(5, 30)) * pA,
            )
            for _ in range(n)
        ]  # fmt: skip

    sizes = {"exc": 8, "inh": 4}
    populations = {
        name: Population(neurons(n), rng.uniform(150, 320, n) * pA) for name, n in sizes.items()
    }

    def projection(pre, post, sign):
        post_index = np.repeat(np.arange(sizes[post]), 4)
        pre_index = rng.integers(0, sizes[pre], post_index.size)
        weights = sign * rng.uniform(1.0, 4.0, post_index.size) * mV
        delays = rng.integers(1, 5, post_index.size) * ms
        return Projection(pre, post, RecurrentSynapses(pre_index, post_index, weights, delays))

    projections = [projection("exc", "exc", 1), projection("exc", "inh", 1),
                   projection("inh", "exc", -1)]  # fmt: skip
    return populations, projections


def float_spikes(populations, projections, model):
    """The toolkit's float run (Brian2): per population, bool (steps, neurons)."""
    flat = flatten(populations, projections, dt=DT_S * second)
    stimulus = long_square(flat.currents, onset=0 * second, width=STEPS * DT_S * second,
                           duration=STEPS * DT_S * second, dt=DT_S * second)  # fmt: skip
    options = {"n_currents": 2} if model == "lif_multi_ahp" else {}
    result = simulate(model, flat.params, stimulus, synapses=flat.synapses,
                      codegen_target="numpy", **options)  # fmt: skip
    raster = np.zeros((STEPS, len(flat.currents)), dtype=bool)
    raster[np.round(result.spike_time_s / DT_S).astype(int), result.spike_neuron] = True
    return {name: raster[:, span] for name, span in flat.ranges.items()}


def nir_spikes(graph, **kwargs):
    initial = {
        name: node.metadata["v_initial"]
        for name, node in graph.nodes.items()
        if isinstance(node, nir.LIF)
    }
    spikes, final = simulate_graph(graph, DT_S, STEPS, initial=initial, **kwargs)
    return spikes, final


def without(graph, kind):
    """A copy of the graph whose nodes of ``kind`` (Scale: AHP feedback, Linear: synapses)
    pass nothing."""
    nodes = dict(graph.nodes)
    for name, node in graph.nodes.items():
        if isinstance(node, nir.Scale) and kind is nir.Scale:
            nodes[name] = nir.Scale(scale=np.zeros_like(node.scale))
        elif isinstance(node, nir.Linear) and kind is nir.Linear:
            nodes[name] = nir.Linear(weight=np.zeros_like(node.weight))
    return nir.NIRGraph(nodes=nodes, edges=list(graph.edges), metadata=graph.metadata)


@pytest.mark.parametrize("model", ["lif_ahp", "lif_multi_ahp"])
def test_lif_networks_spike_as_the_float_run(model):
    populations, projections = lif_network(model=model)
    mapped = map_network(populations, projections)
    graph = to_nir(mapped).graph
    expected = float_spikes(populations, projections, model)
    spikes, _ = nir_spikes(graph)
    for name in populations:
        np.testing.assert_array_equal(spikes[name], expected[name])
    # every neuron fires repeatedly: the comparison means something
    assert all((s.sum(axis=0) >= 2).all() for s in spikes.values())
    # the AHP currents and the synapses each change the spikes: both are in the comparison
    for kind in (nir.Scale, nir.Linear):
        changed, _ = nir_spikes(without(graph, kind))
        assert any(not np.array_equal(changed[n], spikes[n]) for n in populations)


def test_lif_parameters_are_the_float_neurons():
    populations, projections = lif_network(model="lif_ahp")
    graph = to_nir(map_network(populations, projections)).graph
    for name, population in populations.items():
        params = population.neurons
        lif = graph.nodes[name]
        tau_m = np.array([float(p.tau_m / second) for p in params])
        resistance = np.array([float(p.R / mV * pA) * 1e9 for p in params])  # ohm
        e_l = np.array([float(p.E_L / mV) * 1e-3 for p in params])
        current = np.asarray(population.currents / pA) * 1e-12
        np.testing.assert_allclose(lif.tau, tau_m, rtol=1e-12)
        np.testing.assert_allclose(lif.r, resistance, rtol=1e-12)
        np.testing.assert_allclose(lif.v_leak, e_l + resistance * current, rtol=1e-12)
        np.testing.assert_allclose(lif.v_threshold, [float(p.V_th / mV) * 1e-3 for p in params])
        np.testing.assert_allclose(lif.v_reset, [float(p.V_reset / mV) * 1e-3 for p in params])
        np.testing.assert_allclose(lif.metadata["v_initial"], e_l, rtol=1e-12)
        tau_ahp = np.array([float(p.tau_ahp / second) for p in params])
        b_ahp = np.array([float(p.b_ahp / pA) * 1e-12 for p in params])
        np.testing.assert_allclose(graph.nodes[f"{name}_ahp1"].tau, tau_ahp, rtol=1e-12)
        # an impulse of weight w into the LI (r = 1) makes it jump by w / tau: by -b_ahp
        jump = graph.nodes[f"{name}_ahp1_feedback"].scale / tau_ahp
        np.testing.assert_allclose(jump, -b_ahp, rtol=1e-12)
    # synapses: a jump of w mV into neuron j is an impulse of weight w tau_m / R
    sizes = {name: population.size for name, population in populations.items()}
    expected = {}
    for projection in projections:
        post = populations[projection.post].neurons
        s = projection.synapses
        for pre_i, post_i, w, d in zip(s.pre, s.post, s.weight_mV(), s.delay / ms, strict=True):
            k = round(float(d))
            key = f"{projection.pre}_to_{projection.post}_delay{k}"
            matrix = expected.setdefault(key, np.zeros((sizes[projection.post],
                                                        sizes[projection.pre])))  # fmt: skip
            p = post[post_i]
            matrix[post_i, pre_i] += w * 1e-3 * float(p.tau_m / second) / (float(p.R / mV * pA)
                                                                           * 1e9)  # fmt: skip
            np.testing.assert_allclose(graph.nodes[f"{projection.pre}_delay{k}"].delay, k * DT_S)
    linear = {name for name, node in graph.nodes.items() if isinstance(node, nir.Linear)}
    assert linear == set(expected)
    for key, matrix in expected.items():
        np.testing.assert_allclose(graph.nodes[key].weight, matrix, rtol=1e-12, atol=1e-30)


def test_multi_ahp_currents_are_one_li_each():
    populations, projections = lif_network(model="lif_multi_ahp")
    graph = to_nir(map_network(populations, projections)).graph
    params = populations["exc"].neurons
    for k in (1, 2):
        tau = np.array([float(p.tau_ahp[k - 1] / second) for p in params])
        b = np.array([float(p.b_ahp[k - 1] / pA) * 1e-12 for p in params])
        np.testing.assert_allclose(graph.nodes[f"exc_ahp{k}"].tau, tau, rtol=1e-12)
        np.testing.assert_allclose(graph.nodes[f"exc_ahp{k}_feedback"].scale / tau, -b,
                                   rtol=1e-12)  # fmt: skip
    assert "exc_ahp3" not in graph.nodes


def trained(folder, refract_delay=1, relay=True):
    """The small synthetic trained network (`small_network`), its regular population's
    refractory delay set, with a relay population (no memory) in front of it."""
    raw = small_network(folder)
    raw["populations"][1]["refract_delay"] = refract_delay
    if relay:
        np.save(folder / "w_relay.npy", np.random.default_rng(9).integers(-100, 256, (8, 5)))
        raw["populations"].append({"name": "relay", "size": 8, "decay_v": 4096, "vth_mant": 100})
        raw["projections"] += [
            {"pre": "pixels", "post": "relay", "one_to_one": 200},
            {"pre": "relay", "post": "regular", "file": "w_relay.npy", "delay": 1},
        ]
    return parse_description(raw, source="small.toml", data_folder=folder)


def test_trained_network_spikes_as_its_float_run(tmp_path):
    description = trained(tmp_path)
    graph = to_nir(map_description(description)).graph
    samples = np.random.default_rng(5).integers(0, description.encoder.max_value + 1, (4, 12))
    run = run_float(description, samples, batch=4, record_sample=1)
    rasters = description.encoder.encode(samples)
    steps = rasters.shape[1]
    spiking = 0
    for index, raster in enumerate(rasters):
        spikes, final = simulate_graph(graph, DT_S, steps, spikes={"pixels": raster})
        for name in description.populations:
            assert run.spike_counts.loc[index, name] == spikes[name].sum()
            if index == run.sample.index:
                np.testing.assert_array_equal(run.sample.spikes[name], spikes[name])
        # the readout is the output population's voltage after the last step
        np.testing.assert_allclose(run.readout_values[index], final["output"], rtol=1e-9,
                                   atol=1e-6)  # fmt: skip
        spiking += spikes["adaptive"].sum() + spikes["regular"].sum() + spikes["relay"].sum()
    assert spiking > 50
    changed, _ = simulate_graph(without(graph, nir.Scale), DT_S, steps,
                                spikes={"pixels": rasters[1]})  # fmt: skip
    assert not np.array_equal(changed["adaptive"], run.sample.spikes["adaptive"])


def test_trained_parameters_come_from_the_float_factors(tmp_path):
    description = trained(tmp_path)
    exported = to_nir(map_description(description))
    graph = exported.graph
    # exact decays exp(-dt/tau) give back the description's time constants
    np.testing.assert_allclose(graph.nodes["adaptive"].tau, 0.014, rtol=1e-12)
    np.testing.assert_allclose(graph.nodes["adaptive_ahp1"].tau, 0.100, rtol=1e-12)
    # a register's factor (4096 - d)/4096 gives -dt / ln of it
    np.testing.assert_allclose(graph.nodes["regular"].tau, -DT_S / math.log(3496 / 4096),
                               rtol=1e-12)  # fmt: skip
    np.testing.assert_allclose(graph.nodes["relay"].tau, DT_S / 1000, rtol=1e-15)
    np.testing.assert_array_equal(graph.nodes["regular"].v_threshold, 150 * 64)
    # r = tau: an impulse of weight w makes v jump by w
    for name in ("adaptive", "regular", "relay"):
        np.testing.assert_array_equal(graph.nodes[name].r, graph.nodes[name].tau)
    # over one step the LI's state x adds r x tau_a (e^{-dt/tau_a} - e^{-dt/tau_v}) /
    # (tau_a - tau_v) to v (tau_v dv/dt = -v + r x); after a spike: the AHP's -64 (200 >> 2)
    tau_v, tau_a = 0.014, 0.100
    added = tau_v * tau_a * (math.exp(-DT_S / tau_a) - math.exp(-DT_S / tau_v)) / (tau_a - tau_v)
    jump = graph.nodes["adaptive_ahp1_feedback"].scale / tau_a
    np.testing.assert_allclose(jump * added, -64 * (200 >> 2), rtol=1e-12)
    # the chip's integer inputs are the weights themselves: one-to-one 200 is a jump of 64 * 200
    weight = graph.nodes["pixels_to_relay_delay1"].weight
    np.testing.assert_array_equal(weight, np.diag(np.full(8, 64.0 * 200)))
    w_in = np.load(tmp_path / "w_in.npy")
    np.testing.assert_array_equal(graph.nodes["pixels_to_adaptive_delay1"].weight,
                                  64 * (w_in[:, :6].T.astype(np.int64) << 1))  # fmt: skip
    text = "\n".join(exported.unsupported)
    assert "population 'relay': voltage without memory (factor 0)" in text
    assert "taken as exp(-dt/tau_ahp)" in text


def test_catalogue_loihi_neuron_spikes_as_its_float_run():
    params = [LoihiAhpParams(tau_v=20 * ms, tau_ahp=300 * ms, b_ahp=0.003)] * 3
    currents = np.array([30.0, 50.0, 80.0]) * pA
    exported = to_nir(map_network({"cells": Population(params, currents)}))
    graph = exported.graph
    # its Euler factors 1 - dt/tau, as exact decays
    np.testing.assert_allclose(graph.nodes["cells"].tau, -DT_S / math.log(1 - 1 / 20))
    np.testing.assert_allclose(graph.nodes["cells_ahp1"].tau, -DT_S / math.log(1 - 1 / 300))
    assert "taken as 1 - dt/tau_ahp" in "\n".join(exported.unsupported)
    stimulus = long_square(currents, onset=0 * second, width=STEPS * DT_S * second,
                           duration=STEPS * DT_S * second, dt=DT_S * second)  # fmt: skip
    result = simulate("loihi_ahp", LoihiAhpParams.concatenate(params), stimulus,
                      codegen_target="numpy")  # fmt: skip
    expected = np.zeros((STEPS, 3), dtype=bool)
    expected[np.round(result.spike_time_s / DT_S).astype(int), result.spike_neuron] = True
    spikes, _ = nir_spikes(graph)
    np.testing.assert_array_equal(spikes["cells"], expected)
    assert (expected.sum(axis=0) >= 5).all()
    assert not np.array_equal(nir_spikes(without(graph, nir.Scale))[0]["cells"], expected)


def assert_same_graph(read, written):
    np.testing.assert_equal(read.to_dict(), written.to_dict())
    assert list(read.edges) == list(written.edges)


def test_file_reads_back_as_written(tmp_path):
    populations, projections = lif_network(t_ref=2 * ms)
    exported = write_nir_file(tmp_path / "net.nir", map_network(populations, projections))
    read = nir.read(tmp_path / "net.nir")
    assert_same_graph(read, exported.graph)
    assert read.metadata["unsupported"] == "\n".join(exported.unsupported)
    assert read.metadata["format"] == "ahp-toolkit/nir-export"
    assert read.metadata["time_step_s"] == DT_S
    description = trained(tmp_path)
    exported = write_nir_file(tmp_path / "trained.nir", map_description(description))
    assert_same_graph(nir.read(tmp_path / "trained.nir"), exported.graph)
    assert sorted(p.name for p in tmp_path.iterdir() if p.suffix == ".nir") == [
        "net.nir", "trained.nir"
    ]  # fmt: skip
    assert not [p for p in tmp_path.iterdir() if p.name.endswith(".tmp")]


@pytest.mark.parametrize("network", ["lif", "trained"])
def test_graph_is_well_formed(tmp_path, network):
    if network == "lif":
        mapped = map_network(*lif_network())
    else:
        mapped = map_description(trained(tmp_path))
    graph = to_nir(mapped).graph
    names = set(graph.nodes)
    sources = {s for s, _ in graph.edges}
    targets = {t for _, t in graph.edges}
    assert sources | targets <= names
    # NIR added no Input or Output of its own: every node but the inputs is fed, every node
    # but the outputs feeds something
    assert names - targets == {n for n, x in graph.nodes.items() if isinstance(x, nir.Input)}
    assert names - sources == {n for n, x in graph.nodes.items() if isinstance(x, nir.Output)}
    graph.validate_structure()
    assert graph.check_types()
    for source, target in graph.edges:
        out = np.asarray(graph.nodes[source].output_type["output"])
        np.testing.assert_array_equal(graph.nodes[target].input_type["input"], out)
    # the same nodes and edges pass NIR's construction with its type inference and checks
    nir.NIRGraph(nodes=dict(graph.nodes), edges=list(graph.edges), type_check=True)
    # every population has its spikes as an output
    for name in mapped.mappings:
        assert (name, f"{name}_output") in graph.edges


def test_what_nir_cannot_express_is_listed(tmp_path):
    populations, projections = lif_network(t_ref=2 * ms)
    mapped = map_network(populations, projections)
    exported = to_nir(mapped)
    text = "\n".join(exported.unsupported)
    assert "the chip's registers are not expressed (this is the float view)" in text
    error = np.nanmax(np.abs(mapped.weights["relative_error"]))
    assert f"largest relative rounding there: {error:.3g}" in text
    assert "thresholds: the toolkit checks them at the end of each step of 1 ms" in text
    assert "initial state: the toolkit's run starts from v = E_L" in text
    for name in populations:
        assert (f"population {name!r}: a refractory period of 2 ms is not expressed (NIR's "
                "LIF has none): the toolkit holds v at its reset and drops synaptic input for "
                "1 steps of 1 ms") in text  # fmt: skip
        np.testing.assert_allclose(exported.graph.nodes[name].metadata["refractory_s"], 0.002)
        np.testing.assert_array_equal(exported.graph.nodes[name].metadata["refractory_steps"], 2)
    # a network without spike inputs: one input per population, into its LIF
    assert [n for n, x in exported.graph.nodes.items() if isinstance(x, nir.Input)] == [
        "exc_input", "inh_input"
    ]  # fmt: skip
    held = "\n".join(to_nir(map_description(trained(tmp_path, refract_delay=3))).unsupported)
    assert (
        "population 'regular': a refractory delay is not expressed (NIR's LIF has none): "
        "the toolkit holds v at its reset and drops synaptic input for 2 steps"
    ) in held
    # the trained network starts at 0: no initial-state line
    assert "initial state" not in held


def test_what_nir_cannot_state_is_refused(tmp_path, monkeypatch):
    populations, projections = lif_network()
    alif = {"exc": populations["exc"],
            "adaptive": Population([AlifParams()] * 2, [200, 200] * pA)}  # fmt: skip
    with pytest.raises(NirExportError, match=r"population 'adaptive': model 'alif' has no NIR "
                       r"form \(its threshold rises with each spike"):  # fmt: skip
        to_nir(map_network(alif))
    clash = {"a": populations["exc"], "a_output": populations["inh"]}
    with pytest.raises(NirExportError, match="NIR node name 'a_output' is needed twice"):
        to_nir(map_network(clash))
    monkeypatch.setattr(nir_export, "MAX_DENSE_WEIGHTS", 63)
    with pytest.raises(NirExportError, match=r"projections\[0\] \(exc -> exc\) needs a dense 8 x "
                       "8 weight matrix"):  # fmt: skip
        to_nir(map_network(populations, projections))
    monkeypatch.undo()
    mapped = map_description(trained(tmp_path))
    regular = [replace(m, float_keep_v=1.0) for m in mapped.mappings["regular"]]  # no decay
    never = replace(mapped, mappings={**mapped.mappings, "regular": regular})
    with pytest.raises(NirExportError, match=r"population 'regular' neuron 0: float_keep_v = 1 "
                       r"has no continuous-time time constant"):  # fmt: skip
        to_nir(never)
    # a refused export leaves an existing file as it was
    target = tmp_path / "kept.nir"
    target.write_bytes(b"earlier")
    with pytest.raises(NirExportError):
        write_nir_file(target, never)
    assert target.read_bytes() == b"earlier"
    monkeypatch.setitem(sys.modules, "nir", None)  # as if not installed
    with pytest.raises(UserError, match=r"needs the nir package; install it with pip install "
                       r"'ahp-toolkit\[nir\]'"):  # fmt: skip
        to_nir(map_network(populations, projections))
