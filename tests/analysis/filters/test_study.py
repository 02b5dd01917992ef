"""A small study end to end: rates matched across variants, every task scored, resumable,
the same seed giving the same table."""

import pandas as pd
import pytest

from analysis.filters import population
from analysis.filters.config import ConfigError, parse_config
from analysis.filters.study import RESULT_COLUMNS, run_study
from analysis.filters.summary import study_summary

SMALL = {
    "name": "small",
    "seeds": [0, 1],
    "simulation": {"dt": "0.5 ms", "backend": "cpp_standalone"},
    "signal": {"duration": "40 s", "hold": "100 ms", "discard": "2 s"},
    "calibration": {"duration": "10 s", "iterations": 4},
    "population": {
        "size": 40,
        "rate": {"distribution": "uniform", "low": "5 Hz", "high": "15 Hz"},
        "parameters": {"tau_ahp": {"distribution": "loguniform", "low": "50 ms", "high": "2 s"},
                       "ahp_charge": "3 pA*second"},
    },
    "tasks": {
        "memory": {"max_delay": "1 s", "step": "200 ms"},
        "integrators": ["500 ms"],
        "volterra": [["0 ms", "100 ms"]],
        "recall": {"delays": ["300 ms"], "trials_per_delay": 130},
    },
}  # fmt: skip


def test_small_study_runs_every_task_resumes_and_repeats(tmp_path, monkeypatch):
    config = parse_config(SMALL)
    results = run_study(config, tmp_path / "run", progress=None)
    assert list(results.columns) == list(RESULT_COLUMNS)
    counts = results.groupby(["seed", "variant"]).size()
    assert (counts == 6 + 1 + 1 + 1).all() and len(counts) == 6  # 2 seeds x 3 variants
    # rate-matched controls: every variant's mean rate within 10 % of the target mean
    signal_rows = results[results["task"] == "memory"]
    ratio = signal_rows["rate_Hz"] / signal_rows["target_rate_Hz"]
    assert ratio.between(0.9, 1.1).all()
    # delay 0 is read out well by every population, the longest delay worse
    memory = signal_rows.pivot_table(index="delay_s", columns="variant", values="r2_test")
    assert (memory.iloc[0] > 0.8).all() and (memory.iloc[-1] < memory.iloc[0]).all()
    # resume: seed 1's part removed, only seed 1 runs again, to the same numbers
    (tmp_path / "run" / "parts" / "seed_1.csv").unlink()
    simulated = []
    original = population.simulate
    monkeypatch.setattr(
        population, "simulate", lambda *a, **k: simulated.append(1) or original(*a, **k)
    )
    again = run_study(config, tmp_path / "run", progress=None)
    assert simulated  # seed 1 ran
    pd.testing.assert_frame_equal(again, results)
    first = (tmp_path / "run" / "parts" / "seed_0.csv").read_bytes()
    # a fresh run of seed 0 alone writes the same bytes
    alone = parse_config({**SMALL, "seeds": [0]})
    run_study(alone, tmp_path / "alone", progress=None)
    assert (tmp_path / "alone" / "parts" / "seed_0.csv").read_bytes() == first
    summary = study_summary(config, results, seconds=10.0)
    assert "## Memory curves" in summary and "## Store and recall" in summary


def test_parts_of_another_config_are_not_mixed(tmp_path):
    config = parse_config({**SMALL, "seeds": [0], "tasks": {"integrators": ["500 ms"]}})
    (tmp_path / "parts").mkdir()
    (tmp_path / "parts" / "config.json").write_text('{"fingerprint": "other", "source": "x"}')
    with pytest.raises(ConfigError, match="holds results of another study config"):
        run_study(config, tmp_path, progress=None)
