"""The paper's sequential-MNIST network as a NIR graph: its parameters, and its spikes on an
image stepped from NIR's equations alone against the float run (weights from shared/data)."""

from __future__ import annotations

import math

import numpy as np
import pytest

from hardware_mapping.trained import map_description, read_description
from hardware_mapping.trained.data import paper_test_indices
from hardware_mapping.trained.description import BUILTIN_DESCRIPTIONS, BUILTIN_FOLDER
from hardware_mapping.trained.float_run import run_float

nir = pytest.importorskip(
    "nir", reason="the nir package (extra 'nir', part of 'test') is not installed"
)

from hardware_mapping.nir_export import write_nir_file  # noqa: E402
from tests.hardware_mapping.nir_stepper import simulate_graph  # noqa: E402


@pytest.mark.parametrize("variant", ["rao2022-smnist-relay", "rao2022-smnist-direct"])
def test_smnist_graph_spikes_as_the_float_run(smnist_weights, mnist_test, tmp_path, variant):
    description = read_description(BUILTIN_FOLDER / BUILTIN_DESCRIPTIONS[variant],
                                   data_folder=smnist_weights)  # fmt: skip
    exported = write_nir_file(tmp_path / "smnist.nir", map_description(description))
    graph = nir.read(tmp_path / "smnist.nir")
    # the float neurons' exact decays exp(-dt/tau): tau_v 20 ms, tau_ahp 700 ms
    for name in ("regular", "adaptive", "output"):
        np.testing.assert_allclose(graph.nodes[name].tau, 0.020, rtol=1e-12)
    np.testing.assert_allclose(graph.nodes["adaptive_ahp1"].tau, 0.700, rtol=1e-12)
    # an AHP spike adds (-96 >> 4) << 6 = -384 to v over the next step
    tau_v, tau_a, dt = 0.020, 0.700, 1e-3
    added = tau_v * tau_a * (math.exp(-dt / tau_a) - math.exp(-dt / tau_v)) / (tau_a - tau_v)
    jump = graph.nodes["adaptive_ahp1_feedback"].scale / tau_a
    np.testing.assert_allclose(jump * added, -384.0, rtol=1e-12)
    # the recurrent weights are the chip's inputs 64 w 2**e (r = tau: an impulse of weight w
    # makes v jump by w)
    w_rec = np.load(smnist_weights / "w_rec.npy").astype(np.int64)
    np.testing.assert_array_equal(
        graph.nodes["adaptive_to_regular_delay1"].weight, 64 * w_rec[140:240, :140].T
    )
    np.testing.assert_array_equal(
        graph.nodes["regular_to_adaptive_delay1"].weight, 64 * 4 * w_rec[:140, 140:240].T
    )
    memoryless = "population 'relay': voltage without memory" in "\n".join(exported.unsupported)
    assert memoryless == variant.endswith("relay")
    images, _ = mnist_test
    image = images[paper_test_indices()[:1]]
    run = run_float(description, image, record_sample=0)
    raster = description.encoder.encode(image)[0]
    spikes, final = simulate_graph(graph, dt, raster.shape[0], spikes={"channels": raster})
    for name in description.populations:
        np.testing.assert_array_equal(spikes[name], run.sample.spikes[name])
    assert spikes["adaptive"].sum() > 100
    np.testing.assert_allclose(final["output"], run.readout_values[0], rtol=1e-9, atol=1e-3)
