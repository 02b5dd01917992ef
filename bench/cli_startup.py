"""Start-up time of the ``ahp`` command line: ``ahp --help`` and ``ahp --version``.

Each command is run as a fresh process ``--repeats`` times (median taken), beside
``python -c pass`` in the same loop (the interpreter's own start-up, the floor no command can go
under), and printed as seconds and as a ratio to that floor. Goal: ``ahp --help`` under 1 s on a
quiet machine.

Usage: python bench/cli_startup.py [--repeats 5]
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import time

COMMANDS = {
    "python -c pass": [sys.executable, "-c", "pass"],
    "ahp --help": [sys.executable, "-m", "ahp.cli", "--help"],
    "ahp --version": [sys.executable, "-m", "ahp.cli", "--version"],
    "ahp fitt (mistyped)": [sys.executable, "-m", "ahp.cli", "fitt"],
}


def wall_seconds(command: list[str]) -> float:
    start = time.perf_counter()
    subprocess.run(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=False)
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args()
    times: dict[str, list[float]] = {name: [] for name in COMMANDS}
    for _ in range(args.repeats):  # interleaved, so load changes hit every command alike
        for name, command in COMMANDS.items():
            times[name].append(wall_seconds(command))
    floor = statistics.median(times["python -c pass"])
    print(f"{'command':<22} {'median s':>9} {'x python -c pass':>17}")
    for name, runs in times.items():
        median = statistics.median(runs)
        print(f"{name:<22} {median:9.3f} {median / floor:17.1f}")


if __name__ == "__main__":
    main()
