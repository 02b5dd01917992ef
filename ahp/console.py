"""What ``ahp`` shows on the terminal: the toolkit's log, progress bars, nothing else's noise."""

from __future__ import annotations

import contextlib
import logging
import sys
import warnings
from collections.abc import Iterator

from tqdm import tqdm

from ahp_models.progress import Progress

__all__ = ["quiet_third_parties", "show_progress"]

#: the toolkit's packages; their INFO records are what a command reports
TOOLKIT_LOGGERS = ("ahp", "ahp_models", "analysis", "fitting", "hardware_mapping")


class _ProgressHandler(logging.Handler):
    """Shows progress records as bars on a terminal, and every other record as a line."""

    #: without bars (a log file, CI), a job's progress line at most this often, and its last
    LINE_INTERVAL_S = 10.0

    def __init__(self, stream, bars: bool) -> None:
        super().__init__(logging.INFO)
        self.stream = stream
        self.use_bars = bars
        self.bars: dict[str, tqdm] = {}
        self.last_line: dict[str, float] = {}
        self.setFormatter(logging.Formatter("%(message)s"))

    def _skip_line(self, progress: Progress, created: float) -> bool:
        last = self.last_line.get(progress.task)
        finished = progress.total and progress.done >= progress.total
        if last is not None and not finished and created - last < self.LINE_INTERVAL_S:
            return True
        self.last_line[progress.task] = created
        return False

    def emit(self, record: logging.LogRecord) -> None:
        progress: Progress | None = getattr(record, "progress", None)
        if progress is not None and not self.use_bars and self._skip_line(progress, record.created):
            return
        if progress is None or not self.use_bars:
            line = self.format(record)
            if self.bars:
                tqdm.write(line, file=self.stream)
            else:
                print(line, file=self.stream, flush=True)
            return
        bar = self.bars.get(progress.task)
        if bar is None:
            bar = self.bars[progress.task] = tqdm(
                total=progress.total or None,
                desc=progress.task,
                unit=f" {progress.unit}",
                file=self.stream,
                dynamic_ncols=True,
                leave=True,
            )
        bar.n = progress.done
        bar.refresh()
        if progress.total and progress.done >= progress.total:
            bar.close()
            del self.bars[progress.task]

    def close(self) -> None:
        for bar in self.bars.values():
            bar.close()
        self.bars.clear()
        super().close()


@contextlib.contextmanager
def show_progress(stream=None) -> Iterator[None]:
    """Show the toolkit's INFO log on ``stream`` (stderr), progress as bars on a terminal.

    Parameters
    ----------
    stream : file, optional
        Where to write; standard error by default. Bars are drawn only when it is a terminal;
        elsewhere (a log file, CI) each step is one line.
    """
    stream = stream or sys.stderr
    handler = _ProgressHandler(stream, bars=stream.isatty())
    loggers = [logging.getLogger(name) for name in TOOLKIT_LOGGERS]
    saved = [(logger.level, logger.propagate) for logger in loggers]
    for logger in loggers:
        logger.addHandler(handler)
        logger.setLevel(logging.INFO)
        logger.propagate = False
    try:
        yield
    finally:
        for logger, (level, propagate) in zip(loggers, saved, strict=True):
            logger.removeHandler(handler)
            logger.setLevel(level)
            logger.propagate = propagate
        handler.close()


def quiet_third_parties() -> None:
    """Keep other libraries' chatter off the terminal of a command.

    - Brian2's excepthook blames Brian2 for any uncaught exception ("please report this issue");
      an uncaught exception in ``ahp`` is a bug of the toolkit, shown as a plain traceback.
    - Dask's scheduler, nanny and worker loggers report cluster housekeeping (ports, restarts,
      closing comms) at INFO and WARNING; only their errors matter to a user.
    """
    if "brian2" in sys.modules:
        sys.excepthook = sys.__excepthook__
    for name in ("distributed", "bokeh", "tornado"):
        logging.getLogger(name).setLevel(logging.ERROR)
    # Dask asks for the dashboard port even when the toolkit turns the dashboard off
    warnings.filterwarnings("ignore", message="Port .* is already in use", category=UserWarning)
