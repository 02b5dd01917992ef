"""``ahp models``: the catalogue's models and what they can record."""

from __future__ import annotations

import argparse

from ahp.simulate_command import describe_models


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """``ahp models`` takes no options."""


def run(args: argparse.Namespace) -> None:
    """Print the catalogue."""
    print(describe_models())
