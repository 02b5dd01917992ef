"""Agreement with eFEL (Blue Brain's feature library) where the definitions coincide.

eFEL resamples traces to ``interp_step`` (0.1 ms by default); set to the sampling step, its peaks
are ours. Then, on the same spikes:

- equal: spike count in the stimulus window, ``time_to_first_spike`` and ``inv_first_ISI``
  against our latency and first ISI computed from *peak* times;
- different definitions, tested as such:
  * Allen's latency and ISIs use threshold times, eFEL's peak times;
  * eFEL's ``ISI_CV`` skips the first ISI and uses ``ddof=1`` (Allen: all ISIs, ``ddof=0``);
  * eFEL's ``adaptation_index`` skips the first spikes (``spike_skipf`` 0.1, ``max_spike_skip``
    2) and needs 4 spikes; with both skip settings at 0 it equals Allen's index, which needs 3.
"""

import numpy as np
import pytest
from brian2 import mV, second

from analysis.spike_detection import detect_spikes
from analysis.sweep_features import sweep_features
from tests.analysis.conftest import DT_MS

efel = pytest.importorskip("efel")
START, END = 0.3, 1.3


@pytest.fixture
def efel_at_sampling_step():
    efel.reset()
    efel.set_setting("interp_step", DT_MS)
    yield efel
    efel.reset()


def efel_features(t, v, names, end=END):
    trace = {"T": t * 1e3, "V": v, "stim_start": [START * 1e3], "stim_end": [end * 1e3]}
    return efel.get_feature_values([trace], names)[0]


def test_same_spikes_and_first_spike_features(efel_at_sampling_step, hh_traces):
    t, traces = hh_traces
    for v in traces[2:]:
        spikes = detect_spikes(t * second, v * mV, START * second, END * second)
        theirs = efel_features(
            t, v, ["Spikecount_stimint", "peak_time", "time_to_first_spike", "inv_first_ISI"]
        )
        peaks = theirs["peak_time"]
        peaks = peaks[(peaks >= START * 1e3) & (peaks <= END * 1e3)]
        assert theirs["Spikecount_stimint"][0] == len(spikes)
        np.testing.assert_allclose(spikes.peak_t_s * 1e3, peaks, atol=1e-6)
        by_peak = sweep_features(spikes.peak_t_s.to_numpy() * second, START * second, END * second)
        assert theirs["time_to_first_spike"][0] == pytest.approx(by_peak["latency_s"] * 1e3)
        assert theirs["inv_first_ISI"][0] == pytest.approx(1 / by_peak["first_isi_s"])
        allen = sweep_features(
            spikes.threshold_t_s.to_numpy() * second, START * second, END * second
        )
        # Allen's latency is to the threshold, before the peak
        assert 0 < by_peak["latency_s"] - allen["latency_s"] < 2e-3


def test_isi_cv_conventions_differ(efel_at_sampling_step, hh_traces):
    t, traces = hh_traces
    v = traces[4]  # every spike of this trace lies inside the stimulus window
    spikes = detect_spikes(t * second, v * mV, START * second, END * second)
    isis = np.diff(spikes.peak_t_s.to_numpy())
    theirs = efel_features(t, v, ["ISI_CV"])["ISI_CV"][0]
    assert theirs == pytest.approx(isis[1:].std(ddof=1) / isis[1:].mean(), rel=1e-9)
    ours = sweep_features(spikes.peak_t_s.to_numpy() * second, START * second, END * second)
    assert ours["isi_cv"] == pytest.approx(isis.std() / isis.mean(), rel=1e-12)
    assert ours["isi_cv"] != pytest.approx(theirs, rel=1e-3)


def test_adaptation_index_equals_allens_without_skipping(efel_at_sampling_step, hh_traces):
    t, traces = hh_traces
    for v in traces[2:]:
        spikes = detect_spikes(t * second, v * mV, START * second, END * second)
        ours = sweep_features(spikes.peak_t_s.to_numpy() * second, START * second, END * second)
        default = efel_features(t, v, ["adaptation_index"])["adaptation_index"]
        assert default is not None  # the comparison below must not pass on a missing value
        default = default[0]
        efel.set_setting("spike_skipf", 0.0)
        efel.set_setting("max_spike_skip", 0)
        unskipped = efel_features(t, v, ["adaptation_index"])["adaptation_index"][0]
        efel.set_setting("spike_skipf", 0.1)
        efel.set_setting("max_spike_skip", 2)
        assert unskipped == pytest.approx(ours["adaptation_index"], rel=1e-9, abs=1e-15)
        assert default != pytest.approx(ours["adaptation_index"], rel=1e-3, abs=1e-9)


@pytest.mark.filterwarnings(r"ignore:(?s).*Minimum 4 spikes needed")
def test_three_spikes_allen_defines_eFEL_does_not(efel_at_sampling_step, hh_traces):
    t, traces = hh_traces
    v = traces[3]
    spikes = detect_spikes(t * second, v * mV, START * second, END * second)
    end = spikes.peak_t_s.iloc[2] + 2e-3  # window ending after the third spike
    three = spikes.threshold_t_s.to_numpy()[:3]
    assert not np.isnan(
        sweep_features(three * second, START * second, end * second)["adaptation_index"]
    )
    assert efel_features(t, v, ["adaptation_index"], end=end)["adaptation_index"] is None
