"""GLIF3 against Allen's own simulator (allensdk 2.16.2 ``GlifNeuron``, loaded by the
``glif_neuron_class`` fixture of ``tests/ahp_models/conftest.py``) on real parameter rows."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
from brian2 import amp, second

from ahp_models import Glif3Params, from_array, simulate


def allen_neuron(glif_neuron_class, row):
    """Build allensdk's GlifNeuron for a GLIF3 summary row, as Allen's neuron_config does."""
    taus = [row.asc_tau1_s, row.asc_tau2_s]
    return glif_neuron_class(
        El=0.0,
        dt=row.dt_s,
        asc_tau_array=taus,
        R_input=row.R_input_ohm,
        C=row.C_F,
        asc_amp_array=[row.asc_amp1_A, row.asc_amp2_A],
        spike_cut_length=int(row.spike_cut_length_steps),
        th_inf=row.th_inf_V_rel_El,
        th_adapt=None,
        coeffs={},
        AScurrent_dynamics_method={"name": "exp", "params": {}},
        voltage_dynamics_method={"name": "linear_forward_euler", "params": {}},
        threshold_dynamics_method={"name": "inf", "params": {}},
        AScurrent_reset_method={"name": "sum", "params": {"r": json.loads(row.asc_r)}},
        voltage_reset_method={"name": "zero", "params": {}},
        threshold_reset_method={"name": "inf", "params": {}},
        init_voltage=0.0,
        init_threshold=row.th_inf_V_rel_El,
        init_AScurrents=[0.0, 0.0],
    )


def protocol(rheobase_a, dt_s, seed):
    """0.1 s rest, 0.6 s step at 1.5x rheobase, 0.6 s noise around rheobase, 0.2 s rest."""
    rng = np.random.default_rng(seed)
    pieces = [
        np.zeros(round(0.1 / dt_s)),
        np.full(round(0.6 / dt_s), 1.5 * rheobase_a),
        rheobase_a * (1.0 + 0.5 * rng.standard_normal(round(0.6 / dt_s))),
        np.zeros(round(0.2 / dt_s)),
    ]
    return np.concatenate(pieces)


@pytest.fixture(scope="module")
def glif3_rows(allen_dir):
    table = pd.read_csv(allen_dir / "glif_teeter2018_params_summary.csv")
    glif3 = table[table.glif_level == 3].sort_values("specimen_id")
    # the first five mouse and two human fits, in specimen-id order
    return pd.concat(
        [glif3[glif3.species == "mouse"].head(5), glif3[glif3.species == "human"].head(2)]
    )


@pytest.mark.long  # minutes of allensdk's Python loop; test_glif_export runs it on less
def test_glif3_reproduces_allensdk_spike_times(glif_neuron_class, glif3_rows):
    checked = 0
    for seed, row in enumerate(glif3_rows.itertuples()):
        params = Glif3Params.from_allen(row._asdict())
        dt_s = row.dt_s
        stimulus = protocol(row.th_inf_V_rel_El / row.R_input_ohm, dt_s, seed)
        reference = allen_neuron(glif_neuron_class, row).run(stimulus)
        ours = simulate(
            "glif3",
            params,
            from_array(stimulus * amp, dt=dt_s * second),
            record="v",
            codegen_target="numpy",
        )
        expected_steps = reference["spike_time_steps"].astype(int)
        assert len(expected_steps) >= 5, row.specimen_id
        np.testing.assert_array_equal(
            np.round(ours.spike_time_s / dt_s).astype(int), expected_steps, str(row.specimen_id)
        )
        # voltages agree where Allen integrates (not NaN); ours holds E_L during the cut.
        # allensdk's sample k is the state after step k, ours the state at the start of step k.
        allen_v = reference["voltage"] + row.El_reference_V
        defined = np.isfinite(allen_v[:-1])
        np.testing.assert_allclose(
            ours.traces_si["v"][0][1:][defined], allen_v[:-1][defined], rtol=0, atol=1e-12
        )
        checked += 1
    assert checked >= 3


def test_from_allen_rejects_other_levels_and_missing_columns(glif3_rows, allen_dir):
    table = pd.read_csv(allen_dir / "glif_teeter2018_params_summary.csv")
    level1 = table[table.glif_level == 1].iloc[0].to_dict()
    with pytest.raises(ValueError, match="glif_level = 1; Glif3Params needs level 3"):
        Glif3Params.from_allen(level1)
    row = glif3_rows.iloc[0].to_dict()
    del row["C_F"]
    with pytest.raises(ValueError, match="lacks column 'C_F'"):
        Glif3Params.from_allen(row, source="glif.csv")
