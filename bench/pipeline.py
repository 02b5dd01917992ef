"""Wall time of `ahp pipeline`, stage by stage: the default cohort (what `make demo` runs), and
with --allen the first N real cells of each species.

Prints each stage's share of the run, so a slow stage shows as a ratio of the whole run in the
same process, and the total against the goal (the default cohort in < 5 min on a 2-core
machine). Every run starts from an empty output folder.

Usage: python bench/pipeline.py [--allen DIR --limit 50] [--workers 2] [--out DIR]
"""

from __future__ import annotations

import argparse
import shutil
import time
from pathlib import Path

from ahp.pipeline import PipelineSettings, run_pipeline

GOAL_S = 300.0  # make demo, after installation


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--allen", type=Path, help="Allen tables (default: the built-in cohort)")
    parser.add_argument("--limit", type=int, help="cells per species")
    parser.add_argument("--workers", type=int, default=0)
    parser.add_argument("--out", type=Path, default=Path(".cache/bench_pipeline"))
    args = parser.parse_args()
    shutil.rmtree(args.out, ignore_errors=True)
    marks: list[tuple[float, str]] = []
    start = time.perf_counter()

    def progress(line: str) -> None:
        marks.append((time.perf_counter() - start, line))
        print(f"{marks[-1][0]:7.1f} s  {line}", flush=True)

    settings = PipelineSettings(
        allen=None if args.allen is None else str(args.allen), limit=args.limit
    )
    run = run_pipeline(settings, args.out, workers=args.workers, progress=progress)
    total = time.perf_counter() - start
    # where each stage ends: (line prefix, first or last such line)
    stages = {
        "cells": ("fit: ", 0),
        "fit": ("fit: results", -1),
        "map": ("map: ", -1),
        "validate": ("report: drawing", 0),
        "report": ("pipeline: finished", -1),
    }
    print(f"\n{len(run.cells)} cells, {len(run.mapped)} mapped, {total:.1f} s in all")
    previous = 0.0
    for stage, (prefix, which) in stages.items():
        ends = [t for t, line in marks if line.startswith(prefix)]
        if ends:
            end = ends[which]
            print(f"  {stage:9s} {end - previous:6.1f} s ({(end - previous) / total:5.1%})")
            previous = end
    if args.allen is None:
        print(f"default cohort: {total:.0f} s, {total / GOAL_S:.0%} of the 5 min goal")


if __name__ == "__main__":
    main()
