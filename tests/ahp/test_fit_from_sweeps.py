"""`ahp fit --sweeps` fits cells that have no row in Allen's feature table, from their sweeps."""

from __future__ import annotations

import pandas as pd
import pytest

from ahp.cli import main
from fitting.synthetic import SWEEP_FILE, draw_lif_ahp_cells, record_cells, write_allen_tables
from fitting.targets import FEATURES
from tests.fitting.nwb_files import passive_cell

FAST = ["--generations", "3", "--restarts", "0", "--popsize", "4", "--slots", "2",
        "--refit-model", "none", "--report-cells", "0"]  # fmt: skip


@pytest.fixture(scope="module")
def allen_tables(tmp_path_factory):
    cells = record_cells(draw_lif_ahp_cells(3, seed=5), [1, 2, 3])
    return write_allen_tables(cells, tmp_path_factory.mktemp("allen"))


def _features(allen_tables) -> pd.DataFrame:
    return pd.read_csv(allen_tables / "allen_ephys_features.csv").set_index("specimen_id")


def _passive(allen_tables, path, specimens, species):
    table = _features(allen_tables).loc[specimens, ["vrest", "ri", "tau"]]
    table.assign(species=species).to_csv(path)
    return path


def _assert_cell_features(results, allen_tables, specimens):
    """The targets a fit used (cell_<feature>) are the feature table's values."""
    expected = _features(allen_tables)
    for specimen in specimens:
        row = results.loc[specimen]
        for feature in FEATURES:
            assert row[f"cell_{feature}"] == pytest.approx(
                expected.loc[specimen, feature], rel=1e-12, nan_ok=True
            ), (specimen, feature)


def test_a_cell_without_a_feature_row_is_fitted_from_its_sweeps(allen_tables, tmp_path, capsys):
    folder = tmp_path / "allen"
    folder.mkdir()
    for path in allen_tables.iterdir():
        (folder / path.name).write_bytes(path.read_bytes())
    features = _features(allen_tables)
    features.drop(index=2).to_csv(folder / "allen_ephys_features.csv")
    passive = _passive(allen_tables, tmp_path / "passive.csv", [2], ["mouse"])
    out = tmp_path / "fit"
    argv = ["fit", "--allen", str(folder), "--sweeps", str(folder / SWEEP_FILE)]
    assert main([*argv, "--passive", str(passive), "--out", str(out), *FAST]) == 0
    printed = capsys.readouterr().out
    assert "1 cells with sweeps have no row in Allen's tables; their targets come from their " in (
        printed
    )
    assert "targets of 2 cells from Allen's feature table, 1 from their sweeps alone" in printed
    results = pd.read_csv(out / "fit_results.csv").set_index("specimen_id")
    assert results.status.to_dict() == {1: "fitted", 2: "fitted", 3: "fitted"}
    assert results.targets_source.to_dict() == {
        1: "feature_table",
        2: "sweeps",
        3: "feature_table",
    }
    assert results.species.tolist() == ["mouse"] * 3
    # cell 2's features, computed from its sweeps, are those the feature table had
    _assert_cell_features(results, allen_tables, [1, 2, 3])


def test_sweeps_alone_fit_every_cell_that_has_passive_properties(allen_tables, tmp_path):
    passive = _passive(allen_tables, tmp_path / "passive.csv", [1, 2], ["human", None])
    out = tmp_path / "fit"
    argv = ["fit", "--sweeps", str(allen_tables / SWEEP_FILE), "--passive", str(passive)]
    assert main([*argv, "--out", str(out), *FAST]) == 0
    results = pd.read_csv(out / "fit_results.csv").set_index("specimen_id")
    assert results.status.to_dict() == {1: "fitted", 2: "fitted", 3: "unfittable"}
    assert (results.targets_source == "sweeps").all()
    assert results.species.loc[[1, 2]].tolist() == ["human", "unknown"]
    assert (
        "specimen 3: no vrest, ri, tau (the cell has no row in Allen's feature table"
        in (results.reason.loc[3])
    )
    _assert_cell_features(results, allen_tables, [1, 2])
    fitted = results.loc[[1, 2]]
    assert fitted[["tau_m_ms", "V_th_mV", "tau_ahp_ms", "b_ahp_pA", "cost"]].notna().all(axis=None)


def test_without_passive_properties_the_run_fails_naming_them(allen_tables, tmp_path, capsys):
    out = tmp_path / "fit"
    argv = ["fit", "--sweeps", str(allen_tables / SWEEP_FILE), "--out", str(out), *FAST]
    assert main(argv) == 2
    error = capsys.readouterr().err.strip().splitlines()[-1]  # after the fit's progress lines
    assert error.startswith("ahp fit: error: none of the 3 selected cells could be fitted")
    assert "its sweeps hold no voltages; give them in a passive table, `ahp fit --passive`" in (
        error
    )
    assert set(pd.read_csv(out / "fit_results.csv").status) == {"unfittable"}


@pytest.mark.parametrize(
    ("argv", "fragment"),
    [
        ([], "no cells: give --allen DIR"),
        (["--allen", "{allen}", "--passive", "{passive}"], "only cells fitted from their sweeps"),
        (["--sweeps", "{sweeps}", "--passive", "{sweeps}"], "missing column(s) ['vrest'"),
        (["--sweeps", "{sweeps}", "--species", "human"], "species ['human'] matches no cell"),
    ],
)
def test_bad_sweep_only_runs_are_refused(allen_tables, tmp_path, capsys, argv, fragment):
    passive = _passive(allen_tables, tmp_path / "passive.csv", [1], ["mouse"])
    names = {"allen": allen_tables, "passive": passive, "sweeps": allen_tables / SWEEP_FILE}
    argv = [a.format(**names) for a in argv]
    assert main(["fit", *argv, "--out", str(tmp_path / "fit"), *FAST]) == 2
    error = capsys.readouterr().err
    assert error.startswith("ahp fit: error: ") and fragment in error, error
    assert not (tmp_path / "fit").exists()


def test_an_nwb_cell_alone_is_fitted_with_the_passive_properties_of_its_recordings(
    tmp_path, capsys
):
    folder = tmp_path / "nwb"
    folder.mkdir()
    passive_cell(folder / "5.nwb", r_mohm=150.0, tau_ms=20.0)
    out = tmp_path / "fit"
    assert main(["fit", "--nwb", str(folder), "--out", str(out), *FAST]) == 0
    printed = capsys.readouterr().out
    assert "1 cells fitted from their sweeps: 1 from their recordings, 0 from --passive" in printed
    results = pd.read_csv(out / "fit_results.csv").set_index("specimen_id")
    assert results.status.to_dict() == {5: "fitted"}
    assert results.loc[5, "passive_source"] == "recordings"
    assert results.loc[5, "targets_source"] == "sweeps"
    assert results.loc[5, ["tau_m_ms", "cost"]].notna().all()


def test_the_passive_table_wins_over_the_recordings_and_says_so(tmp_path, capsys):
    folder = tmp_path / "nwb"
    folder.mkdir()
    passive_cell(folder / "5.nwb")
    passive = tmp_path / "passive.csv"
    passive.write_text("specimen_id,vrest,ri,tau\n5,-66,210,31\n")
    out = tmp_path / "fit"
    argv = ["fit", "--nwb", str(folder), "--passive", str(passive), "--out", str(out)]
    assert main([*argv, *FAST]) == 0
    printed = capsys.readouterr().out
    assert (
        "--passive: its vrest, ri, tau replace those measured on the recordings of 1 cells (5)"
        in (printed)
    )
    results = pd.read_csv(out / "fit_results.csv").set_index("specimen_id")
    assert results.loc[5, "passive_source"] == "passive_table"
    assert results.status.to_dict() == {5: "fitted"}
