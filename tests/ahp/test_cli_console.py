"""The command line as a terminal user meets it: fast help, version, suggestions, no noise."""

from __future__ import annotations

import logging
import subprocess
import sys
from importlib import metadata

import pytest

from ahp.cli import COMMANDS, build_parser, main
from ahp.console import show_progress
from ahp_models.progress import log_progress

PYTHON = [sys.executable, "-c"]


def _run_python(code: str) -> subprocess.CompletedProcess:
    return subprocess.run([*PYTHON, code], capture_output=True, text=True, timeout=120)


def test_help_imports_no_command_and_no_scientific_package():
    # what makes `ahp --help` take seconds: Brian2, numpy and the command modules behind them
    code = (
        "import sys, contextlib, io\n"
        "from ahp.cli import main\n"
        "with contextlib.redirect_stdout(io.StringIO()):\n"
        "    try: main(['--help'])\n"
        "    except SystemExit: pass\n"
        "heavy = [m for m in sys.modules if m.split('.')[0] in "
        "('brian2', 'numpy', 'pandas', 'scipy', 'matplotlib', 'dask', 'ahp_models', 'fitting', "
        "'analysis', 'hardware_mapping')]\n"
        "commands = [m for m in sys.modules if m.endswith('_command')]\n"
        "print(heavy, commands)\n"
    )
    result = _run_python(code)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "[] []"


def test_help_lists_every_command(capsys):
    with pytest.raises(SystemExit) as exit_info:
        main(["--help"])
    assert exit_info.value.code == 0
    listing = capsys.readouterr().out
    for name, command in COMMANDS.items():
        assert name in listing
        assert command.help.split()[0] in listing


def test_version_is_the_installed_distributions(capsys):
    with pytest.raises(SystemExit) as exit_info:
        main(["--version"])
    assert exit_info.value.code == 0
    assert capsys.readouterr().out.strip() == f"ahp {metadata.version('ahp-toolkit')}"


def test_mistyped_command_is_named_with_the_closest_one(capsys):
    with pytest.raises(SystemExit) as exit_info:
        main(["simualte"])
    assert exit_info.value.code == 2
    error = capsys.readouterr().err.splitlines()[-1]
    assert "invalid choice: 'simualte'" in error
    assert "did you mean 'simulate'?" in error


@pytest.mark.parametrize(
    ("argv", "prog", "suggestion"),
    [
        (["simulate", "--amplitudse", "100"], "ahp simulate", "--amplitudes"),
        # a missing required option is not the first thing to blame when one is mistyped
        (["fit", "--limt", "3"], "ahp fit", "--limit"),
        (["network", "run", "rao2022-smnist", "--wrkers", "2"], "ahp network run", "--workers"),
    ],
)
def test_mistyped_option_is_reported_by_its_subcommand_with_a_suggestion(
    argv, prog, suggestion, capsys
):
    with pytest.raises(SystemExit) as exit_info:
        main(argv)
    assert exit_info.value.code == 2
    usage, *_, error = capsys.readouterr().err.splitlines()
    assert usage.startswith(f"usage: {prog} ")  # the subcommand's usage, not the top level's
    assert error.startswith(f"{prog}: error: unrecognized arguments: {argv[-2]}")
    assert error.endswith(f"(did you mean {suggestion}?)")


def test_a_command_parser_declares_only_the_selected_command():
    parser = build_parser("map")
    commands = next(a for a in parser._actions if a.dest == "command")
    declared = {name for name, sub in commands.choices.items() if len(sub._actions) > 1}
    assert declared == {"map"}


def test_user_error_in_a_script_gets_no_brian2_bug_banner():
    # a library user's bad value is their error, not "an unexpected error" of Brian2's
    result = _run_python(
        "from brian2 import ms\nfrom ahp_models import LifAhpParams\nLifAhpParams(tau_m=-1 * ms)"
    )
    assert result.returncode == 1
    assert "ParameterError: LifAhpParams.tau_m = -1 ms" in result.stderr
    assert "Brian 2 encountered an unexpected error" not in result.stderr
    assert "report" not in result.stderr


def test_other_errors_keep_brian2s_hook():
    result = _run_python("import ahp_models\nraise RuntimeError('a bug')")
    assert "Brian 2 encountered an unexpected error" in result.stderr


def test_interrupt_is_one_line_and_status_130(monkeypatch, capsys, tmp_path):
    import ahp.models_command

    def interrupted(args):
        raise KeyboardInterrupt

    monkeypatch.setattr(ahp.models_command, "run", interrupted)
    assert main(["models"]) == 130
    assert capsys.readouterr().err.strip().startswith("ahp models: interrupted;")


class _Terminal:
    """A stream that says it is a terminal, as stderr in an interactive shell does."""

    def __init__(self) -> None:
        self.text = ""

    def write(self, text: str) -> int:
        self.text += text
        return len(text)

    def flush(self) -> None:
        pass

    def isatty(self) -> bool:
        return True


def test_progress_is_a_bar_on_a_terminal_and_lines_elsewhere():
    logger = logging.getLogger("fitting.example")
    terminal = _Terminal()
    with show_progress(terminal):
        for done in range(1, 4):
            log_progress(logger, "fit", done, 3, "cells", f"cell {done} fitted")
        logger.info("all fitted")
    assert "3/3" in terminal.text and "cells" in terminal.text  # tqdm's bar
    assert "cell 1 fitted" not in terminal.text
    assert terminal.text.rstrip().endswith("all fitted")

    class _File(_Terminal):
        def isatty(self) -> bool:
            return False

    log_file = _File()
    with show_progress(log_file):
        for done in range(1, 4):
            log_progress(logger, "fit", done, 3, "cells", f"cell {done} fitted")
    # a log gets the first line, the last, and one every LINE_INTERVAL_S between
    assert log_file.text.splitlines() == ["cell 1 fitted", "cell 3 fitted"]
    # outside a command, the toolkit's log is the application's business
    assert logging.getLogger("fitting").handlers == []


def test_library_code_reports_through_logging_never_print():
    import ast
    from pathlib import Path

    root = Path(__file__).resolve().parents[2]
    printing = []
    for package in ("ahp_models", "analysis", "fitting", "hardware_mapping"):
        for path in sorted((root / package).rglob("*.py")):
            tree = ast.parse(path.read_text("utf-8"))
            printing += [
                f"{path.relative_to(root)}:{node.lineno}"
                for node in ast.walk(tree)
                if isinstance(node, ast.Name) and node.id == "print"
            ]
    assert not printing, f"library code prints (use the module's logger): {printing}"
