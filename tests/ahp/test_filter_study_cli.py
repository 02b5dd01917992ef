"""`ahp filter-study` end to end on a small config: tables, figures and the summary."""

import pandas as pd

from ahp.cli import main

CONFIG = """
name = "tiny"
seeds = [0]
[simulation]
dt = "0.5 ms"
[signal]
duration = "30 s"
hold = "100 ms"
discard = "2 s"
[calibration]
duration = "5 s"
iterations = 2
[population]
size = 20
[controls]
variants = ["ahp", "lif"]
[tasks]
memory = { max_delay = "500 ms", step = "100 ms" }
integrators = ["300 ms"]
[neuron]
duration = "20 s"
trials = 20
frequencies = { low = "0.5 Hz", high = "50 Hz", count = 5 }
max_lag = "1 s"
second_order_lag = "10 ms"
"""


def test_filter_study_writes_tables_figures_and_summary(tmp_path, capsys):
    config = tmp_path / "tiny.toml"
    config.write_text(CONFIG)
    out = tmp_path / "study"
    assert main(["filter-study", str(config), "--out", str(out)]) == 0
    names = {path.name for path in out.iterdir()}
    expected = {
        "results.csv", "memory_summary.csv", "summary.md", "memory_curves.png",
        "task_scores.png", "neuron_response.csv", "neuron_kernel.csv", "neuron_kernel2.csv",
        "neuron_step.csv", "neuron_bode.png", "neuron_kernel.png", "neuron_step.png",
    }  # fmt: skip
    assert expected <= names
    results = pd.read_csv(out / "results.csv")
    assert set(results["variant"]) == {"ahp", "lif"} and len(results) == 2 * (6 + 1)
    second = pd.read_csv(out / "neuron_kernel2.csv", index_col="lag_ms")
    assert second.shape == (10, 10)  # 10 ms of lags at the 1 ms noise hold
    response = pd.read_csv(out / "neuron_response.csv")
    assert len(response) == 5
    # the AHP makes the neuron a high-pass filter: 0.5 Hz passes less than 5 Hz
    assert response["gain_noise"].iloc[0] < 0.8 * response["gain_noise"].iloc[2]
    summary = (out / "summary.md").read_text()
    assert "## Single neuron" in summary and "neuron-steps/s" in summary
    assert "filter-study: wrote" in capsys.readouterr().out
