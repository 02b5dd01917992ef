"""Fixtures: the paper's weights and MNIST from ``../shared/data`` (skip without them), and a
small synthetic trained network written to a temporary folder."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pytest

from hardware_mapping.trained.data import WEIGHT_FILES

SHARED = Path(__file__).resolve().parents[3].parent / "shared" / "data"


def _shared_or_skip(folder: str, files) -> Path:
    path = SHARED / folder
    if not all((path / name).is_file() for name in files):
        message = f"the paper's data not found at {path} (see shared/data/{folder})"
        if os.environ.get("AHP_REQUIRE_ALLEN_DATA") == "1":
            pytest.fail(message)
        pytest.skip(message)
    return path


@pytest.fixture(scope="session")
def smnist_weights() -> Path:
    """The paper's trained weights (``shared/data/lsnn_smnist``)."""
    return _shared_or_skip("lsnn_smnist", WEIGHT_FILES)


@pytest.fixture(scope="session")
def mnist_test(smnist_weights):
    """MNIST test images (10000, 784) and labels, read from ``shared/data/mnist``."""
    from hardware_mapping.trained.data import MNIST_FILES, load_mnist_test

    _shared_or_skip("mnist", MNIST_FILES)
    return load_mnist_test(offline=True, progress=None)


SMALL_ENCODER = {
    "kind": "threshold_crossing",
    "input": "pixels",
    "channels": 8,
    "length": 12,
    "levels": [2, 5, 7],
    "first_channel": 0,
    "max_value": 9,
    "max_channel": 6,
    "cue_channel": 7,
    "cue_steps": 5,
}


def small_network(folder: Path, seed: int = 3) -> dict:
    """A description (as parsed TOML) of a small recurrent network with AHP neurons, its
    weight files written to ``folder``: 8 input channels, 6 adaptive, 5 regular, 3 outputs."""
    rng = np.random.default_rng(seed)
    files = {
        "w_in.npy": rng.integers(-40, 256, size=(8, 11)),
        "w_rec.npy": np.where(rng.random((11, 11)) < 0.5, rng.integers(-255, 256, (11, 11)), 0),
        "w_out.npz": rng.integers(-255, 256, size=(3, 11)),  # stored [post, pre]
    }
    for name, array in files.items():
        if name.endswith(".npz"):
            np.savez(folder / name, readout=array.astype(np.float32))
        else:
            np.save(folder / name, array.astype(np.float32))
    return {
        "name": "small",
        "time_step": "1 ms",
        "inputs": [{"name": "pixels", "size": 8}],
        "populations": [
            {
                "name": "adaptive",
                "size": 6,
                "decay_v": 300,
                "vth_mant": 300,
                "ahp": {"decay": 40, "weight": -200, "exponent": -2},
                "float": {"tau_v": "14 ms", "tau_ahp": "100 ms"},
            },
            {"name": "regular", "size": 5, "decay_v": 600, "vth_mant": 150, "refract_delay": 2},
            {"name": "output", "size": 3, "decay_v": 200, "vth_mant": 4000},
        ],
        "projections": [
            {
                "pre": "pixels",
                "post": "adaptive",
                "file": "w_in.npy",
                "columns": [0, 6],
                "exponent": 1,
            },
            {"pre": "pixels", "post": "regular", "file": "w_in.npy", "columns": [6, 11]},
            {
                "pre": "adaptive",
                "post": "adaptive",
                "file": "w_rec.npy",
                "rows": [0, 6],
                "columns": [0, 6],
                "exponent": 1,
            },
            {
                "pre": "adaptive",
                "post": "regular",
                "file": "w_rec.npy",
                "rows": [0, 6],
                "columns": [6, 11],
            },
            {
                "pre": "regular",
                "post": "adaptive",
                "file": "w_rec.npy",
                "rows": [6, 11],
                "columns": [0, 6],
                "exponent": 1,
                "delay": 2,
            },
            {
                "pre": "regular",
                "post": "regular",
                "file": "w_rec.npy",
                "rows": [6, 11],
                "columns": [6, 11],
            },
            {
                "pre": "adaptive",
                "post": "output",
                "file": "w_out.npz",
                "key": "readout",
                "orientation": "post,pre",
                "rows": [0, 6],
            },
            {
                "pre": "regular",
                "post": "output",
                "file": "w_out.npz",
                "key": "readout",
                "orientation": "post,pre",
                "rows": [6, 11],
                "exponent": -1,
            },
        ],
        "encoder": dict(SMALL_ENCODER),
        "readout": {"kind": "argmax_voltage", "population": "output"},
        "reset": {"policy": "rest"},
    }


@pytest.fixture
def small(tmp_path):
    """(raw description, data folder) of `small_network`."""
    return small_network(tmp_path), tmp_path
