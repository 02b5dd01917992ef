"""What the NWB 1.x and NWB 2 readers share: their error, opening a file, reading a text value."""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator
from pathlib import Path

import h5py
import numpy as np

from ahp_models.errors import UserError

__all__ = ["NwbError", "open_nwb", "text"]


class NwbError(UserError):
    """An NWB file that cannot be read: truncated, not HDF5, or not in a layout the toolkit
    reads (Allen's NWB 1.x sweeps, NWB 2 current-clamp series)."""


@contextlib.contextmanager
def open_nwb(path: str | os.PathLike) -> Iterator[h5py.File]:
    """Open an NWB file for reading; a missing or damaged file is an `NwbError`.

    Parameters
    ----------
    path : str or os.PathLike
        The file.

    Yields
    ------
    h5py.File
        The open file (closed after the block).
    """
    path = Path(path)
    if not path.is_file():
        raise NwbError(f"{path}: no such file")
    try:
        file = h5py.File(path, "r")
    except OSError as err:
        raise NwbError(
            f"{path}: not readable as HDF5 ({err}); a truncated or interrupted download looks "
            "like this: delete the file and download it again"
        ) from None
    with file:
        yield file


def text(value: h5py.Dataset | np.ndarray | bytes | str) -> str:
    """A text dataset or attribute as ``str``.

    Parameters
    ----------
    value : h5py.Dataset, numpy.ndarray, bytes or str
        What HDF5 stores: bytes or str, scalar or in a 1-element array.

    Returns
    -------
    str
        The text.
    """
    value = value[()] if isinstance(value, h5py.Dataset) else value
    if isinstance(value, np.ndarray):
        value = value.item() if value.size == 1 else value.tolist()
    return value.decode() if isinstance(value, bytes) else str(value)
