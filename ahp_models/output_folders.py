"""Output folders claimed before any work, locked against a second run, and safe file names.

A command that writes results first claims its folder with `claim_output_folder`: the path must
be a folder (new or an earlier run's), and an exclusive lock (``.ahp.lock`` inside it, an
``flock`` the kernel releases when the process ends, even on ``kill -9``) keeps a second run out
while the first is writing. The second run is refused at once, naming the lock and the process
that holds it. Claims are re-entrant within one process, so a command and the library job it
calls can both claim the same folder.

Names that come from users (a population, a study) become file names only through
`safe_file_name`, which refuses anything that could leave the folder: separators, ``..``, a
leading dot, NUL, control characters.
"""

from __future__ import annotations

import contextlib
import fcntl
import functools
import inspect
import json
import os
import re
import socket
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path

from ahp_models.errors import UserError
from ahp_models.files import atomic_write_text

__all__ = [
    "LOCK_NAME",
    "OutputFolderError",
    "check_output_file",
    "claim_output_folder",
    "claims_output_folder",
    "remove_stale_outputs",
    "safe_file_name",
]

LOCK_NAME = ".ahp.lock"
_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.+-]{0,99}")
#: Locks this process holds: lock file -> (descriptor, claims).
_HELD: dict[str, list] = {}


class OutputFolderError(UserError):
    """An output folder or file name that cannot be used, naming the option and the value."""


def safe_file_name(value: object, field: str) -> str:
    """Check a user's name that becomes (part of) a file name in an output folder.

    Parameters
    ----------
    value : object
        The name.
    field : str
        The option or field it came from, for errors (``"--population"``).

    Returns
    -------
    str
        ``value``, unchanged.

    Raises
    ------
    OutputFolderError
        Unless ``value`` is 1-100 letters, digits and ``_.+-``, starting with a letter or digit
        (no separator, no ``..``, no leading dot, no NUL or control character).
    """
    if not isinstance(value, str) or not _NAME.fullmatch(value):
        raise OutputFolderError(
            f"{field} = {value!r}; allowed: 1-100 letters, digits and _.+-, starting with a "
            "letter or digit (a name that stays inside the output folder)"
        )
    return value


def check_output_file(path: str | os.PathLike, option: str = "--out") -> Path:
    """Check, before any work, that a single output file can be written at ``path``.

    Raises
    ------
    OutputFolderError
        For a NUL in the name, a path that is a folder, or a parent that is a file or cannot
        be created.
    """
    text = os.fspath(path)
    if "\0" in text or not text.strip():
        raise OutputFolderError(f"{option} = {text!r}; allowed: a file name")
    target = Path(path)
    if target.is_dir():
        raise OutputFolderError(f"{option} {target}: is a folder; allowed: a file to write")
    if target.exists() and not target.is_file():  # a device, a pipe: never replace one
        raise OutputFolderError(
            f"{option} {target}: is not a regular file (a device or a pipe); allowed: a new "
            "file, or a regular file to replace"
        )
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
    except OSError as err:
        raise OutputFolderError(
            f"{option} {target}: cannot create its folder {target.parent}: {err.strerror}"
        ) from None
    return target


@contextlib.contextmanager
def claim_output_folder(path: str | os.PathLike, option: str = "--out") -> Iterator[Path]:
    """Create (if needed) and lock an output folder for the duration of the block.

    Parameters
    ----------
    path : str or os.PathLike
        The folder: new, or one an earlier run wrote (its finished work is kept).
    option : str
        The option or argument that named it, for errors.

    Yields
    ------
    pathlib.Path
        The folder.

    Raises
    ------
    OutputFolderError
        If the path is a file, cannot be created, or another process holds the folder's lock
        (naming the lock file and that process).
    """
    folder = Path(path)
    text = os.fspath(path)
    if "\0" in text or not text.strip():
        raise OutputFolderError(f"{option} = {text!r}; allowed: a folder name")
    if folder.exists() and not folder.is_dir():
        raise OutputFolderError(
            f"{option} {folder}: is a file; allowed: a folder (new, or one an earlier run wrote)"
        )
    created = not folder.exists()
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as err:
        raise OutputFolderError(f"{option} {folder}: cannot create it: {err.strerror}") from None
    lock = folder / LOCK_NAME
    key = os.path.realpath(lock)
    try:
        if key in _HELD:  # this process claimed it already (a command, then its library job)
            _HELD[key][1] += 1
        else:
            _HELD[key] = [_acquire(lock, option, folder), 1]
    except OutputFolderError:
        _remove_if_unused(folder, created)
        raise
    try:
        yield folder
    finally:
        _HELD[key][1] -= 1
        if _HELD[key][1] == 0:
            descriptor = _HELD.pop(key)[0]
            os.close(descriptor)  # closing releases the flock
            _remove_if_unused(folder, created)


def _remove_if_unused(folder: Path, created: bool) -> None:
    """Remove a folder this claim created if nothing but the lock was written into it (an
    input refused before any work leaves no empty output folder behind)."""
    if not created:
        return
    with contextlib.suppress(OSError):
        if {entry.name for entry in folder.iterdir()} <= {LOCK_NAME}:
            (folder / LOCK_NAME).unlink(missing_ok=True)
            folder.rmdir()


def remove_stale_outputs(folder: str | os.PathLike, command: str, written: list[str]) -> None:
    """Remove the files an earlier run of ``command`` wrote into ``folder`` that this run did
    not write again (a figure no longer asked for), and record what this run wrote.

    Only files named in the earlier run's record (``.ahp-COMMAND-outputs.json``) are removed:
    a user's own files in the folder are never touched, whatever their names.

    Parameters
    ----------
    folder : str or os.PathLike
        The output folder (claimed).
    command : str
        The command (``"simulate"``): each command keeps its own record.
    written : list of str
        File names, relative to ``folder``, that this run wrote.
    """
    record = Path(folder) / f".ahp-{command}-outputs.json"
    try:
        earlier = json.loads(record.read_text(encoding="utf-8"))
        earlier = [name for name in earlier if isinstance(name, str)]
    except (OSError, ValueError, TypeError):  # no earlier run, or an unreadable record
        earlier = []
    for name in set(earlier) - set(written):
        if _NAME.fullmatch(name):  # a record cannot point outside the folder
            (Path(folder) / name).unlink(missing_ok=True)
    atomic_write_text(record, json.dumps(sorted(written)) + "\n")


def claims_output_folder(parameter: str) -> Callable[[Callable], Callable]:
    """Decorate a library job so that it holds its output folder (argument ``parameter``)
    with `claim_output_folder` while it runs."""

    def decorate(function: Callable) -> Callable:
        signature = inspect.signature(function)

        @functools.wraps(function)
        def holding(*args, **kwargs):
            folder = signature.bind(*args, **kwargs).arguments[parameter]
            with claim_output_folder(folder, parameter):
                return function(*args, **kwargs)

        return holding

    return decorate


def _acquire(lock: Path, option: str, folder: Path) -> int:
    try:
        descriptor = os.open(lock, os.O_RDWR | os.O_CREAT, 0o644)
    except OSError as err:
        raise OutputFolderError(f"{option} {folder}: cannot write in it: {err.strerror}") from None
    try:
        fcntl.flock(descriptor, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError:
        holder = os.pread(descriptor, 1000, 0).decode("utf-8", "replace").strip() or "unknown"
        os.close(descriptor)
        raise OutputFolderError(
            f"{option} {folder}: another run is writing into it ({holder}; lock {lock}); "
            "allowed: a folder no other run is using: wait for that run or choose another "
            f"{option}"
        ) from None
    stamp = time.strftime("%Y-%m-%dT%H:%M:%S%z")
    command = " ".join(os.path.basename(a) if i == 0 else a for i, a in enumerate(sys.argv))
    holder = f"process {os.getpid()} on {socket.gethostname()} since {stamp}: {command[:200]}"
    os.ftruncate(descriptor, 0)
    os.pwrite(descriptor, holder.encode("utf-8", "replace") + b"\n", 0)
    return descriptor
