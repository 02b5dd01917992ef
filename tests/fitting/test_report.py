"""The fit report: quality table, parameter distributions, per-cell figures."""

from __future__ import annotations

import pandas as pd

from analysis.allen_tables import load_cells
from fitting.quality import fit_quality
from fitting.report import LABELS, write_fit_report
from fitting.synthetic import write_allen_tables
from fitting.targets import FEATURES


def test_report_of_cells_fitted_with_their_true_parameters(recovery_cells, tmp_path):
    chosen = recovery_cells[:4]
    cells = load_cells(write_allen_tables(chosen, tmp_path / "allen"))
    rows = []
    for k, cell in enumerate(chosen):
        features = cell.targets.features
        rows.append(
            {
                "specimen_id": cell.targets.specimen_id,
                "status": "fitted",
                "model": "lif_ahp",
                "cost": float(k),
                **cell.parameters.to_row(),
                **{f"model_{f}": features[f] for f in FEATURES},
                **{f"cell_{f}": features[f] for f in FEATURES},
                **{f"error_{f}": 0.0 for f in FEATURES},
            }
        )
    results = pd.DataFrame(rows)
    written = write_fit_report(results, cells, tmp_path / "fit", cell_figures=2)
    names = sorted(p.name for p in written)
    ids = [c.targets.specimen_id for c in chosen]
    assert names == sorted(
        [
            "index.html",
            "quality.csv",
            "flags.csv",
            *(
                f"{p}_by_{g}.png"
                for p in ("tau_ahp_ms", "b_ahp_pA")
                for g in ("species", "dendrite_type")
            ),
            f"cell_{ids[0]}.png",  # the best cost
            f"cell_{ids[-1]}.png",  # the worst
        ]
    )
    for path in written:
        if path.suffix == ".png":
            assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    # the page shows the same two f-I figures in the sections of their cells
    page = (tmp_path / "fit" / "report" / "index.html").read_text("utf-8")
    for specimen in ids:
        section = page[page.index(f'id="cell-{specimen}"') :].split("</section>")[0]
        figures = section.count('alt="fit of specimen')
        assert figures == (1 if specimen in (ids[0], ids[-1]) else 0), specimen
    quality = pd.read_csv(tmp_path / "fit" / "report" / "quality.csv", index_col="species")
    pd.testing.assert_frame_equal(quality, fit_quality(results, cells), check_dtype=False)
    assert quality.loc["all", "frac_adaptation"] == 1.0
    assert list(LABELS) == list(FEATURES)  # every fitted feature has its row in the figures
