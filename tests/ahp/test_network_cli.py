"""`ahp network run` and `ahp network export` on a small description of one's own."""

from __future__ import annotations

import json
import tomllib

import numpy as np
import pandas as pd

from ahp.cli import main
from hardware_mapping.parameter_files import read_network_file
from tests.hardware_mapping.trained.conftest import small_network


def _toml(value, indent=""):
    if isinstance(value, str):
        return json.dumps(value)
    if isinstance(value, list):
        return "[" + ", ".join(_toml(v) for v in value) + "]"
    if isinstance(value, dict):
        return "{" + ", ".join(f"{k} = {_toml(v)}" for k, v in value.items()) + "}"
    return repr(value)


def write_description(folder, raw, name="small.toml"):
    lines = []
    for key, value in raw.items():
        if isinstance(value, list) and value and isinstance(value[0], dict):
            for item in value:
                lines.append(f"[[{key}]]")
                lines += [f"{k} = {_toml(v)}" for k, v in item.items()]
        elif isinstance(value, dict):
            lines.append(f"[{key}]")
            lines += [f"{k} = {_toml(v)}" for k, v in value.items()]
        else:
            lines.insert(0, f"{key} = {_toml(value)}")
    path = folder / name
    path.write_text("\n".join(lines) + "\n")
    assert tomllib.loads(path.read_text()) == raw
    return path


def test_run_writes_tables_figure_and_parameter_file(tmp_path, capsys):
    description = write_description(tmp_path, small_network(tmp_path))
    rng = np.random.default_rng(1)
    np.save(tmp_path / "x.npy", rng.integers(0, 10, size=(30, 12)))
    np.save(tmp_path / "y.npy", rng.integers(0, 3, size=30))
    out = tmp_path / "run"
    status = main(["network", "run", str(description), "--samples", str(tmp_path / "x.npy"),
                   "--labels", str(tmp_path / "y.npy"), "--images", "all", "--arithmetic",
                   "both", "--out", str(out), "--batch", "7"])  # fmt: skip
    printed = capsys.readouterr()
    assert status == 0, printed.err
    assert "fixed: accuracy" in printed.out and "float: accuracy" in printed.out
    summary = pd.read_csv(out / "summary.csv")
    assert list(summary["run"]) == ["fixed", "float"]
    predictions = pd.read_csv(out / "predictions.csv")
    assert len(predictions) == 30 and list(predictions["sample"]) == list(range(30))
    assert {"prediction_fixed", "prediction_float", "correct_fixed"} <= set(predictions)
    confusion = pd.read_csv(out / "confusion_fixed.csv", index_col=0)
    assert confusion.to_numpy().sum() == 30
    assert confusion.to_numpy().trace() == predictions["correct_fixed"].sum()
    assert summary.loc[0, "accuracy"] == predictions["correct_fixed"].mean()
    disagree = pd.read_csv(out / "disagreements.csv")
    assert (
        len(disagree) == (predictions["prediction_fixed"] != predictions["prediction_float"]).sum()
    )
    assert (out / "sample.png").stat().st_size > 10_000
    mapped = read_network_file(out / "network.json")
    assert mapped.inputs == {"pixels": 8}
    # the parameter file runs the same registers
    again = tmp_path / "again"
    assert main(["network", "run", str(description), "--samples", str(tmp_path / "x.npy"),
                 "--labels", str(tmp_path / "y.npy"), "--images", "12", "--out", str(again),
                 "--parameters", str(out / "network.json")]) == 0  # fmt: skip
    rerun = pd.read_csv(again / "predictions.csv").set_index("sample")
    first = predictions.set_index("sample").loc[rerun.index]
    assert (rerun["prediction_fixed"] == first["prediction_fixed"]).all()


def test_a_stopped_run_resumes_from_its_finished_chunks(tmp_path, capsys, monkeypatch):
    description = write_description(tmp_path, small_network(tmp_path))
    rng = np.random.default_rng(2)
    np.save(tmp_path / "x.npy", rng.integers(0, 10, size=(25, 12)))
    np.save(tmp_path / "y.npy", rng.integers(0, 3, size=25))
    out = tmp_path / "run"
    command = ["network", "run", str(description), "--samples", str(tmp_path / "x.npy"),
               "--labels", str(tmp_path / "y.npy"), "--images", "all", "--out", str(out),
               "--chunk", "10"]  # fmt: skip
    assert main(command) == 0
    whole = pd.read_csv(out / "predictions.csv")
    summary = pd.read_csv(out / "summary.csv")
    chunks = sorted((out / "checkpoints" / "fixed").glob("chunk_*.npz"))
    assert [c.name for c in chunks] == ["chunk_000000.npz", "chunk_000010.npz", "chunk_000020.npz"]
    # stopped after the first chunk: the others are gone; the rerun runs only those
    for chunk in chunks[1:]:
        chunk.unlink()
    import ahp.network_command as command_module

    calls = []
    original = command_module.run_fixed_point
    monkeypatch.setattr(command_module, "run_fixed_point",
                        lambda d, v, **o: calls.append(len(v)) or original(d, v, **o))  # fmt: skip
    assert main(command) == 0
    assert calls == [10, 5, 1]  # two chunks and the figure's sample; the first was read back
    pd.testing.assert_frame_equal(pd.read_csv(out / "predictions.csv"), whole)
    pd.testing.assert_frame_equal(pd.read_csv(out / "summary.csv"), summary)
    capsys.readouterr()
    # other samples into the same folder are refused, not mixed in
    np.save(tmp_path / "x.npy", rng.integers(0, 10, size=(25, 12)))
    assert main(command) == 2
    assert "holds the chunks of another run" in capsys.readouterr().err


def test_export_and_user_errors_exit_with_a_message(tmp_path, capsys):
    raw = small_network(tmp_path)
    description = write_description(tmp_path, raw)
    assert main(["network", "export", str(description), "--out", str(tmp_path / "n.json")]) == 0
    assert read_network_file(tmp_path / "n.json").resources.compartments == 6 * 2 + 5 + 3
    raw["projections"][1]["exponent"] = 12
    bad = write_description(tmp_path, raw, "bad.toml")
    assert main(["network", "export", str(bad), "--out", str(tmp_path / "m.json")]) == 2
    error = capsys.readouterr().err
    assert "projections[1].exponent = 12" in error and "-8..7" in error
    assert not (tmp_path / "m.json").exists()
    assert main(["network", "run", "no-such-network", "--out", str(tmp_path / "r0")]) == 2
    assert "rao2022-smnist" in capsys.readouterr().err
    assert main(["network", "run", str(description), "--out", str(tmp_path / "r")]) == 2
    assert "give --samples and --labels" in capsys.readouterr().err
    np.save(tmp_path / "x.npy", np.full((4, 12), 3))
    for labels, words in ((np.array([0, 1, 2, 3]), "values 0..3; allowed: integer classes 0..2"),
                          (np.array([0.5, 1, 2, 0]), "dtype float64"),
                          (np.array(2), "shape ()")):  # fmt: skip
        np.save(tmp_path / "y.npy", labels)
        command = ["network", "run", str(description), "--samples", str(tmp_path / "x.npy"),
                   "--labels", str(tmp_path / "y.npy"), "--out", str(tmp_path / "r")]  # fmt: skip
        assert main(command) == 2
        error = capsys.readouterr().err
        assert f"--labels {tmp_path / 'y.npy'}" in error and words in error
    np.save(tmp_path / "x.npy", np.full((4, 12), 11))
    assert main(command) == 2
    assert f"--samples {tmp_path / 'x.npy'}: sample 0 value 0 = 11; allowed: 0..9" in (
        capsys.readouterr().err
    )
