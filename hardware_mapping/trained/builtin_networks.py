"""The built-in trained networks, with their weights located or downloaded."""

from __future__ import annotations

import os
from collections.abc import Callable

from hardware_mapping.trained.data import weights_folder
from hardware_mapping.trained.description import (
    BUILTIN_DESCRIPTIONS,
    BUILTIN_FOLDER,
    DescriptionError,
    NetworkDescription,
    read_description,
)

__all__ = ["builtin_description"]


def builtin_description(
    name: str,
    *,
    cache: str | os.PathLike | None = None,
    offline: bool = False,
    progress: Callable[[str], None] | None = None,
) -> NetworkDescription:
    """Load a built-in description (`BUILTIN_DESCRIPTIONS`) with its weights.

    Parameters
    ----------
    name : str
        ``rao2022-smnist`` (= ``rao2022-smnist-relay``, the published run) or
        ``rao2022-smnist-direct``.
    cache, offline, progress
        Where and whether to download the weights (`hardware_mapping.trained.data`).

    Returns
    -------
    NetworkDescription
        The checked description.
    """
    if name not in BUILTIN_DESCRIPTIONS:
        raise DescriptionError(
            f"no built-in network {name!r}; allowed: {', '.join(BUILTIN_DESCRIPTIONS)}"
        )
    folder = weights_folder(cache=cache, offline=offline, progress=progress)
    return read_description(BUILTIN_FOLDER / BUILTIN_DESCRIPTIONS[name], data_folder=folder)
