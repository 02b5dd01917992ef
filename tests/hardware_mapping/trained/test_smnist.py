"""The paper's sequential-MNIST network against an integer re-implementation of its chip run
written here from the published arithmetic, and against the chip's published accuracy."""

from __future__ import annotations

import numpy as np
import pytest

from hardware_mapping.parameter_files import read_network_file, write_network_file
from hardware_mapping.trained import map_description, read_description, run_fixed_point
from hardware_mapping.trained.data import paper_test_indices
from hardware_mapping.trained.description import BUILTIN_DESCRIPTIONS, BUILTIN_FOLDER
from hardware_mapping.trained.float_run import run_float

LIMIT = 2**23 - 1


def _decay(x, d):
    return np.sign(x) * ((np.abs(x) * (4096 - d)) >> 12)


def _encode(images):
    """Channel spikes at pixel steps 1..840 (index 0 unused), as the chip's x86 encoder."""
    levels = np.floor(np.linspace(0, 255, 40)).astype(int)
    levels[0] = 1
    n = images.shape[0]
    x = np.zeros((n, 841, 80), dtype=bool)
    img = images.astype(int)
    for p in range(784):
        if p < 783:
            a, b = img[:, p], img[:, p + 1]
            for j in range(1, 39):
                x[:, p + 1, 2 * j] = (a < levels[j]) & (levels[j] <= b)
                x[:, p + 1, 2 * j + 1] = (a >= levels[j]) & (levels[j] > b)
        x[:, p + 1, 78] = img[:, p] == 255
    x[:, 785:841, 79] = True
    return x


def chip_reference(images, w_in, w_rec, w_out, latency):
    """Output voltages after step 840: 140 LIF + 100 two-compartment AHP neurons, 10 outputs."""
    x = _encode(images)
    n = images.shape[0]
    w_in, w_rec, w_out = (w.astype(np.int64) for w in (w_in, w_rec, w_out))
    scale = np.where(np.arange(240) >= 140, 256, 64)  # exponent 2 onto adaptive mains
    threshold = np.where(np.arange(240) >= 140, 508 * 64, 127 * 64)
    v = np.zeros((n, 240), dtype=np.int64)
    v_aux = np.zeros((n, 100), dtype=np.int64)
    v_out = np.zeros((n, 10), dtype=np.int64)
    s = np.zeros((n, 240), dtype=np.int64)
    for t in range(1, 841):
        arriving = x[:, t - latency].astype(np.int64) if t - latency >= 1 else 0 * x[:, 0]
        v_aux = _decay(v_aux, 5) - 384 * s[:, 140:]
        current = (arriving @ w_in + s @ w_rec) * scale
        current[:, 140:] += v_aux
        out_current = (s @ w_out) * 64
        v = np.clip(_decay(v, 204) + current, -LIMIT, LIMIT)
        v_out = np.clip(_decay(v_out, 204) + out_current, -LIMIT, LIMIT)
        fired = v > threshold
        v[fired] = 0
        v_out[v_out > 131071 * 64] = 0
        s = fired.astype(np.int64)
    return v_out


def _description(variant, weights):
    return read_description(BUILTIN_FOLDER / BUILTIN_DESCRIPTIONS[variant], data_folder=weights)


@pytest.mark.parametrize(("variant", "latency"), [("rao2022-smnist-relay", 2),
                                                  ("rao2022-smnist-direct", 1)])  # fmt: skip
def test_twenty_images_bit_exact_with_the_chip_arithmetic(smnist_weights, mnist_test, variant,
                                                           latency):  # fmt: skip
    images, _ = mnist_test
    chosen = images[paper_test_indices()[:20]]
    weights = [np.load(smnist_weights / f"{w}.npy") for w in ("w_in", "w_rec", "w_out")]
    expected = chip_reference(chosen, *weights, latency=latency)
    run = run_fixed_point(_description(variant, smnist_weights), chosen, workers=2)
    np.testing.assert_array_equal(run.readout_values, expected)
    np.testing.assert_array_equal(run.predictions, np.argmax(expected, axis=1))
    assert run.mean_counters["overflows"].sum() == 0


def test_the_published_chip_accuracy_on_its_200_images(smnist_weights, mnist_test):
    images, labels = mnist_test
    indices = paper_test_indices()
    legacy = np.random.RandomState(0).choice(10000, 200, replace=False)
    np.testing.assert_array_equal(indices, legacy)
    run = run_fixed_point(_description("rao2022-smnist-relay", smnist_weights), images[indices],
                          workers=2)  # fmt: skip
    assert (run.predictions == labels[indices]).sum() == 189  # 94.50 %, the chip's figure


def test_parameter_file_round_trip_runs_the_same(smnist_weights, mnist_test, tmp_path):
    description = _description("rao2022-smnist-relay", smnist_weights)
    mapped = map_description(description)
    back = read_network_file(write_network_file(tmp_path / "smnist.json", mapped))
    images, _ = mnist_test
    chosen = images[paper_test_indices()[:5]]
    first = run_fixed_point(description, chosen)
    second = run_fixed_point(description, chosen, mapped=back)
    np.testing.assert_array_equal(first.readout_values, second.readout_values)
    assert mapped.resources == back.resources


def test_float_run_uses_exact_decays(smnist_weights, mnist_test):
    """Float: the same network with exp(-1/20) and exp(-1/700), checked against a float
    re-implementation on three images."""
    images, _ = mnist_test
    chosen = images[paper_test_indices()[:3]]
    run = run_float(_description("rao2022-smnist-relay", smnist_weights), chosen)
    w_in, w_rec, w_out = (np.load(smnist_weights / f"{w}.npy").astype(float)
                          for w in ("w_in", "w_rec", "w_out"))  # fmt: skip
    x = _encode(chosen).astype(float)
    keep_v, keep_aux = np.exp(-1 / 20), np.exp(-1 / 700)
    scale = np.where(np.arange(240) >= 140, 256.0, 64.0)
    threshold = np.where(np.arange(240) >= 140, 508 * 64, 127 * 64)
    v, v_aux, v_out = np.zeros((3, 240)), np.zeros((3, 100)), np.zeros((3, 10))
    s = np.zeros((3, 240))
    for t in range(1, 841):
        arriving = x[:, t - 2] if t >= 3 else np.zeros((3, 80))
        v_aux = v_aux * keep_aux - 384 * s[:, 140:]
        current = (arriving @ w_in + s @ w_rec) * scale
        current[:, 140:] += v_aux
        v = v * keep_v + current
        v_out = v_out * keep_v + (s @ w_out) * 64
        s = (v > threshold).astype(float)
        v[s > 0] = 0
        v_out[v_out > 131071 * 64] = 0
    np.testing.assert_allclose(run.readout_values, v_out, rtol=0, atol=1e-6 * np.abs(v_out).max())
