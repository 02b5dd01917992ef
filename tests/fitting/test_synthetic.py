"""Synthetic recordings agree with the LIF's analytic rheobase, latency and first ISI."""

from __future__ import annotations

import numpy as np
import pytest
from brian2 import Mohm, ms, mV, pA

from ahp_models import LifAhpParams
from analysis.allen_tables import load_cells
from fitting.synthetic import draw_lif_ahp_cells, record_cells, write_allen_tables
from fitting.targets import CellTargets, allen_grid

DT_MS = 0.1


def test_recorded_lif_matches_its_analytic_spike_times(tmp_path):
    # no AHP: rheobase (V_th - E_L) / R = 83.3 pA; latency tau ln(IR / (IR - theta));
    # ISI t_ref + tau ln((IR - (V_reset - E_L)) / (IR - theta))
    theta_mv, r_mohm, tau_ms, reset_mv, t_ref_ms = 15.0, 180.0, 20.0, 5.0, 2.0
    params = LifAhpParams(
        E_L=-70 * mV,
        R=r_mohm * Mohm,
        tau_m=tau_ms * ms,
        V_th=(-70 + theta_mv) * mV,
        V_reset=(-70 + reset_mv) * mV,
        t_ref=t_ref_ms * ms,
        tau_ahp=100 * ms,
        b_ahp=0 * pA,
    )
    (cell,) = record_cells(params, [5])
    targets = cell.targets
    assert targets.rheobase_pA == 90.0  # the first 10 pA step above 83.3 pA
    sweeps = targets.sweeps
    assert sweeps.amplitude_pA.tolist() == allen_grid(90.0).tolist()
    drive_mv = sweeps.amplitude_pA.to_numpy() * r_mohm * 1e-3
    spiking = drive_mv > theta_mv
    assert (sweeps.spike_count > 0).tolist() == spiking.tolist()
    drive_mv = drive_mv[spiking]
    latency_ms = tau_ms * np.log(drive_mv / (drive_mv - theta_mv))
    first_isi_ms = t_ref_ms + tau_ms * np.log((drive_mv - reset_mv) / (drive_mv - theta_mv))
    # spikes are registered at the end of the step that crosses threshold: up to one dt late,
    # and a refractory period ends on a step boundary
    measured = sweeps[spiking]
    assert measured.latency_s.to_numpy() * 1e3 == pytest.approx(latency_ms, abs=DT_MS)
    assert measured.first_isi_s.to_numpy() * 1e3 == pytest.approx(first_isi_ms, abs=DT_MS)
    # no adaptation: every ISI is equal, so the adaptation index is 0 wherever defined
    assert np.nanmax(np.abs(sweeps.adaptation_index)) < 1e-3


def test_drawn_cells_span_the_adaptation_range_and_round_trip_through_allen_tables(
    recovery_cells, tmp_path
):
    adaptation = np.array([c.targets.features["adaptation"] for c in recovery_cells])
    assert np.nanmin(adaptation) < 0.02 and np.nanmax(adaptation) > 0.25
    folder = write_allen_tables(recovery_cells, tmp_path)
    table = load_cells(folder)
    assert table.specimen_id.tolist() == [c.targets.specimen_id for c in recovery_cells]
    again = CellTargets.from_row(table.iloc[3])
    assert again.features == pytest.approx(recovery_cells[3].targets.features, nan_ok=True)
    assert again.ri_MOhm == pytest.approx(recovery_cells[3].targets.ri_MOhm)


def test_the_same_seed_draws_the_same_cells():
    first, second = draw_lif_ahp_cells(5, 3), draw_lif_ahp_cells(5, 3)
    assert first.to_dict() == second.to_dict()
    assert first.to_dict() != draw_lif_ahp_cells(5, 4).to_dict()
