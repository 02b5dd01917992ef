"""Reading and summarising the Allen tables: the database's summaries reproduced, bad tables
refused."""

import numpy as np
import pandas as pd
import pytest

from analysis.allen_tables import (
    FEATURE_FILE,
    SPECIMEN_FILE,
    AllenTableError,
    adaptation_summary,
    feature_quantiles,
    load_cells,
    read_ephys_features,
    read_specimens,
    select,
)


def test_reproduces_the_published_database_figures(allen_dir):
    cells = load_cells(allen_dir)
    assert len(cells) == 2333
    assert cells.species.value_counts().to_dict() == {"mouse": 1920, "human": 413}
    summary = adaptation_summary(cells).set_index("species")
    # Allen's table: AI > 0.1 in 15 % of mouse and 30 % of human cells; > 0.05 in 28 % and 54 %.
    # Exactly: 260/1698, 86/286, 483/1698 and 153/286 (53.497 %, 54 % when rounded)
    counts = {"mouse": (1698, 260, 483), "human": (286, 86, 153)}
    for species, (n_with_ai, above_01, above_005) in counts.items():
        row = summary.loc[species]
        assert row.n_with_ai == n_with_ai
        assert row["frac_ai_gt_0.1"] * n_with_ai == pytest.approx(above_01)
        assert row["frac_ai_gt_0.05"] * n_with_ai == pytest.approx(above_005)
    medians = feature_quantiles(cells).set_index(["species", "feature"]).q50
    expected = {  # medians of Allen's table, to the digits we keep
        ("mouse", "adaptation"): 0.023,
        ("human", "adaptation"): 0.055,
        ("mouse", "avg_isi"): 59,
        ("human", "avg_isi"): 74,
        ("mouse", "f_i_curve_slope"): 0.21,
        ("human", "f_i_curve_slope"): 0.11,
        ("mouse", "threshold_i_long_square"): 110,
        ("human", "threshold_i_long_square"): 120,
        ("mouse", "tau"): 16.4,
        ("human", "tau"): 24.1,
        ("mouse", "ri"): 167,
        ("human", "ri"): 118,
    }
    for key, value in expected.items():
        assert medians[key] == pytest.approx(value, rel=0.02), key
    pvalb = select(cells, cre_line="Pvalb-IRES-Cre")
    assert pvalb.adaptation.median() == pytest.approx(0.003, abs=0.001)


def write_tables(folder, features=None, specimens=None):
    features = (
        features
        if features is not None
        else pd.DataFrame(
            {
                "specimen_id": [1, 2, 3],
                "adaptation": [0.2, np.nan, 0.01],
                "avg_isi": [50.0, 80.0, 20.0],
                "latency": [0.03, 0.1, 0.02],
                "f_i_curve_slope": [0.2, 0.1, 0.5],
                "threshold_i_long_square": [100.0, 150.0, 50.0],
                "tau": [15.0, 20.0, 10.0],
                "ri": [150.0, 100.0, 200.0],
                "vrest": [-70.0, -72.0, -65.0],
            }
        )
    )
    specimens = (
        specimens
        if specimens is not None
        else pd.DataFrame(
            {
                "specimen__id": [1, 2, 3],
                "donor__species": ["Mus musculus", "Homo Sapiens", "Mus musculus"],
                "structure__layer": ["5", "2/3", "4"],
                "tag__dendrite_type": ["spiny", "spiny", "aspiny"],
                "line_name": ["Rbp4-Cre_KL100", None, "Pvalb-IRES-Cre"],
                "structure_parent__acronym": ["VISp", "MTG", "VISp"],
            }
        )
    )
    features.to_csv(folder / FEATURE_FILE, index=False)
    specimens.to_csv(folder / SPECIMEN_FILE, index=False)
    return features, specimens


def test_small_tables_join_and_select(tmp_path):
    write_tables(tmp_path)
    cells = load_cells(tmp_path)
    assert list(cells.specimen_id) == [1, 2, 3]
    assert list(select(cells, species="mouse").specimen_id) == [1, 3]
    assert list(select(cells, dendrite_type=["aspiny"], area="VISp").specimen_id) == [3]
    summary = adaptation_summary(cells).set_index("species")
    assert summary.loc["mouse", "n_with_ai"] == 2 and summary.loc["human", "n_with_ai"] == 0
    assert summary.loc["mouse", "frac_ai_gt_0.1"] == 0.5
    with pytest.raises(AllenTableError, match=r"cre_line \['Sst'\] matches no cell"):
        select(cells, cre_line="Sst")


def test_cells_without_a_class_form_an_unknown_group(allen_dir):
    cells = load_cells(allen_dir)
    by_cre = adaptation_summary(cells, by="cre_line").set_index("cre_line")
    assert by_cre.n_cells.sum() == len(cells)  # nobody dropped
    assert by_cre.loc["unknown", "n_cells"] == cells.cre_line.isna().sum() >= 413  # all humans
    with pytest.raises(AllenTableError, match="cannot group by 'lineage'"):
        adaptation_summary(cells, by="lineage")
    with pytest.raises(AllenTableError, match=r"unknown feature\(s\) \['sag'\]"):
        feature_quantiles(cells, features=["sag"])


def test_layers_stay_text_and_ids_must_match(tmp_path):
    features, specimens = write_tables(tmp_path)
    specimens["structure__layer"] = ["5", None, "4"]  # numeric-looking with a gap
    write_tables(tmp_path, features, specimens)
    cells = load_cells(tmp_path)
    assert list(select(cells, layer="5").specimen_id) == [1]
    specimens["specimen__id"] = ["1", "2", "x3"]
    write_tables(tmp_path, features, specimens)
    with pytest.raises(AllenTableError, match="specimens table has specimen id 'x3'"):
        load_cells(tmp_path)
    features.loc[3] = features.loc[0]
    features.loc[3, "specimen_id"] = 99  # a cell with features but no specimen entry
    write_tables(tmp_path, features, specimens.assign(specimen__id=[1, 2, 3]))
    cells = load_cells(tmp_path)
    assert len(cells) == 3 and cells.attrs["only_in_features"] == 1


def test_json_records_are_read(tmp_path):
    features, _ = write_tables(tmp_path)
    features.to_json(tmp_path / "features.json", orient="records")
    assert read_ephys_features(tmp_path / "features.json").shape == features.shape


@pytest.mark.parametrize(
    ("change", "fragment"),
    [
        (lambda f, s: f.drop(columns="latency"), r"missing column\(s\) \['latency'\]"),
        (
            lambda f, s: f.assign(latency=f.latency * 1000),
            r"column 'latency' \(unit s\), specimen 1: 30 is outside \[0, 1\] s; .*ms instead of s",
        ),
        (
            lambda f, s: f.assign(tau=f.tau.astype(object).where(f.index != 1, "fast")),
            r"column 'tau', specimen 2: 'fast' is not a number",
        ),
        (lambda f, s: pd.concat([f, f.iloc[[0]]]), "lists specimen 1 twice"),
        (
            lambda f, s: f.assign(f_i_curve_slope=[0.1, np.inf, 0.2]),
            r"column 'f_i_curve_slope' .* specimen 2: inf is outside",
        ),
    ],
)
def test_bad_feature_tables(tmp_path, change, fragment):
    features, specimens = write_tables(tmp_path)
    write_tables(tmp_path, change(features, specimens), specimens)
    with pytest.raises(AllenTableError, match=fragment):
        load_cells(tmp_path)


def test_bad_specimen_tables(tmp_path):
    _, specimens = write_tables(tmp_path)
    specimens.loc[0, "donor__species"] = "Rattus norvegicus"
    specimens.to_csv(tmp_path / SPECIMEN_FILE, index=False)
    with pytest.raises(AllenTableError, match=r"donor__species' holds \['Rattus norvegicus'\]"):
        read_specimens(tmp_path / SPECIMEN_FILE)
    with pytest.raises(AllenTableError, match=r"missing: no such file: none of \['allen_ephys"):
        load_cells(tmp_path / "missing")


def test_json_records_and_allensdk_file_names_load_like_csv(tmp_path):
    (tmp_path / "csv").mkdir()
    features, specimens = write_tables(tmp_path / "csv")
    expected = load_cells(tmp_path / "csv")
    # what `fitting.allen_api` caches: the API's JSON records
    cached = tmp_path / "cache"
    cached.mkdir()
    features.to_json(cached / "allen_ephys_features.json", orient="records")
    specimens.to_json(cached / "allen_cell_types_specimen_details.json", orient="records")
    pd.testing.assert_frame_equal(load_cells(cached), expected)
    # allensdk CellTypesCache's names: ephys_features.csv and cells.json
    sdk = tmp_path / "sdk"
    sdk.mkdir()
    features.to_csv(sdk / "ephys_features.csv", index=False)
    specimens.to_json(sdk / "cells.json", orient="records")
    pd.testing.assert_frame_equal(load_cells(sdk), expected)
