"""One recorded current-clamp sweep, whatever file it came from, and its long-square features.

The NWB 1.x and NWB 2 readers (`fitting.nwb`, `fitting.nwb2`) turn a sweep into a
`RecordedSweep`: stimulus and response in SI units with their sampling rates. `long_square_row`
reads the step from the stimulus (first to last change after the test pulse), checks the
recording, finds the spikes with Allen's detector (`analysis.spike_detection`) and summarises them
with Allen's sweep definitions (`analysis.sweep_features`), so a cell gives the same row from
either file version. `long_square_row_and_trace` also gives the samples around the step, on which
`analysis.subthreshold` measures the cell's passive properties.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from brian2 import Quantity, amp, mV, second, volt

from analysis.spike_detection import detect_spikes
from analysis.spike_trains import SpikeTrainError
from analysis.subthreshold import BASELINE_INTERVAL_S, Trace
from analysis.sweep_features import sweep_features
from fitting.targets import SWEEP_COLUMNS

__all__ = [
    "AMPLITUDE_TOLERANCE_PA",
    "LONG_SQUARE",
    "ROW_COLUMNS",
    "RecordedSweep",
    "SweepSkipped",
    "long_square_row",
    "long_square_row_and_trace",
]

LONG_SQUARE = "Long Square"
#: Largest disagreement between the step read from the trace and the file's stated amplitude.
AMPLITUDE_TOLERANCE_PA = 1.0
#: The columns of a row of `long_square_row`, in order.
ROW_COLUMNS = (
    "sweep",
    "amplitude_pA",
    "stimulus_start_s",
    "stimulus_end_s",
    "spike_count",
    *SWEEP_COLUMNS,
)


class SweepSkipped(Exception):
    """A sweep that is left out of the fit; the message says why."""


@dataclass(frozen=True)
class RecordedSweep:
    """The stimulus and response of one current-clamp sweep, in SI units.

    Times are counted from the stimulus's first sample.

    Attributes
    ----------
    number : int
        Sweep number in its file.
    stimulus_name : str
        Stimulus name (``"Long Square"`` for Allen's long squares).
    stimulus_a : numpy.ndarray
        Injected current (A), sampled at ``stimulus_rate_hz``.
    response_v : numpy.ndarray
        Membrane potential (V), sampled at ``response_rate_hz``.
    stimulus_rate_hz, response_rate_hz : float
        Sampling rates.
    response_delay_s : float
        Time of the response's first sample (0 where both start together).
    experiment : tuple of int, optional
        First and last stimulus sample after the test pulse (default: the whole stimulus).
    stated_amplitude_pa : float, optional
        The step amplitude the file states besides the trace (Allen NWB 1.x), checked against it.
    stored : tuple of numpy.ndarray, optional
        Stimulus and response as stored, before the file's unit ``conversion``: the reading
        tried when the converted step disagrees with ``stated_amplitude_pa``.
    """

    number: int
    stimulus_name: str
    stimulus_a: np.ndarray
    response_v: np.ndarray
    stimulus_rate_hz: float
    response_rate_hz: float
    response_delay_s: float = 0.0
    experiment: tuple[int, int] | None = None
    stated_amplitude_pa: float | None = None
    stored: tuple[np.ndarray, np.ndarray] | None = None

    @property
    def stimulus(self) -> Quantity:
        """The injected current."""
        return self.stimulus_a * amp

    @property
    def response(self) -> Quantity:
        """The membrane potential."""
        return self.response_v * volt

    def response_time_s(self) -> np.ndarray:
        """Sample times of the response (s, from the stimulus's first sample)."""
        return self.response_delay_s + np.arange(self.response_v.size) / self.response_rate_hz


def _step_window(stimulus_a: np.ndarray, first: int, last: int) -> tuple[int, int]:
    """Indexes of the step's first sample and of the first sample after it."""
    changes = np.flatnonzero(np.diff(stimulus_a[first : last + 1]) != 0)
    if changes.size == 0:
        raise SweepSkipped("no current step after the test pulse")
    if changes.size < 2:
        raise SweepSkipped("the recording stops during the step (the step never ends)")
    return first + int(changes[0]) + 1, first + int(changes[-1]) + 1


def _stated_units(
    sweep: RecordedSweep, begin: int, after: int, amplitude_pa: float
) -> tuple[float, np.ndarray, np.ndarray]:
    """The amplitude, stimulus and response in the reading of the units that the stated
    amplitude fits."""
    stated = sweep.stated_amplitude_pa
    if stated is None or abs(stated - amplitude_pa) <= AMPLITUDE_TOLERANCE_PA:
        return amplitude_pa, sweep.stimulus_a, sweep.response_v
    if sweep.stored is None:
        raise SweepSkipped(
            f"the stimulus trace steps by {amplitude_pa:.6g} pA but the stated amplitude is "
            f"{stated:.6g} pA: the units of this sweep are unclear"
        )
    # allensdk: files of early pipeline versions store SI units with a wrong 'conversion'
    stimulus_stored, response_stored = sweep.stored
    unconverted_pa = float(np.median(stimulus_stored[begin:after])) * 1e12
    if abs(stated - unconverted_pa) > AMPLITUDE_TOLERANCE_PA:
        raise SweepSkipped(
            f"the stimulus trace steps by {amplitude_pa:.6g} pA (data x conversion) or "
            f"{unconverted_pa:.6g} pA (data) but aibs_stimulus_amplitude_pa is "
            f"{stated:.6g} pA: the units of this sweep are unclear"
        )
    return unconverted_pa, stimulus_stored, response_stored


#: Samples kept beyond the baseline window and the step, so that the sample nearest each of
#: their ends is inside the kept trace.
_MARGIN_SAMPLES = 2


def _trace(
    sweep: RecordedSweep,
    stimulus_a: np.ndarray,
    response_v: np.ndarray,
    start_s: float,
    end_s: float,
) -> Trace:
    """The samples around the step (see `long_square_row_and_trace`)."""
    t_s = sweep.response_time_s()
    first = max(0, int(np.searchsorted(t_s, start_s - BASELINE_INTERVAL_S)) - _MARGIN_SAMPLES)
    last = min(t_s.size, int(np.searchsorted(t_s, end_s)) + _MARGIN_SAMPLES + 1)
    t_s = t_s[first:last]
    # the stimulus sample nearest each response sample (the same index at a common rate)
    nearest = np.rint(t_s * sweep.stimulus_rate_hz).astype(np.int64)
    i_pa = stimulus_a[np.clip(nearest, 0, stimulus_a.size - 1)] * 1e12
    return Trace(t_s, response_v[first:last] * 1e3, i_pa, start_s, end_s)


def long_square_row(sweep: RecordedSweep) -> dict[str, float]:
    """The long-square row of one sweep: its step and Allen's spike features.

    Parameters
    ----------
    sweep : RecordedSweep
        A long square.

    Returns
    -------
    dict of str to float
        `ROW_COLUMNS`: ``sweep``, ``amplitude_pA``, ``stimulus_start_s`` and ``stimulus_end_s``
        (from the stimulus's first sample), ``spike_count`` and the optional fitting columns of
        `fitting.targets.SWEEP_COLUMNS`.

    Raises
    ------
    SweepSkipped
        The sweep cannot be used: no step, a step that is not square or never ends, an amplitude
        that disagrees with the stated one, a response that is not a membrane potential in volts
        or that ends before the step does.
    """
    return long_square_row_and_trace(sweep)[0]


def long_square_row_and_trace(sweep: RecordedSweep) -> tuple[dict[str, float], Trace]:
    """`long_square_row` and the samples `analysis.subthreshold` measures on.

    Parameters
    ----------
    sweep : RecordedSweep
        A long square.

    Returns
    -------
    row : dict of str to float
        `long_square_row`.
    trace : analysis.subthreshold.Trace
        The response from `analysis.subthreshold.BASELINE_INTERVAL_S` before the step to just
        after it (a few samples' margin each side): times from the stimulus's first sample,
        voltage in mV and, at each of its samples, the nearest stimulus sample in pA, in the
        reading of the units that the row's amplitude uses.

    Raises
    ------
    SweepSkipped
        As `long_square_row`.
    """
    stimulus_a, rate_hz = sweep.stimulus_a, sweep.stimulus_rate_hz
    first, last = sweep.experiment or (0, stimulus_a.size - 1)
    begin, after = _step_window(stimulus_a, first, min(last, stimulus_a.size - 1))
    plateau_pa = stimulus_a[begin:after] * 1e12
    amplitude_pa = float(np.median(plateau_pa))
    if np.ptp(plateau_pa) > AMPLITUDE_TOLERANCE_PA:
        raise SweepSkipped(
            f"stimulus is not a square step (varies by {np.ptp(plateau_pa):.3g} pA between "
            f"samples {begin} and {after})"
        )
    amplitude_pa, stimulus_a, response_v = _stated_units(sweep, begin, after, amplitude_pa)
    start_s, end_s = begin / rate_hz, after / rate_hz
    t_s = sweep.response_time_s()
    before_step = response_v[t_s < start_s]
    resting_v = float(np.median(before_step)) if before_step.size else float(response_v[0])
    if not -0.2 < resting_v < 0.1:
        raise SweepSkipped(
            f"the response before the step sits at {resting_v:.6g}, not a membrane potential "
            "in volts (-0.2 to 0.1 V): check the response's 'conversion'"
        )
    # the first sample after the step must be recorded (as Allen's sweeps are cut)
    if not t_s.size or t_s[-1] < end_s:
        recording_end_s = sweep.response_delay_s + response_v.size / sweep.response_rate_hz
        raise SweepSkipped(
            f"the recording ends at {recording_end_s:.4g} s, before the step ends at {end_s:.4g} s"
        )
    try:
        spikes = detect_spikes(
            t_s * second, response_v * 1e3 * mV, start_s * second, end_s * second
        )
    except SpikeTrainError as err:
        raise SweepSkipped(f"response unusable for spike detection: {err}") from None
    features = sweep_features(
        spikes.threshold_t_s.to_numpy() * second, start_s * second, end_s * second
    )
    row = {
        "sweep": sweep.number,
        "amplitude_pA": amplitude_pa,
        "stimulus_start_s": start_s,
        "stimulus_end_s": end_s,
        "spike_count": features["spike_count"],
    }
    row.update({column: features[column] for column in SWEEP_COLUMNS})
    return row, _trace(sweep, stimulus_a, response_v, start_s, end_s)
