"""Locating, downloading and checking the built-in networks' data."""

from __future__ import annotations

import gzip
import hashlib
import io
import urllib.request

import numpy as np
import pytest

from hardware_mapping.trained import data
from hardware_mapping.trained.data import DataError, paper_test_indices, weights_folder


def test_the_draw_is_numpys_legacy_choice():
    np.random.seed(0)  # noqa: NPY002 - the paper's own legacy call
    expected = np.random.choice(10000, 200, replace=False)  # noqa: NPY002
    np.testing.assert_array_equal(paper_test_indices(), expected)
    assert len(set(paper_test_indices(50, seed=3, total=60))) == 50


@pytest.fixture
def no_local_data(monkeypatch):
    monkeypatch.setattr(data, "local_data_folders", lambda: [])


def test_offline_without_files_names_what_is_missing(tmp_path, no_local_data):
    with pytest.raises(DataError, match=r"w_in\.npy is missing and downloads are off"):
        weights_folder(cache=tmp_path, offline=True, progress=None)


def test_downloads_are_checked_before_they_are_kept(tmp_path, no_local_data, monkeypatch):
    served = {}

    def fake_urlopen(url, timeout):
        name = url.rsplit("/", 1)[-1]
        return io.BytesIO(served[name])

    monkeypatch.setattr(urllib.request, "urlopen", fake_urlopen)
    served.update({name: b"not the weights" for name in data.WEIGHT_FILES})
    with pytest.raises(DataError, match=r"MD5 .* expected 41415459"):
        weights_folder(cache=tmp_path, progress=None)
    assert not (tmp_path / "lsnn_smnist" / "w_in.npy").exists()  # nothing damaged is kept
    # the right bytes (here: any bytes whose checksum the table holds) are written and reused
    payload = {name: f"weights {name}".encode() for name in data.WEIGHT_FILES}
    digests = {name: hashlib.md5(b).hexdigest() for name, b in payload.items()}
    monkeypatch.setattr(data, "WEIGHT_FILES", digests)
    served.update(payload)
    folder = weights_folder(cache=tmp_path, progress=None)
    assert (folder / "w_rec.npy").read_bytes() == payload["w_rec.npy"]
    served.clear()  # cached: no second download
    assert weights_folder(cache=tmp_path, offline=True, progress=None) == folder


def test_a_damaged_local_copy_is_refused(tmp_path, monkeypatch):
    folder = tmp_path / "lsnn_smnist"
    folder.mkdir()
    for name in data.WEIGHT_FILES:
        np.save(folder / name, np.zeros(3))
    monkeypatch.setattr(data, "local_data_folders", lambda: [tmp_path])
    with pytest.raises(DataError, match=r"w_in\.npy: MD5"):
        weights_folder(cache=tmp_path / "cache", offline=True, progress=None)


def test_mnist_idx_files_are_checked(tmp_path, monkeypatch):
    folder = tmp_path / "mnist"
    folder.mkdir()
    images = gzip.compress(b"\x00\x00\x08\x03" + b"\x00" * 12)
    for name in data.MNIST_FILES:
        (folder / name).write_bytes(images)
    monkeypatch.setattr(data, "local_data_folders", lambda: [tmp_path])
    with pytest.raises(DataError, match="MD5"):
        data.load_mnist_test(offline=True, progress=None)


def test_the_shared_mnist_matches_its_provenance(mnist_test):
    images, labels = mnist_test
    assert images.shape == (10000, 784) and images.dtype == np.uint8
    assert list(labels[:10]) == [7, 2, 1, 0, 4, 1, 4, 9, 5, 9]
    assert list(np.bincount(labels)) == [980, 1135, 1032, 1010, 982, 892, 958, 1028, 974, 1009]
