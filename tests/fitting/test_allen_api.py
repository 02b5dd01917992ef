"""The Allen download cache against a local HTTP server on 127.0.0.1 that plays the RMA API."""

from __future__ import annotations

import json
import socket

import h5py
import numpy as np
import pandas as pd
import pytest

from analysis.allen_tables import load_cells
from fitting.allen_api import (
    FEATURE_CRITERIA,
    AllenApiError,
    AllenCache,
)
from fitting.nwb import long_square_sweeps
from tests.fitting.fake_allen_api import FEATURES, NWB_LINK, answer, serving
from tests.fitting.nwb_files import ADAPTING_S, write_sweep


@pytest.fixture
def nwb_bytes(tmp_path):
    path = tmp_path / "source.nwb"
    with h5py.File(path, "w") as file:
        write_sweep(file, 7, "Long Square", 190.0, ADAPTING_S)
    return path.read_bytes()


@pytest.fixture
def api(nwb_bytes):
    with serving(nwb_bytes) as server:
        yield server


def _cache(api, folder, **options):
    return AllenCache(folder, api_url=api.url, progress=None, timeout_s=10, **options)


def test_tables_are_fetched_once_and_read_like_allensdk_tables(api, tmp_path):
    folder = _cache(api, tmp_path / "cache").tables()
    cells = load_cells(folder)
    assert cells.specimen_id.tolist() == [11, 12]
    assert cells.species.tolist() == ["mouse", "human"]
    assert cells.threshold_i_long_square.tolist() == [110.0, 70.0]
    assert np.isnan(cells.adaptation.iloc[1])
    fetched = len(api.requests)
    _cache(api, tmp_path / "cache").tables()  # from the cache, checked against manifest.json
    assert len(api.requests) == fetched == 2
    offline = _cache(api, tmp_path / "cache", offline=True).tables()
    pd.testing.assert_frame_equal(load_cells(offline), cells)
    manifest = json.loads((folder / "manifest.json").read_text())
    assert set(manifest) == {"allen_ephys_features.json", "allen_cell_types_specimen_details.json"}


def test_an_interrupted_nwb_download_resumes_where_it_stopped(api, nwb_bytes, tmp_path):
    api.cut_after[NWB_LINK] = 1000
    with pytest.raises(AllenApiError, match=r"incomplete: 1000 of \d+ bytes.*keeps 1000 bytes"):
        _cache(api, tmp_path, attempts=1).nwb(11)
    assert not (tmp_path / "specimen_11" / "ephys.nwb").exists()  # nothing half-written
    path = _cache(api, tmp_path, attempts=1).nwb(11)  # the next run resumes
    assert api.requests[-1] == (NWB_LINK, "bytes=1000-")
    assert path.read_bytes() == nwb_bytes
    assert long_square_sweeps(path).spike_count.tolist() == [len(ADAPTING_S)]
    # within one run, a further attempt resumes as well
    api.cut_after[NWB_LINK] = 5000
    path.unlink()
    assert _cache(api, tmp_path / "again", attempts=2).nwb(11).read_bytes() == nwb_bytes
    assert api.requests[-1] == (NWB_LINK, "bytes=5000-")


def test_a_file_changed_on_the_server_is_not_resumed_but_fetched_whole(api, nwb_bytes, tmp_path):
    api.cut_after[NWB_LINK] = 1000
    with pytest.raises(AllenApiError, match="keeps 1000 bytes"):
        _cache(api, tmp_path, attempts=1).nwb(11)
    changed = nwb_bytes + b"\0" * 64  # a new version: its ETag differs
    api.files[NWB_LINK] = changed
    path = _cache(api, tmp_path, attempts=1).nwb(11)
    assert api.requests[-1] == (NWB_LINK, "bytes=1000-")  # asked to resume, If-Range refused
    assert path.read_bytes() == changed
    assert not list(tmp_path.glob("specimen_11/*.part*"))


def test_a_damaged_cached_file_is_fetched_again_or_reported_offline(api, nwb_bytes, tmp_path):
    path = _cache(api, tmp_path).nwb(11)
    path.write_bytes(nwb_bytes[:-10] + b"0123456789")  # same size, other content
    with pytest.raises(
        AllenApiError, match=r"ephys\.nwb does not match manifest\.json and offline"
    ):
        _cache(api, tmp_path, offline=True).nwb(11)
    assert _cache(api, tmp_path).nwb(11).read_bytes() == nwb_bytes


def test_offline_without_a_cache_says_what_is_missing(api, tmp_path):
    with pytest.raises(AllenApiError, match=r"allen_ephys_features\.json is not in the cache"):
        _cache(api, tmp_path, offline=True).tables()
    assert api.requests == []


def test_an_unreachable_api_is_a_clear_error(tmp_path):
    with socket.socket() as probe:  # a port nobody listens on
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    cache = AllenCache(tmp_path, api_url=f"http://127.0.0.1:{port}", progress=None)
    with pytest.raises(
        AllenApiError, match=rf"cannot reach the Allen API at http://127.0.0.1:{port}"
    ):
        cache.tables()


def test_wrong_answers_are_refused(api, tmp_path):
    api.files[NWB_LINK] = b"<html>maintenance</html>"
    with pytest.raises(AllenApiError, match="not an HDF5 file"):
        _cache(api, tmp_path).nwb(11)
    with pytest.raises(AllenApiError, match="specimen 12 has no NWBDownload file"):
        _cache(api, tmp_path).nwb(12)
    with pytest.raises(AllenApiError, match="the API reports failure: 'bad query'"):
        _cache(api, tmp_path).nwb(99)
    api.queries[FEATURE_CRITERIA] = answer(FEATURES, total=5)
    with pytest.raises(AllenApiError, match="sent 2 of 5 rows"):
        _cache(api, tmp_path).tables()
    api.queries[FEATURE_CRITERIA] = [1, 2]  # not the API's answer layout
    with pytest.raises(AllenApiError, match=r"the API reports failure: \[1, 2\]"):
        _cache(api, tmp_path).tables()
    assert not list(tmp_path.glob("*.part")) and not list(tmp_path.glob("specimen_11/*"))
