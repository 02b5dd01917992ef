"""Argument types of the command line that refuse bad values while the options are parsed."""

from __future__ import annotations

import argparse
from pathlib import Path

__all__ = ["path_argument"]


def path_argument(text: str) -> Path:
    """A file or folder option: refused when empty (``Path("")`` would silently mean the
    current folder) or holding a NUL (no file system accepts one)."""
    if not text.strip() or "\0" in text:
        raise argparse.ArgumentTypeError(f"{text!r}: allowed: a file or folder name")
    return Path(text)
