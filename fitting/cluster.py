"""Dask workers for whole-database fits: a quiet local cluster, or a running scheduler.

A run's tasks take plain data (cell targets, settings, first fits) and return records; only the
calling process reads and writes files (`fitting.batch`). A scheduler's workers therefore need
nothing on disk in common with the caller, not even a working directory: they need ahp-toolkit
installed at the caller's version, and the same brian2, cma and numpy, since those make the
numbers (`check_worker_versions` refuses other versions before any work).
"""

from __future__ import annotations

import contextlib
import importlib.metadata
import logging
import re
from collections.abc import Iterator, Mapping
from typing import TYPE_CHECKING

from ahp_models.errors import UserError

if TYPE_CHECKING:  # dask is imported only by runs that use it (it takes a second to import)
    from dask.distributed import Client

__all__ = [
    "MATCHED_PACKAGES",
    "SchedulerError",
    "check_scheduler_address",
    "check_worker_versions",
    "dask_client",
    "installed_versions",
]

#: Packages a worker must have at the caller's version: the toolkit runs the tasks, the others
#: decide the fits' numbers (a resumed or distributed run gives the numbers of a local one).
MATCHED_PACKAGES = ("ahp-toolkit", "brian2", "cma", "numpy")

logger = logging.getLogger(__name__)


class SchedulerError(UserError, RuntimeError):
    """A Dask scheduler that cannot run the fit (bad address, unreachable, other versions)."""


def check_scheduler_address(address: str) -> None:
    """Refuse a Dask scheduler address that is not ``[tcp://|tls://]HOST:PORT`` before any
    work (connecting is tried when the fit starts).

    Raises
    ------
    SchedulerError
        Naming the address and the form allowed.
    """
    match = re.fullmatch(
        r"(?:(tcp|tls|inproc|ucx)://)?([A-Za-z0-9_.\-]+|\[[0-9a-fA-F:]+\]):(\d+)", address
    )
    if match is None or not 0 < int(match.group(3)) < 65536:
        raise SchedulerError(
            f"--scheduler {address!r}; allowed: a Dask scheduler address HOST:PORT, e.g. "
            "tcp://127.0.0.1:8786"
        )


def installed_versions() -> dict[str, str | None]:
    """The versions of `MATCHED_PACKAGES` installed for this process.

    Returns
    -------
    dict
        Package -> version (None: not installed).
    """
    versions: dict[str, str | None] = {}
    for name in MATCHED_PACKAGES:
        try:
            versions[name] = importlib.metadata.version(name)
        except importlib.metadata.PackageNotFoundError:
            versions[name] = None
    return versions


def check_worker_versions(client: Client, expected: Mapping[str, str | None] | None = None) -> None:
    """Refuse workers whose `MATCHED_PACKAGES` differ from this process's.

    Workers that join later are not checked (a task they cannot run fails with its error).

    Parameters
    ----------
    client : dask.distributed.Client
        A client of the scheduler.
    expected : mapping, optional
        Package -> version the workers must have (default: `installed_versions` here).

    Raises
    ------
    SchedulerError
        Naming the worker, the package, its version there and the one allowed.
    """
    expected = installed_versions() if expected is None else expected
    found = client.run(installed_versions, on_error="return")
    if not found:
        logger.warning(
            "fit: the scheduler %s has no worker yet; the tasks wait for workers to join",
            client.scheduler.address,
        )
    for worker, versions in sorted(found.items()):
        if isinstance(versions, BaseException):  # e.g. the toolkit is not installed there
            raise SchedulerError(
                f"--scheduler {client.scheduler.address}: worker {worker} cannot run the "
                f"toolkit ({type(versions).__name__}: {versions}); allowed: workers with "
                f"ahp-toolkit {expected.get('ahp-toolkit')} installed"
            )
        for name, version in expected.items():
            if versions.get(name) != version:
                raise SchedulerError(
                    f"--scheduler {client.scheduler.address}: worker {worker} has {name} "
                    f"{versions.get(name)}; allowed: {name} {version}, as here (the workers "
                    f"need {', '.join(MATCHED_PACKAGES)} at this process's versions)"
                )


@contextlib.contextmanager
def dask_client(workers: int, scheduler: str | None = None) -> Iterator[Client]:
    """A client of a new local cluster, or of a running scheduler; closed on leaving.

    Parameters
    ----------
    workers : int
        Without ``scheduler``: a LocalCluster of this many single-threaded processes. Its
        dashboard takes a free port on 127.0.0.1 (no "port 8787 is already in use" warning
        beside another cluster) and only errors of Dask's own log reach the terminal.
    scheduler : str, optional
        Address of a running Dask scheduler (its workers are checked with
        `check_worker_versions`).

    Yields
    ------
    dask.distributed.Client
        The client.

    Raises
    ------
    SchedulerError
        If the scheduler cannot be reached or its workers have other versions.
    """
    from dask.distributed import Client, LocalCluster

    with contextlib.ExitStack() as stack:
        if scheduler is None:
            cluster = LocalCluster(
                n_workers=workers,
                threads_per_worker=1,
                processes=True,
                dashboard_address="127.0.0.1:0",
                silence_logs=logging.ERROR,  # in this process and the workers
            )
            stack.callback(cluster.close)
            client = Client(cluster)
        else:
            try:
                client = Client(scheduler, timeout="20s")
            except (OSError, ValueError, TimeoutError) as error:
                raise SchedulerError(
                    f"--scheduler {scheduler}: cannot connect ({error}); allowed: the address of "
                    "a running Dask scheduler, e.g. tcp://host:8786"
                ) from None
        stack.callback(client.close)
        if scheduler is not None:
            check_worker_versions(client)
        yield client
