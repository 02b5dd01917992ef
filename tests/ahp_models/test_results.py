"""SimulationResult on hand-made spikes and traces: exact views, files, names and permissions."""

import os

import numpy as np
import pandas as pd
import pytest
from brian2 import ms, mV, second

from ahp_models import SimulationResult


@pytest.fixture
def result():
    return SimulationResult(
        model_name="lif_ahp",
        backend="runtime",
        n_neurons=3,
        dt_s=1e-4,
        duration_s=0.01,
        spike_neuron=np.array([2, 0, 2, 0, 2]),
        spike_time_s=np.array([0.001, 0.002, 0.003, 0.004, 0.009]),
        trace_time_s=np.array([0.0, 0.005]),
        traces_si={
            "v": np.array([[-0.07, -0.06], [-0.05, -0.04]]),
            "I_ahp": np.ones((2, 2)) * 1e-12,
        },
        trace_units={"v": "mV", "I_ahp": "pA"},
        recorded_neurons=np.array([0, 2]),
    )


def test_spike_views(result):
    trains = result.spike_trains()
    assert [list(np.asarray(t / ms)) for t in trains] == [[2.0, 4.0], [], [1.0, 3.0, 9.0]]
    for neuron in range(3):
        np.testing.assert_array_equal(result.spike_train(neuron), trains[neuron])
    np.testing.assert_array_equal(result.spike_counts(), [2, 0, 3])
    # [2 ms, 9 ms): 9 * ms is 0.009000000000000001 s, the spike at 0.009 s is still outside
    np.testing.assert_array_equal(result.spike_counts(2 * ms, 9 * ms), [2, 0, 1])
    np.testing.assert_array_equal(result.spike_counts(1 * ms, 3 * ms), [1, 0, 1])
    assert result.spikes_frame().to_dict("list") == {
        "neuron": [2, 0, 2, 0, 2],
        "t_s": [0.001, 0.002, 0.003, 0.004, 0.009],
    }
    with pytest.raises(IndexError, match=r"neuron 3 out of range \[0, 3\)"):
        result.spike_train(3)


def test_trace_views(result):
    np.testing.assert_allclose(result.trace("v") / mV, [[-70, -60], [-50, -40]])
    np.testing.assert_array_equal(result.t / second, [0.0, 0.005])
    frame = result.traces_frame()
    assert list(frame.columns) == ["t_s", "neuron", "v_mV", "I_ahp_pA"]
    assert frame.neuron.tolist() == [0, 0, 2, 2]
    np.testing.assert_allclose(frame.v_mV, [-70, -60, -50, -40])
    with pytest.raises(KeyError, match="'g' was not recorded; recorded: \\['I_ahp', 'v'\\]"):
        result.trace("g")


def test_save_writes_named_files_with_normal_permissions(result, tmp_path):
    written = result.save(tmp_path / "out")
    assert sorted(written) == ["spikes", "traces_csv", "traces_npz"]
    arrays = np.load(written["traces_npz"])
    assert sorted(arrays.files) == ["I_ahp_pA", "neuron", "t_s", "v_mV"]
    np.testing.assert_allclose(arrays["v_mV"], [[-70, -60], [-50, -40]])
    assert pd.read_csv(written["spikes"]).shape == (5, 2)
    umask = os.umask(0)
    os.umask(umask)
    for path in written.values():
        assert path.stat().st_mode & 0o777 == 0o666 & ~umask
    assert not [p for p in (tmp_path / "out").iterdir() if p.name.startswith(".")]
