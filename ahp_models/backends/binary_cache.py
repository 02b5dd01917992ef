"""Reuse compiled C++ standalone binaries across processes (opt-in, ``AHP_BINARY_CACHE``).

Each process compiles its own standalone projects (`StandaloneSimulator`), and a project takes
seconds of compiler time even when another process compiled the very same sources a moment
before (worker processes, a resumed run, a command started again). When the environment variable
``AHP_BINARY_CACHE`` names a folder, a project's ``main`` binary is stored there under the
SHA-256 of everything that goes into it (every generated source and header, the makefile with its
flags, and the compiler), and a later project with the same digest copies the binary instead of
compiling. Equal digests mean equal compiler inputs, so the copy is the binary the compiler would
have produced; any change of model, size, steps, layout, flags or compiler changes the digest.
Binaries are stored atomically (written under a temporary name, then renamed), so processes
sharing the folder never read a partial one; two that miss at once both compile. The folder
belongs to one machine: the flags hold ``-march=native``, not the processor they meant.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import tempfile
from pathlib import Path
from typing import Any

from brian2.codegen.cpp_prefs import get_compiler_and_args

__all__ = ["CACHE_VARIABLE", "cache_folder", "compile_or_reuse"]

#: The environment variable naming the cache folder (unset or empty: no cache).
CACHE_VARIABLE = "AHP_BINARY_CACHE"
#: What goes into the binary: generated sources and headers, and the makefile (its flags).
_SOURCE_SUFFIXES = {".c", ".cpp", ".h", ".hpp"}
_MAKEFILE = "makefile"
#: The binary Brian2's makefile links (``PROGRAM = main``).
_PROGRAM = "main"


def cache_folder() -> Path | None:
    """The folder ``AHP_BINARY_CACHE`` names, or None when it is unset or empty (POSIX only:
    Brian2's Windows build is another program)."""
    value = os.environ.get(CACHE_VARIABLE, "")
    if not value or os.name != "posix":
        return None
    return Path(value)


def compile_or_reuse(device: Any, directory: Path, folder: Path) -> bool:
    """Give a generated, not yet compiled C++ standalone project its ``main`` binary.

    Parameters
    ----------
    device : brian2.devices.cpp_standalone.CPPStandaloneDevice
        The device that generated the project (``build(compile=False)``); it compiles on a miss.
    directory : pathlib.Path
        The project directory.
    folder : pathlib.Path
        The cache folder (created if missing).

    Returns
    -------
    bool
        True if the binary was copied from the cache, False if it was compiled (and stored).
    """
    stored = folder / f"{_digest(directory)}-{_PROGRAM}"
    target = directory / _PROGRAM
    if stored.is_file():
        shutil.copy2(stored, target)  # keeps the execute permission
        return True
    compiler, _ = get_compiler_and_args()
    device.compile_source(str(directory), compiler, False, False)
    folder.mkdir(parents=True, exist_ok=True)
    handle, partial = tempfile.mkstemp(prefix=f".{stored.name}.", dir=folder)
    os.close(handle)
    try:
        shutil.copy2(target, partial)
        os.replace(partial, stored)
    finally:
        if os.path.exists(partial):
            os.remove(partial)
    return False


def _digest(directory: Path) -> str:
    """SHA-256 of the compiler inputs: sources, headers, makefile (paths and contents) and
    the compiler that make runs (path, size and modification time)."""
    digest = hashlib.sha256()
    inputs = sorted(
        path
        for path in directory.rglob("*")
        if path.is_file() and (path.suffix in _SOURCE_SUFFIXES or path.name == _MAKEFILE)
    )
    for path in inputs:
        digest.update(path.relative_to(directory).as_posix().encode() + b"\0")
        digest.update(path.read_bytes() + b"\0")
    compiler = shutil.which(os.environ.get("CXX", "g++"))
    if compiler is not None:
        stat = os.stat(compiler)
        digest.update(f"{os.path.realpath(compiler)}:{stat.st_size}:{stat.st_mtime_ns}".encode())
    return digest.hexdigest()
