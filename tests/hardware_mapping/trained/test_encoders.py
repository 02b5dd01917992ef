"""The threshold-crossing encoder against its definition, written as a plain loop."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from hardware_mapping.trained import EncoderError, ThresholdCrossingEncoder
from hardware_mapping.trained.encoders import encoder_from_table

from .conftest import SMALL_ENCODER


def by_definition(encoder, values):
    raster = np.zeros((encoder.n_steps, encoder.n_channels), dtype=bool)
    for p in range(encoder.length):
        for k, level in enumerate(encoder.levels):
            if p < encoder.length - 1:
                up = values[p] < level <= values[p + 1]
                down = values[p] >= level > values[p + 1]
                raster[p, encoder.first_channel + 2 * k] = up
                raster[p, encoder.first_channel + 2 * k + 1] = down
        raster[p, encoder.max_channel] = values[p] == encoder.max_value
    raster[encoder.length :, encoder.cue_channel] = True
    return raster


ENCODER = encoder_from_table(SMALL_ENCODER, "encoder")


@settings(max_examples=200, deadline=None)
@given(st.lists(st.integers(0, 9), min_size=12, max_size=12))
def test_encoding_follows_the_definition(values):
    values = np.array(values)
    np.testing.assert_array_equal(ENCODER.encode(values[None])[0], by_definition(ENCODER, values))


def test_the_papers_levels_on_a_ramp():
    levels = np.floor(np.linspace(0, 255, 40)).astype(int)[1:39]
    encoder = ThresholdCrossingEncoder("channels", 80, 784, tuple(levels), 2, 255, 78, 79, 56)
    image = np.zeros(784, dtype=np.uint8)
    image[100:110] = [0, 30, 60, 255, 255, 200, 0, 0, 7, 6]
    raster = encoder.encode(image[None])[0]
    # 0 -> 30 crosses levels 6, 13, 19, 26 (channels 2, 4, 6, 8) at step 100
    assert sorted(np.flatnonzero(raster[100])) == [2, 4, 6, 8]
    assert raster[102, 2 + 2 * 37]  # 60 -> 255 crosses the top level 248 upward
    assert raster[103, 78] and raster[104, 78] and not raster[105, 78]  # at 255
    # 255 -> 200 crosses 248 .. 202 downward (levels 30..37), 200 -> 0 crosses 196 .. 6 (0..29)
    assert list(np.flatnonzero(raster[104])) == [*range(3 + 2 * 30, 78, 2), 78]
    assert list(np.flatnonzero(raster[105])) == list(range(3, 3 + 2 * 30, 2))
    assert raster[107, 2] and not raster[108].any()  # 0 -> 7 crosses 6; 7 -> 6 does not
    assert raster[784:, 79].all() and raster[:784, 79].sum() == 0
    assert not raster[:, :2].any()  # channels 0 and 1 never fire


@pytest.mark.parametrize(
    ("samples", "match"),
    [(np.zeros((2, 11), dtype=int), "samples of 11 values; allowed: 12"),
     (np.full((2, 12), 10), r"sample 0 value 0 = 10; allowed: 0..9"),
     (np.full((1, 12), 1.5), "dtype float64; allowed: integers")],
)  # fmt: skip
def test_bad_samples_are_refused(samples, match):
    with pytest.raises(EncoderError, match=match):
        ENCODER.encode(samples)


def test_overlapping_or_outside_channels_are_refused():
    with pytest.raises(EncoderError, match=r"crossings uses channels 4\.\.9; allowed: 0\.\.7"):
        ThresholdCrossingEncoder("x", 8, 5, (1, 2, 3), first_channel=4)
    with pytest.raises(EncoderError, match=r"levels span 0\.\.3"):
        ThresholdCrossingEncoder("x", 8, 5, (0, 3))
