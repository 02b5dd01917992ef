"""`ahp allen-summary`: adaptation and feature statistics of the Allen Cell Types tables."""

from __future__ import annotations

import argparse
from pathlib import Path

import pandas as pd

from ahp.arguments import path_argument
from ahp_models.files import atomic_write_text
from ahp_models.output_folders import remove_stale_outputs
from analysis.allen_tables import (
    FEATURE_UNITS,
    AllenTableError,
    adaptation_summary,
    feature_quantiles,
    load_cells,
    select,
)

__all__ = ["add_arguments", "run"]

GROUPINGS = ("species", "dendrite_type", "cre_line", "layer", "area")
AI_LEVELS = (0.05, 0.1)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Declare the options of ``ahp allen-summary``."""
    parser.add_argument(
        "--data",
        type=path_argument,
        required=True,
        help="folder with allen_ephys_features.csv and allen_cell_types_specimen_details.csv",
    )
    parser.add_argument("--out", type=path_argument, default=Path("allen_summary"))
    parser.add_argument("--species", choices=("mouse", "human"), help="only this species")
    parser.add_argument(
        "--by",
        default="species,dendrite_type,cre_line",
        help=f"groupings to summarise and draw, comma separated (from {', '.join(GROUPINGS)})",
    )
    parser.add_argument("--top", type=int, default=12, help="largest groups shown per figure")


def run(args: argparse.Namespace) -> dict[str, Path]:
    """Run ``ahp allen-summary``; return the files written."""
    from analysis.figures import plot_feature_distribution, save_figure

    groupings = list(dict.fromkeys(g.strip() for g in args.by.split(",") if g.strip()))
    unknown = sorted(set(groupings) - set(GROUPINGS))
    if unknown or not groupings:
        raise AllenTableError(
            f"--by {args.by!r}: give one or more of {', '.join(GROUPINGS)}, comma separated"
        )
    if args.top < 1:
        raise AllenTableError(f"--top {args.top}: allowed: a whole number >= 1")
    cells = load_cells(args.data)
    if args.species:
        cells = select(cells, species=args.species)
    out: Path = args.out
    written: dict[str, Path] = {}
    summaries = []
    for grouping in groupings:
        summary = adaptation_summary(cells, thresholds=AI_LEVELS, by=grouping)
        summaries.append(summary.rename(columns={grouping: "group"}).assign(grouping=grouping))
        figure = plot_feature_distribution(
            cells,
            "adaptation",
            by=grouping,
            top=args.top,
            thresholds=AI_LEVELS,
            unit=FEATURE_UNITS["adaptation"][0],
        )
        for path in save_figure(figure, out / f"adaptation_by_{grouping}", ("png", "svg")):
            written[path.name] = path
    table = _concat(summaries)
    written["adaptation_summary.csv"] = out / "adaptation_summary.csv"
    atomic_write_text(written["adaptation_summary.csv"], table.to_csv(index=False))
    quantiles = feature_quantiles(cells)
    written["feature_quantiles.csv"] = out / "feature_quantiles.csv"
    atomic_write_text(written["feature_quantiles.csv"], quantiles.to_csv(index=False))
    # figures of groupings an earlier run drew and this one was not asked for
    remove_stale_outputs(out, "allen-summary", [path.name for path in written.values()])
    by_species = table[table.grouping == "species"] if "species" in groupings else table
    print(
        f"{len(cells)} cells from {args.data} ({cells.attrs.get('only_in_features', 0)} only in "
        f"the feature table, {cells.attrs.get('only_in_specimens', 0)} only in the specimen "
        "table, not used)"
    )
    print(by_species.drop(columns="grouping").to_string(index=False, float_format="%.3f"))
    print(quantiles.to_string(index=False, float_format="%.4g"))
    for name, path in written.items():
        print(f"{name:>34}: {path}")
    return written


def _concat(frames: list[pd.DataFrame]) -> pd.DataFrame:
    return pd.concat(frames, ignore_index=True)[
        [
            "grouping",
            "group",
            "n_cells",
            "n_with_ai",
            "median_ai",
            *[c for c in frames[0].columns if c.startswith("frac_ai_gt_")],
        ]
    ]
