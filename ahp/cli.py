"""The ``ahp`` command line.

The parser is built in two steps so that ``ahp --help`` and a mistyped command answer at once:
the top level knows every command by name and help text only, and only the command that runs
(or whose help is asked for) is imported, with Brian2 and the rest of the scientific stack
behind it.
"""

from __future__ import annotations

import argparse
import difflib
import importlib
import os
import sys
from collections.abc import Sequence
from typing import NamedTuple

__all__ = ["COMMANDS", "build_parser", "main"]


class Command(NamedTuple):
    """One ``ahp`` command: the module that declares and runs it, and its help texts."""

    module: str
    help: str
    description: str
    #: the option naming the folder the command writes (claimed before any work), if any
    output_folder: str | None = "out"


COMMANDS: dict[str, Command] = {
    "pipeline": Command(
        "ahp.pipeline_command",
        "the main job: cells -> fits -> Loihi parameter files -> validation -> report",
        "Fit AHP neurons to cells (the built-in synthetic cohort, or Allen's tables with "
        "--allen/--cache), map them to Loihi 1 registers, validate them in the bit-accurate "
        "fixed-point simulator, write the hardware parameter files and an HTML report with its "
        "tables. Every stage resumes where a stopped run left off.",
    ),
    "simulate": Command(
        "ahp.simulate_command",
        "simulate a model on a stimulus protocol",
        "Simulate a catalogue model; write spikes, traces (CSV/NPZ), a summary and a figure.",
    ),
    "allen-summary": Command(
        "ahp.allen_summary_command",
        "adaptation and feature statistics of the Allen Cell Types tables",
        "Fractions of adapting cells and feature quantiles by species and cell class, with "
        "distribution figures (PNG and SVG).",
    ),
    "fit": Command(
        "ahp.fit_command",
        "fit AHP neurons to Allen cells (resumable, parallel)",
        "Fit a selection of Allen cells; checkpoints every cell, resumes a killed run, writes "
        "one results table.",
    ),
    "predict": Command(
        "ahp.predict_command",
        "run fitted cells on long squares at chosen amplitudes",
        "Simulate every fitted cell of an `ahp fit` results table on long squares at the given "
        "amplitudes (the fit's protocol; Allen's 1 s step unless --duration) and write "
        "predictions.csv: spike count, rate, latency, ISIs and adaptation index per cell and "
        "amplitude.",
    ),
    "fetch": Command(
        "ahp.fetch_command",
        "download the Allen Cell Types tables and NWB files into a local cache",
        "Fetch the specimen and feature tables (RMA API) and chosen cells' NWB files; "
        "resumable, checked against sizes and a SHA-256 manifest, with an offline mode.",
        output_folder="cache",
    ),
    "map": Command(
        "ahp.map_command",
        "map fitted cells to Loihi parameter files and validate them",
        "Map fitted cells (an `ahp fit` results table) to Loihi 1 registers at a hardware time "
        "step; write one parameter file per cell or one for the population, the quantization "
        "report, and the validation against the float models.",
    ),
    "validate": Command(
        "ahp.validate_command",
        "run a parameter file against its float models on long squares",
        "Run the registers of a parameter file in the bit-accurate fixed-point simulator and "
        "their source models in Brian2 on the Allen long-square series; report spike-count, "
        "adaptation-index and gamma-factor agreement, energy, and figures.",
    ),
    "export": Command(
        "ahp.export_command",
        "fitted cells and networks in other tools' formats: Allen GLIF3 configs, NIR graphs",
        "Export fitted cells as Allen GLIF3 neuron configs (allensdk, BMTK/SONATA, NEST) or a "
        "network parameter file as a NIR graph.",
        output_folder=None,  # `export glif` declares its own; `export nir` writes a file
    ),
    "filter-study": Command(
        "ahp.filter_study_command",
        "AHP neurons as fading-memory filters: single-neuron filters and population memory vs "
        "LIF and ALIF controls",
        "Run a filter study from a config (TOML/JSON) or a built-in one (reference, demo): "
        "Bode plots and Wiener kernels of one neuron, ridge readouts of delay lines, "
        "integrators, Volterra terms and a recall task from rate-matched populations; results "
        "table, figures and a written summary. Resumes per seed.",
        output_folder=None,  # the folder comes from the config when --out is not given
    ),
    "network": Command(
        "ahp.network_command",
        "trained spiking networks (the paper's sequential MNIST): bit-accurate and float runs, "
        "accuracy, energy, hardware parameter files",
        "Run a trained network described once (a built-in one or a TOML description): the "
        "chip's integer arithmetic and float, or export its hardware parameter file.",
        output_folder=None,  # `network run` declares its own; `network export` writes a file
    ),
    "models": Command(
        "ahp.models_command",
        "list the catalogue's models and the variables they can record",
        "List the catalogue's models, their parameters with units and defaults, and the "
        "variables each can record.",
        output_folder=None,
    ),
}


def toolkit_version() -> str:
    """The installed version of ahp-toolkit."""
    from importlib import metadata  # a tenth of a second: only when the version is asked for

    try:
        return metadata.version("ahp-toolkit")
    except metadata.PackageNotFoundError:  # run from a source tree that was never installed
        return "unknown (not installed)"


class _Parser(argparse.ArgumentParser):
    """An argument parser whose errors suggest the closest valid command or option."""

    #: the arguments being parsed (set by `main`), to name a mistyped option first
    arguments: Sequence[str] = ()

    def error(self, message: str):  # type: ignore[override]
        unknown = self._unknown_options()
        if unknown and message.startswith("the following arguments are required"):
            # a mistyped option is the likelier cause of a "missing" one: name it first
            message = f"unrecognized arguments: {' '.join(unknown)}"
        self.print_usage(sys.stderr)
        self.exit(2, f"{self.prog}: error: {message}{self._suggestion(message)}\n")

    def _unknown_options(self) -> list[str]:
        """Options in the arguments that this parser knows neither whole nor abbreviated."""
        known = [s for action in self._actions for s in action.option_strings]
        return [
            word
            for word in _Parser.arguments
            if word.startswith("--")
            and not any(option.startswith(word.split("=")[0]) for option in known)
        ]

    def _suggestion(self, message: str) -> str:
        if message.startswith("unrecognized arguments:"):
            options = [s for action in self._actions for s in action.option_strings]
            words = message.split(":", 1)[1].split()
            guesses = [
                close[0]
                for word in words
                if word.startswith("-")
                and (close := difflib.get_close_matches(word.split("=")[0], options, n=1))
            ]
            return f" (did you mean {', '.join(guesses)}?)" if guesses else ""
        if "invalid choice:" in message:
            given = message.split("invalid choice:", 1)[1].split("(")[0].strip().strip("'")
            choices = [c for action in self._actions if action.choices for c in action.choices]
            close = difflib.get_close_matches(given, [str(c) for c in choices], n=1)
            return f" (did you mean {close[0]!r}?)" if close else ""
        return ""


class _VersionAction(argparse.Action):
    """``--version``: print the toolkit's version and exit (looked up only then)."""

    def __init__(self, option_strings, dest, **kwargs):
        super().__init__(option_strings, dest, nargs=0, help="show the version and exit")

    def __call__(self, parser, namespace, values, option_string=None):
        print(f"{parser.prog} {toolkit_version()}")
        parser.exit()


def _selected_command(argv: Sequence[str]) -> str | None:
    """The command named in ``argv``: its first argument that is not an option."""
    for argument in argv:
        if not argument.startswith("-"):
            return argument if argument in COMMANDS else None
    return None


def build_parser(selected: str | None = None) -> argparse.ArgumentParser:
    """Return the parser of ``ahp``; only the ``selected`` command's options are declared.

    Parameters
    ----------
    selected : str, optional
        The command whose module is imported and whose options the parser knows. Every other
        command is listed with its help text only.

    Returns
    -------
    argparse.ArgumentParser
        The top-level parser.
    """
    parser = _Parser(
        prog="ahp",
        description="Neurons with after-hyperpolarizing currents, on Brian2.",
        epilog="`ahp COMMAND --help` lists a command's options. The models, Allen's features, "
        "the Loihi arithmetic and the sMNIST network are described in the docs/ folder of "
        "the ahp-toolkit repository.",
    )
    parser.add_argument("--version", action=_VersionAction)
    commands = parser.add_subparsers(dest="command", required=True, parser_class=_Parser)
    for name, command in COMMANDS.items():
        subparser = commands.add_parser(name, help=command.help, description=command.description)
        if name == selected:
            module = importlib.import_module(command.module)
            module.add_arguments(subparser)
            if not _has_subcommands(subparser):  # those declare their own handlers
                subparser.set_defaults(handler=module.run)
            if command.output_folder is not None:
                subparser.set_defaults(output_folder=command.output_folder)
    return parser


def _has_subcommands(parser: argparse.ArgumentParser) -> bool:
    return any(isinstance(action, argparse._SubParsersAction) for action in parser._actions)


def _parse(parser: argparse.ArgumentParser, argv: Sequence[str]) -> argparse.Namespace:
    """Parse ``argv``; an unknown option is reported by the (sub)command it was given to."""
    args, unknown = parser.parse_known_args(argv)
    if unknown:
        innermost = parser
        while True:  # walk down to the deepest subcommand that was chosen
            subparsers = [
                a for a in innermost._actions if isinstance(a, argparse._SubParsersAction)
            ]
            chosen = subparsers and getattr(args, subparsers[0].dest, None)
            if not chosen:
                break
            innermost = subparsers[0].choices[chosen]
        innermost.error(f"unrecognized arguments: {' '.join(unknown)}")
    return args


def main(argv: Sequence[str] | None = None) -> int:
    """Run the ``ahp`` command line; return the exit status."""
    argv = list(sys.argv[1:] if argv is None else argv)
    _Parser.arguments = argv
    args = _parse(build_parser(_selected_command(argv)), argv)
    # imported only now: they bring the toolkit's packages (and Brian2) with them
    import contextlib

    from ahp.console import quiet_third_parties, show_progress
    from ahp_models.errors import UserError
    from ahp_models.output_folders import claim_output_folder

    quiet_third_parties()
    try:
        with contextlib.ExitStack() as claims:
            claims.enter_context(show_progress())
            # claim (and lock) the output folder before any work
            option = getattr(args, "output_folder", None)
            if option is not None and getattr(args, option) is not None:
                folder = getattr(args, option)
                claims.enter_context(claim_output_folder(folder, f"--{option.replace('_', '-')}"))
            args.handler(args)
    except UserError as err:  # anything else is a bug of the toolkit: keep its traceback
        print(f"ahp {args.command}: error: {err}", file=sys.stderr)
        return 2
    except BrokenPipeError:  # the reader of our output went away (`ahp models | head`)
        # Python flushes stdout again at exit: point it at devnull so that raises nothing
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 141
    except KeyboardInterrupt:
        print(
            f"ahp {args.command}: interrupted; finished work is kept (run the same command "
            "again to resume where it can)",
            file=sys.stderr,
        )
        return 130
    return 0


if __name__ == "__main__":
    sys.exit(main())
