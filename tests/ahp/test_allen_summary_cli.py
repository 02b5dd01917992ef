"""`ahp allen-summary` on the shared tables: fractions, tables and figures."""

import pandas as pd
import pytest

from ahp.cli import main


def test_allen_summary_reproduces_the_fractions_and_draws(allen_dir, tmp_path, capsys):
    out = tmp_path / "summary"
    assert main(["allen-summary", "--data", str(allen_dir), "--out", str(out)]) == 0
    summary = pd.read_csv(out / "adaptation_summary.csv")
    species = summary[summary.grouping == "species"].set_index("group")
    assert species.loc["mouse", "frac_ai_gt_0.1"] == pytest.approx(0.153, abs=0.001)
    assert species.loc["human", "frac_ai_gt_0.1"] == pytest.approx(0.301, abs=0.001)
    assert set(summary.grouping) == {"species", "dendrite_type", "cre_line"}
    for grouping in ("species", "dendrite_type", "cre_line"):
        assert (out / f"adaptation_by_{grouping}.png").read_bytes()[:4] == b"\x89PNG"
        assert "<svg" in (out / f"adaptation_by_{grouping}.svg").read_text()[:500]
    assert "feature_quantiles.csv" in capsys.readouterr().out


def test_allen_summary_of_human_cells_only(allen_dir, tmp_path):
    out = tmp_path / "summary"
    assert main(["allen-summary", "--data", str(allen_dir), "--out", str(out)]) == 0
    assert (out / "adaptation_by_dendrite_type.png").exists()
    args = ["allen-summary", "--data", str(allen_dir), "--out", str(out), "--species", "human"]
    assert main([*args, "--by", "cre_line,cre_line"]) == 0
    summary = pd.read_csv(out / "adaptation_summary.csv")
    assert summary.group.tolist() == ["unknown"]  # humans have no Cre line; counted, not lost
    assert summary.n_cells.tolist() == [413]
    assert not (out / "adaptation_by_dendrite_type.png").exists()  # stale figure removed


@pytest.mark.parametrize(
    ("extra", "fragment"),
    [
        ([], "no such file: none of ['allen_ephys_features.csv'"),
        (["--by", ""], "--by '': give one or more of species"),
        (["--by", "genotype"], "give one or more of species"),
        (["--top", "0"], "--top 0: allowed: a whole number >= 1"),
    ],
)
def test_allen_summary_errors(tmp_path, capsys, extra, fragment):
    args = ["allen-summary", "--data", str(tmp_path), "--out", str(tmp_path / "o"), *extra]
    assert main(args) == 2
    assert fragment in capsys.readouterr().err
