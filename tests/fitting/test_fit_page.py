"""`ahp fit`'s HTML page: self-contained, every cell listed with the flags of its fit, every
number in its tables labelled with its unit; the CSV files keep their machine names."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from fitting.fit_flags import FLAG_COLUMNS, flag_table
from fitting.fit_page import FIT_SECTIONS
from fitting.quality import fit_quality
from fitting.report import write_fit_report
from fitting.space import LifAhpSpace
from tests.fitting.fit_rows import cell_row, cell_targets, fitted_row
from tests.html_tables import external_references, numbers_without_unit, read_page


@pytest.fixture(scope="module")
def fit_report(tmp_path_factory):
    """Four cells: one plain fit, one at the upper bound of tau_ahp, one that hardly adapts,
    one that could not be fitted (no f-I figures: no simulation, seconds)."""
    space = LifAhpSpace()
    plain, slow, flat = (cell_targets(a, s) for a, s in ((0.05, 11), (0.05, 12), (0.01, 13)))
    cells = pd.DataFrame(
        [
            cell_row(plain, "mouse"),
            cell_row(slow, "mouse", "aspiny"),
            cell_row(flat, "human"),
            cell_row(cell_targets(0.05, 14), "human"),
        ]
    )
    results = pd.DataFrame(
        [
            fitted_row(space, plain, 0.4),
            fitted_row(space, slow, 1.3, tau_ahp_ms=29900.0),
            fitted_row(space, flat, 0.9),
            {"specimen_id": 14, "status": "unfittable", "reason": "no rheobase", "model": np.nan},
        ]
    )
    out = tmp_path_factory.mktemp("fit")
    written = write_fit_report(results, cells, out, cell_figures=0)
    return out / "report", written, results, cells


def test_the_page_is_written_and_self_contained(fit_report):
    folder, written, _, _ = fit_report
    page = (folder / "index.html").read_text("utf-8")
    assert folder / "index.html" in written
    assert external_references(page) == []
    parsed = read_page(page)
    assert parsed.ids[: len(FIT_SECTIONS)] == list(FIT_SECTIONS)
    images = [value for tag, name, value in parsed.references if tag == "img"]
    assert len(images) >= 3 and all(v.startswith("data:image/png;base64,") for v in images)
    # the other drawn tables and figures are still written beside it, under their names
    assert {p.name for p in written} >= {"quality.csv", "flags.csv", "tau_ahp_ms_by_species.png"}


def test_every_cell_has_a_row_and_a_section(fit_report):
    folder, _, results, _ = fit_report
    parsed = read_page((folder / "index.html").read_text("utf-8"))
    (overview,) = [t for t in parsed.tables if "flags" in t.columns and "status" in t.columns]
    listed = [int(row[overview.columns.index("specimen")][1]) for row in overview.body]
    assert listed == list(results.specimen_id)
    assert {f"cell-{s}" for s in results.specimen_id} <= set(parsed.ids)


def test_flags_appear_in_the_table_and_as_notes_in_the_cells_section(fit_report):
    folder, _, results, cells = fit_report
    page = (folder / "index.html").read_text("utf-8")
    overview = next(t for t in read_page(page).tables if "flags" in t.columns)
    flags_column = {
        int(row[0][1]): row[overview.columns.index("flags")][1] for row in overview.body
    }
    assert flags_column[11] == ""
    assert flags_column[12] == "τ_AHP at upper search bound; τ_AHP not identifiable"
    assert flags_column[13] == "τ_AHP not identifiable; b_AHP not identifiable"
    section = page[page.index('id="cell-12"') : page.index('id="cell-13"')]
    assert "Read with care" in section and "upper bound 30000" in section
    assert "Read with care" not in page[page.index('id="cell-11"') : page.index('id="cell-12"')]
    # flags.csv: the same flags, machine-readable
    table = pd.read_csv(folder / "flags.csv")
    assert list(table.columns) == list(FLAG_COLUMNS)
    expected = flag_table(results, cells)
    pd.testing.assert_frame_equal(table, expected, check_dtype=False)


def test_every_number_in_the_tables_carries_its_unit(fit_report):
    folder, _, _, _ = fit_report
    tables = read_page((folder / "index.html").read_text("utf-8")).tables
    assert len(tables) >= 2 + 3 * 2  # quality, overview, and per fitted cell two
    for table in tables:
        assert numbers_without_unit(table) == [], table.columns
    headers = {h for t in tables for h in t.columns}
    assert {"τ_AHP (ms)", "b_AHP (pA)", "V_th (mV)", "cost (dimensionless)"} <= headers
    assert not {h for h in headers if "_ms" in h or "_pA" in h}  # no machine names


def test_csv_files_keep_machine_readable_names(fit_report):
    folder, _, results, cells = fit_report
    quality = pd.read_csv(folder / "quality.csv", index_col="species")
    pd.testing.assert_frame_equal(quality, fit_quality(results, cells), check_dtype=False)
    assert "frac_adaptation" in quality.columns


def test_the_unit_check_finds_a_number_without_unit():
    """The check above can fail: a header without unit over numbers is reported."""
    page = (
        "<table><thead><tr><th>specimen</th><th>tau_ahp</th><th>flags</th></tr></thead>"
        "<tbody><tr><td>7</td><td>300</td><td>none</td></tr></tbody></table>"
        "<img src='https://example.org/x.png'><a href='#cells'>cells</a>"
    )
    (table,) = read_page(page).tables
    assert numbers_without_unit(table) == ["tau_ahp / ?: 300"]
    assert external_references(page) == ["<img src='https://example.org/x.png'>"]


def test_the_page_names_the_cells_that_kept_a_refit():
    from fitting.fit_page import models_kept_html

    fitted = pd.DataFrame(
        {
            "specimen_id": [1, 2, 3, 4],
            "model": ["lif_ahp", "lif_ahp_input", "lif_ahp", "lif_ahp_input"],
            # cell 3 was refitted and kept its first fit; 2 and 4 kept the refit
            "first_model": [np.nan, "lif_ahp", "lif_ahp", "lif_ahp"],
        }
    )
    text = models_kept_html(fitted)
    assert "Models kept: lif_ahp 2, lif_ahp_input 2." in text
    assert "lif_ahp_input did better for 2 cells: <a href='#cell-2'>2</a>, " in text
    assert "#cell-3" not in text and "#cell-1" not in text
    assert models_kept_html(fitted.drop(columns="first_model")).count("<a ") == 0
