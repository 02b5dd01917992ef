"""Fitted and GLIF3 neurons re-run on measured sweeps: rows, order and counts."""

from __future__ import annotations

import numpy as np
import pandas as pd

from ahp_models import Glif3Params
from fitting.evaluation import glif3_sweep_counts, model_sweep_counts, simulate_long_squares


def test_fitted_rows_rerun_on_their_own_sweeps_give_the_recorded_counts(recovery_cells):
    cells = recovery_cells[:3]
    rows = [
        {"specimen_id": c.targets.specimen_id, "status": "fitted", "model": "lif_ahp"}
        | c.parameters.to_row()
        for c in cells
    ]
    # a table mixing models: the last cell as a two-current lif_multi_ahp whose second current
    # has no effect, the same neuron (its lif_ahp columns are NaN in the table)
    last = rows[-1]
    rows[-1] = {k: v for k, v in last.items() if not k.startswith(("tau_ahp", "b_ahp"))} | {
        "model": "lif_multi_ahp",
        "tau_ahp_1_ms": last["tau_ahp_ms"],
        "tau_ahp_2_ms": 1000.0,
        "b_ahp_1_pA": last["b_ahp_pA"],
        "b_ahp_2_pA": 0.0,
    }
    results = pd.DataFrame([*rows, {"specimen_id": 999, "status": "unfittable"}])
    assert results.tau_ahp_ms.isna().sum() == 2 and results.tau_ahp_1_ms.isna().sum() == 3
    sweeps = {
        c.targets.specimen_id: c.targets.sweeps.assign(sweep=np.arange(len(c.targets.sweeps)) + 10)
        for c in cells[::-1]  # order of the mapping does not matter
    }
    counts = model_sweep_counts(results, sweeps)
    for cell in cells:
        rows = counts[counts.specimen_id == cell.targets.specimen_id]
        assert rows.sweep.tolist() == list(range(10, 10 + len(cell.targets.sweeps)))
        np.testing.assert_array_equal(rows.amplitude_pA, cell.targets.sweeps.amplitude_pA)
        np.testing.assert_array_equal(rows.model_spike_count, cell.targets.sweeps.spike_count)
    assert 999 not in set(counts.specimen_id)


def test_glif3_counts_equal_one_simulation_per_cell(allen_dir):
    glif = pd.read_csv(allen_dir / "glif_teeter2018_params_summary.csv")
    chosen = glif[glif.glif_level == 3].specimen_id.unique()[:2]
    sweeps = {
        int(s): pd.DataFrame({"sweep": [1, 2, 3], "amplitude_pA": a})
        for s, a in zip(chosen, ([100.0, 250.0, 400.0], [-50.0, 150.0, 300.0]), strict=True)
    }
    counts = glif3_sweep_counts(glif, sweeps)
    assert sorted(set(counts.specimen_id)) == sorted(sweeps)
    for specimen, table in sweeps.items():
        row = glif[(glif.specimen_id == specimen) & (glif.glif_level == 3)].iloc[0]
        alone = simulate_long_squares(Glif3Params.from_allen(row), table.amplitude_pA, 0.05)
        np.testing.assert_array_equal(
            counts[counts.specimen_id == specimen].glif3_spike_count, alone.spike_count
        )
    assert counts.glif3_spike_count.max() > 0
