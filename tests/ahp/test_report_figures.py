"""The pipeline report's recovery figure: scales from the parameters' specs, readable ticks."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from ahp.report_figures import plot_agreement, plot_recovery
from ahp_models import LifAhpParams
from fitting.fit_page import PASSIVE_COLUMNS
from fitting.synthetic import draw_lif_ahp_cells
from tests.analysis.tick_labels import overlapping_labels

#: Panel title -> the axes it needs (ahp_models.parameters.ParamSpec.axis_scale).
SCALES = {
    "τ_m (ms)": "log",
    "V_th (mV)": "linear",
    "V_reset (mV)": "linear",
    "t_ref (ms)": "log",
    "τ_AHP (ms)": "log",
    "b_AHP (pA)": "log",
}


def _recovery(seed: int, fitted_tau_ahp_ms: float | None = None) -> pd.DataFrame:
    """True parameters of drawn cells against 'fits' off by up to a factor 1.5 (20 % of the
    cells' AHP loose), one AHP time constant replaced where given."""
    rng = np.random.default_rng(seed)
    truth = draw_lif_ahp_cells(12, seed)
    rows = []
    for k in range(12):
        for column, values in _columns(truth).items():
            if column in PASSIVE_COLUMNS:
                continue
            value = float(values[k])
            fitted = value * rng.uniform(0.67, 1.5) if value > 0 else value + rng.normal(0, 3)
            if column == "tau_ahp_ms" and fitted_tau_ahp_ms is not None and k == 0:
                fitted = fitted_tau_ahp_ms
            rows.append(
                {
                    "specimen_id": k,
                    "model": "lif_ahp",
                    "parameter": column,
                    "true": value,
                    "fitted": fitted,
                    "identifiable": k % 5 != 0 or not column.startswith(("tau_ahp", "b_ahp")),
                }
            )
    return pd.DataFrame(rows)


def _columns(params: LifAhpParams) -> dict[str, np.ndarray]:
    """Per-neuron values by results-table column (``to_row`` names)."""
    return {
        f"{name}_{spec.unit_name.replace('/', '_per_')}": np.asarray(
            getattr(params, name) / spec.unit, dtype=float
        )
        for name, spec in params.specs().items()
    }


@pytest.mark.parametrize(("seed", "slow"), [(1, None), (2, 21000.0), (3, 29000.0)])
def test_recovery_panels_take_their_scale_from_the_spec_and_labels_do_not_collide(seed, slow):
    recovery = _recovery(seed, slow)
    figure = plot_recovery(recovery)
    panels = {axis.get_title(): axis for axis in figure.axes if axis.get_title()}
    assert {title: axis.get_xscale() for title, axis in panels.items()} == SCALES
    assert all(axis.get_yscale() == axis.get_xscale() for axis in panels.values())
    # potentials are drawn as they are, negative, not as magnitudes
    threshold = recovery[recovery.parameter == "V_th_mV"]
    drawn = np.concatenate([line.get_xdata() for line in panels["V_th (mV)"].get_lines()[:2]])
    assert sorted(drawn) == sorted(threshold.true)
    assert overlapping_labels(figure) == []


def test_a_zero_increment_turns_its_panel_linear_rather_than_leave_it_out():
    recovery = _recovery(4)
    zero = recovery.index[recovery.parameter == "b_ahp_pA"][0]
    recovery.loc[zero, "fitted"] = 0.0
    figure = plot_recovery(recovery)
    (panel,) = [axis for axis in figure.axes if axis.get_title() == "b_AHP (pA)"]
    assert panel.get_xscale() == "linear"
    drawn = np.concatenate([line.get_ydata() for line in panel.get_lines()[:2]])
    assert 0.0 in drawn and len(drawn) == (recovery.parameter == "b_ahp_pA").sum()
    assert overlapping_labels(figure) == []


def test_agreement_histograms_draw_values_equal_up_to_rounding():
    # two cells whose values differ by one ulp: numpy alone cannot cut 20 finite bins there
    energy = 2.345678
    cells = pd.DataFrame(
        {
            "gamma": [1.0, np.nextafter(1.0, 0.0)],
            "max_count_error": [0.01, 0.01],
            "dynamic_per_sweep_uJ": [energy, np.nextafter(energy, 3.0)],
        }
    )
    figure = plot_agreement(cells)
    drawn = [sum(p.get_height() for p in axis.patches) for axis in figure.axes]
    assert drawn == [2, 2, 2]  # every cell counted in each panel
