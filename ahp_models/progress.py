"""Progress of long work, reported through `logging`.

Library code never prints. Long jobs log one INFO record per finished unit of work through
`log_progress`; the record carries a `Progress` (``record.progress``) so that a front end can
draw a bar instead of a line (the ``ahp`` command does, on a terminal), and a plain logging set-up
(``logging.basicConfig(level=logging.INFO)``) shows the message lines.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

__all__ = ["Progress", "log_progress"]


@dataclass(frozen=True)
class Progress:
    """How far a job is: ``done`` of ``total`` units (``total`` 0 when unknown)."""

    task: str
    done: int
    total: int
    unit: str


def log_progress(
    logger: logging.Logger, task: str, done: int, total: int, unit: str, message: str
) -> None:
    """Log one step of a long job at INFO, with its `Progress` attached.

    Parameters
    ----------
    logger : logging.Logger
        The module's logger.
    task : str
        What the job is, e.g. ``"fit"`` (one bar per task).
    done, total : int
        Units finished so far, and in all (0 when not known).
    unit : str
        What is counted, e.g. ``"cells"``.
    message : str
        The line a plain log shows for this step.
    """
    logger.info(message, extra={"progress": Progress(task, done, total, unit)})
