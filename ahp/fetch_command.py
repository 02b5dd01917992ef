"""`ahp fetch`: download the Allen Cell Types tables and NWB files into a local cache."""

from __future__ import annotations

import argparse
from pathlib import Path

from ahp.arguments import path_argument
from ahp.fit_command import specimen_ids
from fitting.allen_api import API_URL, AllenCache, default_cache_folder

__all__ = ["add_arguments", "run"]


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Declare the options of ``ahp fetch``."""
    parser.add_argument(
        "--cache",
        type=path_argument,
        default=default_cache_folder(),
        help="cache folder (default: %(default)s)",
    )
    parser.add_argument(
        "--nwb",
        type=specimen_ids,
        default=[],
        help="also fetch these cells' ephys.nwb files (specimen ids, comma separated)",
    )
    parser.add_argument("--api", default=API_URL, help="API base URL (default: %(default)s)")
    parser.add_argument(
        "--offline", action="store_true", help="use only the cache; report what is missing"
    )
    parser.add_argument("--timeout", type=float, default=60.0, help="seconds per request")


def run(args: argparse.Namespace) -> Path:
    """Run ``ahp fetch``; return the cache folder."""
    cache = AllenCache(args.cache, api_url=args.api, offline=args.offline, timeout_s=args.timeout)
    folder = cache.tables()
    for specimen in args.nwb:
        cache.nwb(specimen)
    print(f"fetch: the Allen tables are in {folder}: `ahp fit --allen {folder}`")
    if args.nwb:
        print(f"fetch: {len(args.nwb)} NWB file(s) too: `ahp fit --allen {folder} --nwb {folder}`")
    return folder
