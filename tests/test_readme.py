"""Every command and Python block of the README runs.

The commands run in order, as a user would paste them, in a scratch folder laid out like this
repository's checkout (``../shared/data/allen`` beside it, ``~`` a fresh home). Three kinds are
made small so that the file runs in minutes: fits and pipelines get fewer cells, generations
and restarts (options appended to the README's own, which argparse lets win), filter studies
run their own config with shorter signals and fewer neurons (the README's config is read and
checked in full first), and ``ahp fetch`` talks to a local stand-in of the Allen API
(`tests.fitting.fake_allen_api`) holding the README's cell. ``make`` targets are checked with
``make -n`` (CI runs ``make test`` and ``make demo`` themselves).
"""

from __future__ import annotations

import importlib
import os
import re
import shlex
import subprocess
import tomllib
from pathlib import Path

import pytest

import ahp.filter_study_command
from ahp.cli import main
from analysis.filters.config import BUILTIN_STUDIES, parse_config, read_config
from fitting.allen_api import FEATURE_CRITERIA, NWB_CRITERIA, SPECIMEN_CRITERIA
from tests.fitting.fake_allen_api import FEATURES, NWB_LINK, SPECIMENS, answer, serving
from tests.fitting.nwb_files import silent_then_adapting_cell

ROOT = Path(__file__).resolve().parents[1]
README = ROOT / "README.md"
FAST_FIT = ["--generations", "3", "--restarts", "0", "--popsize", "4", "--slots", "2",
            "--refit-model", "none", "--workers", "0"]  # fmt: skip
#: Options appended to a README command, per subcommand.
SMALLER = {
    "network run": ["--images", "20"],
    "fit": [*FAST_FIT, "--limit", "2", "--report-cells", "1"],
    "pipeline": [*FAST_FIT, "--limit", "1"],
}
#: Values a filter study's config takes here instead of its own (table -> key -> value).
SMALLER_STUDY = {
    "": {"seeds": [0]},
    "signal": {"duration": "20 s", "discard": "2 s"},
    "calibration": {"duration": "4 s", "iterations": 1},
    "population": {"size": 10},
    "tasks": {
        "memory": {"max_delay": "500 ms", "step": "100 ms"},
        "integrators": ["300 ms"],
        "volterra": [["0 ms", "100 ms"]],
    },
    "neuron": {"duration": "5 s", "trials": 2, "max_lag": "300 ms", "second_order_lag": "5 ms",
               "frequencies": {"low": "1 Hz", "high": "20 Hz", "count": 2}},
}  # fmt: skip
README_CELL = 313862167


def readme_blocks() -> tuple[list[str], list[str]]:
    """The README's shell command lines (``ahp``/``make``) and its Python blocks, in order."""
    commands, python = [], []
    fenced, language, block = False, "", []
    for line in README.read_text("utf-8").splitlines():
        if line.startswith("```"):
            if fenced and language == "python":
                python.append("\n".join(block))
            fenced, language, block = not fenced, line[3:].strip(), []
            continue
        if fenced:
            block.append(line)
            if language not in ("", "sh", "bash", "console"):
                continue
            text = line.strip()
        elif line.startswith("    "):
            text = line.strip()
        else:
            continue
        if re.match(r"(ahp|make) ", text) or text in ("ahp", "make"):
            commands.append(text)
    return commands, python


def _smaller_study(path: Path):
    raw = tomllib.loads(path.read_text("utf-8"))
    for table, values in SMALLER_STUDY.items():
        target = raw if not table else raw.setdefault(table, {})
        if table == "tasks":
            target.pop("recall", None)  # too few trials at these sizes to cross-validate
        target.update(values)
    return parse_config(raw, source=f"{path} (made smaller for the README test)", base=path.parent)


@pytest.fixture
def workspace(tmp_path, monkeypatch, allen_dir):
    """A checkout-like scratch folder with the shared data beside it and a fresh home."""
    repo = tmp_path / "repo"
    repo.mkdir()
    (tmp_path / "shared" / "data").mkdir(parents=True)
    (tmp_path / "shared" / "data" / "allen").symlink_to(allen_dir)
    monkeypatch.chdir(repo)
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    monkeypatch.delenv("XDG_CACHE_HOME", raising=False)

    def smaller(config):
        read_config(config)  # the README's config, checked in full
        path = Path(config)
        if not path.suffix and not path.exists():
            path = BUILTIN_STUDIES / f"{path.name}.toml"
        return _smaller_study(path)

    monkeypatch.setattr(ahp.filter_study_command, "read_config", smaller)
    return repo


@pytest.fixture
def allen_api(tmp_path):
    """The stand-in Allen API, serving the README's cell (one adapting NWB long square)."""
    with serving(silent_then_adapting_cell(tmp_path / "cell.nwb")) as api:
        api.queries[FEATURE_CRITERIA] = answer(
            [*FEATURES, {**FEATURES[0], "specimen_id": README_CELL}]
        )
        api.queries[SPECIMEN_CRITERIA] = answer(
            [*SPECIMENS, {**SPECIMENS[0], "specimen__id": README_CELL}]
        )
        files = {"well_known_files": [{"download_link": NWB_LINK}]}
        api.queries[NWB_CRITERIA.format(specimen=README_CELL)] = answer(
            [{"id": README_CELL, "ephys_result": files}]
        )
        yield api


def test_readme_lists_the_tours_commands():
    commands, python = readme_blocks()
    subcommands = {shlex.split(c)[1] for c in commands if c.startswith("ahp ")}
    assert {"pipeline", "fit", "map", "validate", "filter-study", "fetch"} <= subcommands
    assert commands[:2] == ["make demo    # creates .venv, installs the toolkit, runs `ahp "
                            "pipeline` on the built-in cohort (~2-3 min)",
                            "make test    # installs the test extra, runs ruff and pytest (and "
                            "the CUDA build test if nvcc exists)"]  # fmt: skip
    assert len(python) >= 4


@pytest.mark.long  # every tour end to end: minutes (make test-long)
def test_every_readme_command_runs(workspace, allen_api, capsys):
    commands, _ = readme_blocks()
    ran = []
    for line in commands:
        words = shlex.split(line, comments=True)
        if words[0] == "make":
            done = subprocess.run(["make", "-n", *words[1:]], cwd=ROOT, capture_output=True)
            assert done.returncode == 0, (line, done.stderr.decode())
            continue
        words = [os.path.expanduser(w) for w in words[1:]]
        words += SMALLER.get(" ".join(words[:2]), SMALLER.get(words[0], []))
        if words[0] == "fetch":
            words += ["--api", allen_api.url]
        status = main(words)
        output = capsys.readouterr()
        assert status == 0, f"{line}\n{output.err[-2000:]}"
        ran.append(words[0])
    assert len(ran) >= 15
    # what the tours promise is there
    assert Path("allen_pipeline/report/index.html").is_file()
    assert Path("hardware/human20.json").is_file() and Path("checked/energy.csv").is_file()
    assert Path("filter_reference/results.csv").is_file()
    assert Path("nwb_fit/fit_results.csv").is_file()


def test_every_readme_python_block_runs(tmp_path, monkeypatch):
    _, python = readme_blocks()
    monkeypatch.chdir(tmp_path)
    for index, block in enumerate(python):
        try:
            exec(compile(block, f"README.md python block {index + 1}", "exec"), {})
        except Exception as error:  # name the block in the failure
            raise AssertionError(f"README python block {index + 1} fails: {error!r}") from error


def test_every_name_of_the_python_api_list_imports():
    text = README.read_text("utf-8")
    section = text.split("## Python API", 1)[1].split("\n### ", 1)[0]
    names = re.findall(r"`((?:ahp_models|analysis|fitting|hardware_mapping)(?:\.\w+)+)`", section)
    assert len(names) > 40
    missing = []
    for name in names:
        parts = name.split(".")
        for split in range(len(parts), 0, -1):  # the longest importable module prefix
            try:
                target = importlib.import_module(".".join(parts[:split]))
            except ImportError:
                continue
            break
        try:
            for attribute in parts[split:]:
                target = getattr(target, attribute)
        except AttributeError:
            missing.append(name)
    assert not missing, f"README's Python API names that do not import: {missing}"


def _anchor(heading: str) -> str:
    """GitHub's anchor of a Markdown heading."""
    text = re.sub(r"[^\w\- ]", "", heading.strip().lower())
    return text.replace(" ", "-")


def test_links_to_the_docs_resolve():
    pages = [README, *sorted((ROOT / "docs").glob("*.md"))]
    broken = []
    for page in pages:
        for target in re.findall(r"\]\(((?:docs/)?[\w./-]+\.md(?:#[\w-]+)?)\)", page.read_text()):
            path, _, anchor = target.partition("#")
            linked = (page.parent / path).resolve()
            if not linked.is_file():
                broken.append(f"{page.name}: {target}")
                continue
            headings = re.findall(r"^#+ (.+)$", linked.read_text("utf-8"), re.M)
            if anchor and anchor not in {_anchor(h) for h in headings}:
                broken.append(f"{page.name}: {target}")
    assert not broken, broken
