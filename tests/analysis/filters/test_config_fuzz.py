"""Fuzzing of study configs: every key of the built-in studies deleted, retyped, given a
hostile value or nested; each result is a `ConfigError` naming the config, or a config every
check passed (whose work is bounded), never another exception."""

from __future__ import annotations

import random

import pytest

from analysis.filters.config import MAX_NEURON_STEPS, ConfigError, example_config, parse_config
from tests.mutations import fields, value_at, with_value, without

HOSTILE = [None, True, -1, 0, 1e300, float("nan"), float("inf"), "", "abc", "-5 s", "1e300 s",
           "nan ms", "5 mV", "../x", [], {}, [1, 2], {"distribution": "weird"},
           "9" * 400]  # fmt: skip


@pytest.mark.parametrize("study", ["reference", "demo"])
def test_every_key_mutation_of_a_study_is_refused_or_checked(study):
    raw = example_config(study)
    rng = random.Random(51)
    cases = []
    for path in (p for p, _ in fields(raw) if p):
        cases.append((f"delete {path}", without(raw, path)))
        for value in rng.sample(HOSTILE, 4):
            cases.append((f"{path} = {value!r}"[:120], with_value(raw, path, value)))
        cases.append((f"nest {path}", with_value(raw, path, [value_at(raw, path)])))
    failures = []
    for label, changed in cases:
        try:
            config = parse_config(changed, source="study.toml")
        except ConfigError as error:
            if not str(error).startswith("study.toml") or "\n" in str(error):
                failures.append(f"{label}: unclear refusal {str(error)[:200]!r}")
            continue
        except Exception as error:  # the point: any other exception is a bug
            failures.append(f"{label}: {type(error).__name__}: {str(error)[:200]}")
            continue
        work = config.population.size * config.duration_s / config.dt_s * len(config.seeds)
        if not work <= MAX_NEURON_STEPS:
            failures.append(f"{label}: accepted {work:.3g} neuron-steps")
    assert len(cases) >= 150
    assert not failures, f"{len(failures)} of {len(cases)} cases:\n" + "\n".join(failures)
