"""Figures: drawn from the data given (checked through the artists), saved as PNG and SVG."""

import numpy as np
import pandas as pd
import pytest
from brian2 import ms, pA, second
from matplotlib.figure import Figure

from ahp_models import LifAhpParams, long_square, simulate
from analysis.figures import (
    plot_f_i_curves,
    plot_feature_distribution,
    plot_isi_adaptation,
    plot_simulation,
    readable_log_ticks,
    save_figure,
)
from analysis.long_square import features_of_simulation
from tests.analysis.tick_labels import drawn_labels, overlapping_labels


def test_f_i_curves_of_model_and_data(tmp_path):
    stimulus = long_square(
        np.arange(100, 300, 40.0) * pA, onset=50 * ms, width=1 * second, duration=1.1 * second
    )
    result = simulate("lif_ahp", LifAhpParams(), stimulus, codegen_target="numpy")
    model = features_of_simulation(result, stimulus).f_i_curve
    data = pd.DataFrame({"amplitude_pA": [120.0, 200.0, 280.0], "avg_rate_Hz": [2.0, 15.0, 30.0]})
    figure = plot_f_i_curves({"model": model, "cell data": data}, title="f-I")
    model_line, data_line = figure.axes[0].get_lines()
    np.testing.assert_array_equal(model_line.get_ydata(), model.avg_rate_Hz)
    assert data_line.get_linestyle() == "None" and data_line.get_marker() == "o"
    files = save_figure(figure, tmp_path / "fi", ("png", "svg"))
    assert [f.name for f in files] == ["fi.png", "fi.svg"]
    assert files[0].read_bytes()[:4] == b"\x89PNG" and "<svg" in files[1].read_text()[:500]


def test_isi_adaptation_plots_the_intervals():
    trains = {"adapting": [0.1, 0.11, 0.13, 0.17] * second, "regular": [0.1, 0.2, 0.3] * second}
    figure = plot_isi_adaptation(trains)
    adapting, regular = figure.axes[0].get_lines()
    np.testing.assert_allclose(adapting.get_ydata(), [10, 20, 40])
    np.testing.assert_allclose(regular.get_ydata(), [100, 100])


def test_feature_distribution_labels_groups_with_sizes():
    cells = pd.DataFrame(
        {
            "adaptation": [0.01, 0.2, 0.3, 0.0, -0.01, np.nan],
            "species": ["mouse", "human", "human", "mouse", "mouse", "human"],
        }
    )
    figure = plot_feature_distribution(cells, by="species")
    labels = [t.get_text() for t in figure.axes[0].get_yticklabels()]
    assert labels == ["mouse (n=3; >0.05: 0%, >0.1: 0%)", "human (n=2; >0.05: 100%, >0.1: 100%)"]


def test_simulation_figure_has_one_panel_per_variable():
    stimulus = long_square([150, 250] * pA, onset=20 * ms, width=200 * ms, duration=300 * ms)
    result = simulate("lif_ahp", None, stimulus, record=["v", "I_ahp"], codegen_target="numpy")
    figure = plot_simulation(result, labels=["150 pA", "250 pA"])
    assert [a.get_ylabel() for a in figure.axes] == ["v (mV)", "I_ahp (pA)", "neuron"]


@pytest.mark.parametrize(
    ("low", "high"),
    [(1.1, 1.9), (0.6, 1.35), (0.3, 50.0), (5.0, 40.0), (13.0, 63000.0), (1e-3, 1e5), (2.0, 7.0)],
)
def test_log_axes_get_a_few_plain_labels_that_do_not_collide(low, high):
    figure = Figure(figsize=(2.6, 2.4))  # one panel of a four-column grid
    axes = figure.subplots()
    axes.plot([low, high], [low, high])
    axes.set_xscale("log")
    axes.set_yscale("log")
    axes.set_xlim(low, high)
    axes.set_ylim(low, high)
    for axis in (axes.xaxis, axes.yaxis):
        readable_log_ticks(axis, low, high)
    figure.tight_layout()
    assert overlapping_labels(figure) == []
    for axis in (axes.xaxis, axes.yaxis):
        texts = [label.get_text() for label in drawn_labels(axis)]
        assert len(texts) >= 2, texts  # something to read the scale by
        assert all("times" not in t and "^" not in t for t in texts), texts  # plain numbers


def test_the_overlap_check_finds_matplotlibs_crowded_default_log_labels():
    """The check above can fail: a narrow log axis labels every mantissa, and they collide."""
    figure = Figure(figsize=(2.6, 2.4))
    axes = figure.subplots()
    axes.plot([3.3, 75.0], [3.3, 75.0])
    axes.set_xscale("log")
    axes.set_xlim(3.3, 75.0)
    figure.tight_layout()
    assert overlapping_labels(figure)


def test_feature_distribution_on_a_log_axis():
    cells = pd.DataFrame(
        {"tau": [20.0, 200.0, 2000.0, 21000.0], "species": ["mouse", "mouse", "human", "human"]}
    )
    figure = plot_feature_distribution(cells, "tau", thresholds=(), unit="ms", log=True)
    axis = figure.axes[0]
    assert axis.get_xscale() == "log"
    low, high = axis.get_xlim()
    assert low < 20.0 and high > 21000.0  # every value on the axis
    assert overlapping_labels(figure) == []
    with pytest.raises(ValueError, match="values <= 0"):
        plot_feature_distribution(cells.assign(tau=[0.0, 1, 2, 3]), "tau", log=True)
