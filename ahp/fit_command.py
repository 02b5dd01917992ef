"""`ahp fit`: fit AHP neurons to Allen cells, resumably, on local cores or a Dask cluster."""

from __future__ import annotations

import argparse
import importlib.util
import math
from pathlib import Path

import pandas as pd

from ahp.arguments import path_argument
from ahp_models.quantities import QuantityError, positive_time_s
from analysis.allen_tables import load_cells, select
from fitting.batch import FitRunError, fit_database
from fitting.cluster import check_scheduler_address
from fitting.engine import FitSettings
from fitting.nwb import read_nwb_folder
from fitting.report import write_fit_report
from fitting.space import FITTABLE_MODELS
from fitting.sweep_cells import cells_from_sweeps, read_passive_table
from fitting.sweep_tables import read_sweep_table
from fitting.targets import FEATURE_TABLE, NO_PASSIVE, PASSIVE_TABLE, RECORDINGS, SWEEPS

__all__ = ["add_arguments", "add_fit_options", "check_at_least", "fit_settings", "run"]

#: Coarsest search step `--search-step` allows: at 0.5 ms the features of fitted Allen cells stay
#: within half a tolerance of their 0.1 ms values for 90-100 % of cells; much coarser steps
#: round the refractory period and the ISIs of fast cells beyond what the polish can repair.
MAX_SEARCH_STEP_MS = 1.0


def specimen_ids(text: str) -> list[int]:
    """Parse comma-separated specimen ids (an argparse type)."""
    try:
        ids = [int(part) for part in text.split(",") if part.strip()]
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"{text!r}: expected specimen ids, comma separated"
        ) from None
    if not ids or min(ids) < 0 or len(set(ids)) < len(ids):  # "," would select every cell
        raise argparse.ArgumentTypeError(
            f"{text!r}: allowed: one or more distinct specimen ids >= 0, comma separated"
        )
    return ids


def _nwb_sweeps(folder: Path, specimens: list[int] | None) -> dict:
    sweeps = read_nwb_folder(folder, specimens)
    for specimen, table in sweeps.items():
        for sweep, reason in table.attrs["skipped"].items():
            print(f"fit: specimen {specimen}, long square sweep {sweep} left out: {reason}")
    return sweeps


def _has_recorded_passive(sweeps: pd.DataFrame) -> bool:
    """Whether a cell's recordings gave all of vrest, ri and tau (`fitting.nwb` tables)."""
    recorded = sweeps.attrs.get("passive")
    return recorded is not None and all(
        math.isfinite(value) for value in (recorded.vrest_mv, recorded.ri_mohm, recorded.tau_ms)
    )


def _short(ids: list[int], shown: int = 10) -> str:
    """Specimen ids for a message, the first `shown` of them."""
    text = ", ".join(map(str, ids[:shown]))
    return text + (f" and {len(ids) - shown} more" if len(ids) > shown else "")


def _cells(args: argparse.Namespace, sweeps: dict | None) -> pd.DataFrame:
    """Allen's rows (``--allen``) and, for cells with sweeps but no row there, rows computed
    from their sweeps (`fitting.sweep_cells`); ``targets_source`` says which is which."""
    tables = None
    if args.allen is not None:
        tables = load_cells(args.allen).assign(
            targets_source=FEATURE_TABLE, passive_source=FEATURE_TABLE
        )
    if sweeps is None:
        return tables
    listed = set(tables.specimen_id) if tables is not None else set()
    for specimen in sorted(listed & set(sweeps)):
        if sweeps[specimen].empty:  # an NWB file without a usable long square
            print(
                f"fit: specimen {specimen}: no usable long square in its NWB file; fitted to "
                "Allen's table alone"
            )
            del sweeps[specimen]
    alone = sorted(set(sweeps) - listed)
    passive = read_passive_table(args.passive) if args.passive is not None else None
    if passive is not None:
        unused = sorted(set(passive.index) - set(alone))
        if unused:
            print(
                f"fit: --passive: {len(unused)} of its cells have a row in Allen's feature table "
                f"or no sweeps; their values are not used ({_short(unused)})"
            )
    if alone and tables is not None:
        print(
            f"fit: {len(alone)} cells with sweeps have no row in Allen's tables; their targets "
            f"come from their sweeps ({_short(alone)})"
        )
    from_sweeps = cells_from_sweeps({s: sweeps[s] for s in alone}, passive)
    if passive is not None:
        recorded = [s for s in alone if s in passive.index and _has_recorded_passive(sweeps[s])]
        if recorded:
            print(
                f"fit: --passive: its vrest, ri, tau replace those measured on the recordings of "
                f"{len(recorded)} cells ({_short(recorded)})"
            )
    sources = from_sweeps.passive_source.value_counts()
    if len(from_sweeps):
        print(
            f"fit: passive properties of the {len(from_sweeps)} cells fitted from their sweeps: "
            f"{sources.get(RECORDINGS, 0)} from their recordings, "
            f"{sources.get(PASSIVE_TABLE, 0)} from --passive, {sources.get(NO_PASSIVE, 0)} none "
            "(column passive_source)"
        )
    if tables is None or not alone:
        return from_sweeps if tables is None else tables
    return pd.concat([tables, from_sweeps], ignore_index=True)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Declare the options of ``ahp fit``."""
    data = parser.add_argument_group("cells")
    data.add_argument(
        "--allen",
        type=path_argument,
        help="folder with allen_ephys_features.csv and the specimen table (without it, every "
        "cell of --sweeps or --nwb is fitted from its sweeps alone)",
    )
    data.add_argument("--specimen", type=specimen_ids, help="specimen ids, comma separated")
    data.add_argument("--species", choices=("mouse", "human"))
    for name in ("cre-line", "dendrite-type", "layer", "area"):
        data.add_argument(f"--{name}", help=f"only cells with this {name.replace('-', ' ')}")
    data.add_argument("--limit", type=int, help="at most this many cells (after filtering)")
    per_sweep = data.add_mutually_exclusive_group()
    per_sweep.add_argument(
        "--sweeps",
        type=path_argument,
        help="per-sweep table: Allen's spike counts (osb_longsquare_sweeps.csv layout) or the "
        "toolkit's per-sweep features (long_square_sweeps.csv, as the default cohort's): fit "
        "the whole f-I curve of the cells listed there; a cell without a row in Allen's "
        "tables is fitted from its sweeps alone (its features computed with Allen's rules)",
    )
    per_sweep.add_argument(
        "--nwb",
        type=path_argument,
        help="folder of NWB files, Allen's NWB 1.x or NWB 2 (specimen_<id>/ephys.nwb, as `ahp "
        "fetch` writes): "
        "fit the f-I curve, latencies, ISIs and adaptation of every long square they hold",
    )
    data.add_argument(
        "--passive",
        type=path_argument,
        help="passive properties of the cells fitted from their sweeps alone (NWB cells "
        "without it take those measured on their hyperpolarizing long squares, Allen's way; "
        "its values win over those): CSV with specimen_id, vrest (mV), ri (MOhm), tau (ms), "
        "and optionally species (mouse, human), cre_line, dendrite_type, layer, area (else "
        "'unknown')",
    )
    add_fit_options(parser)
    run_group = parser.add_argument_group("run")
    run_group.add_argument("--out", type=path_argument, default=Path("fit_output"))
    run_group.add_argument(
        "--report-cells",
        type=int,
        default=6,
        help="per-cell figures in the report (cells spread from best to worst cost)",
    )
    run_group.add_argument(
        "--workers", type=int, default=0, help="local worker processes (0: this process)"
    )
    run_group.add_argument(
        "--scheduler",
        help="address of a running Dask scheduler (HOST:PORT); its workers need ahp-toolkit, "
        "brian2, cma and numpy at this installation's versions, no shared disk: the cells are "
        "read and the results written here",
    )
    run_group.add_argument("--format", choices=("csv", "parquet"), default="csv")


def add_fit_options(parser: argparse.ArgumentParser) -> None:
    """Declare the fit options (shared with ``ahp pipeline``)."""
    fit = parser.add_argument_group("fit")
    fit.add_argument("--model", choices=sorted(FITTABLE_MODELS), default="lif_ahp")
    fit.add_argument("--seed", type=int, default=0)
    fit.add_argument(
        "--generations",
        type=int,
        default=FitSettings.max_generations,
        help="generations per CMA-ES run",
    )
    fit.add_argument("--popsize", type=int, default=FitSettings.popsize)
    fit.add_argument("--restarts", type=int, default=FitSettings.max_restarts)
    fit.add_argument(
        "--attempts",
        type=int,
        default=FitSettings.attempts,
        help="independent attempts for cells still outside the acceptance tolerances",
    )
    fit.add_argument(
        "--refit-model",
        choices=[*sorted(FITTABLE_MODELS), "none"],
        help="model that refits, from the first fit, the cells it leaves outside a tolerance "
        f"(default: {FitSettings.fallback_model} unless that is --model; 'none': no refit)",
    )
    fit.add_argument(
        "--refit-restarts",
        type=int,
        default=FitSettings.fallback_restarts,
        help="CMA-ES restarts of a refit",
    )
    fit.add_argument(
        "--slots",
        type=int,
        default=FitSettings.slots,
        help="cells fitted side by side in one compiled population per process",
    )
    fit.add_argument(
        "--search-step",
        default=f"{FitSettings.coarse_dt_ms:g}ms",
        help="time step of each cell's search before its best point is polished at the fit's "
        f"{FitSettings.dt_ms:g} ms step (everything reported is measured at {FitSettings.dt_ms:g} "
        f"ms); at most {MAX_SEARCH_STEP_MS:g} ms; 'none': search at {FitSettings.dt_ms:g} ms "
        "throughout (default: %(default)s)",
    )


def _refit_model(args: argparse.Namespace) -> str | None:
    if args.refit_model == "none":
        return None
    if args.refit_model is None:
        default = FitSettings.fallback_model
        return default if default != args.model else None
    if args.refit_model == args.model:
        raise FitRunError(f"--refit-model {args.refit_model}: the model fitted first (--model)")
    return args.refit_model


def check_at_least(*checks: tuple) -> None:
    """Refuse an option outside its range: (name, value, lowest) or (name, value, lowest,
    highest) each; a value of None (not given) passes."""
    for name, value, lowest, *highest in checks:
        if value is not None and value < lowest:
            raise FitRunError(f"{name} {value}: must be at least {lowest}")
        if value is not None and highest and value > highest[0]:
            raise FitRunError(f"{name} {value}: allowed: at most {highest[0]}")


def _search_step_ms(text: str) -> float | None:
    """``--search-step`` in ms (None for ``none``), checked."""
    if text.strip().lower() == "none":
        return None
    allowed = (
        f"allowed: a positive time step with its unit, at most {MAX_SEARCH_STEP_MS:g} ms "
        "(e.g. 0.5ms), or 'none'"
    )
    try:
        step_ms = positive_time_s(text, "--search-step") * 1e3
    except QuantityError:
        raise FitRunError(f"--search-step {text!r}: {allowed}") from None
    if step_ms > MAX_SEARCH_STEP_MS:
        raise FitRunError(f"--search-step {text!r}: {allowed}")
    return step_ms


def fit_settings(args: argparse.Namespace) -> FitSettings:
    """The `FitSettings` of the fit options (`add_fit_options`), checked."""
    check_at_least(  # the highest values bound a run's memory and time, not its quality
        ("--generations", args.generations, 1, 100_000),
        ("--popsize", args.popsize, 2, 10_000),
        ("--slots", args.slots, 1, 1000),
        ("--restarts", args.restarts, 0, 1000),
        ("--attempts", args.attempts, 1, 100),
        ("--refit-restarts", args.refit_restarts, 0, 1000),
        ("--seed", args.seed, 0, 2**32 - 1),
    )
    return FitSettings(
        model=args.model,
        seed=args.seed,
        max_generations=args.generations,
        popsize=args.popsize,
        max_restarts=args.restarts,
        attempts=args.attempts,
        slots=args.slots,
        fallback_model=_refit_model(args),
        fallback_restarts=args.refit_restarts,
        coarse_dt_ms=_search_step_ms(args.search_step),
    )


def run(args: argparse.Namespace) -> Path:
    """Run ``ahp fit``; return the results table's path."""
    settings = fit_settings(args)
    check_at_least(
        ("--limit", args.limit, 1),
        ("--workers", args.workers, 0, 1024),
        ("--report-cells", args.report_cells, 0, 100_000),
    )
    if args.format == "parquet" and importlib.util.find_spec("pyarrow") is None:
        raise FitRunError(
            "--format parquet: Parquet needs pyarrow (pip install 'ahp-toolkit[parquet]'); "
            "allowed here: --format csv"
        )
    if args.scheduler is not None:
        check_scheduler_address(args.scheduler)
    if args.allen is None and args.sweeps is None and args.nwb is None:
        raise FitRunError(
            "no cells: give --allen DIR (Allen's tables), --sweeps FILE or --nwb DIR (cells "
            "fitted from their sweeps), or --allen with one of the others"
        )
    if args.passive is not None and args.sweeps is None and args.nwb is None:
        raise FitRunError(
            f"--passive {args.passive}: only cells fitted from their sweeps read it; allowed "
            "with --sweeps FILE or --nwb DIR"
        )
    sweeps = None
    if args.sweeps:
        sweeps = read_sweep_table(args.sweeps)
    elif args.nwb:
        sweeps = _nwb_sweeps(args.nwb, args.specimen)
    cells = select(
        _cells(args, sweeps),
        species=args.species,
        cre_line=args.cre_line,
        dendrite_type=args.dendrite_type,
        layer=args.layer,
        area=args.area,
    )
    if args.specimen:
        unknown = sorted(set(args.specimen) - set(cells.specimen_id))
        if unknown:
            raise FitRunError(f"--specimen {unknown}: not among the selected cells")
        cells = cells[cells.specimen_id.isin(args.specimen)]
    if sweeps is not None and not args.specimen:
        cells = cells[cells.specimen_id.isin(sweeps)]
    if args.limit:
        cells = cells.head(args.limit)
    if cells.empty:
        source = args.allen or args.sweeps or args.nwb
        raise FitRunError(
            f"the selection {_selection_text(args)} matches no cell of {source}"
            "; allowed: options whose cells exist together (`ahp allen-summary` lists them)"
        )
    sources = cells.targets_source.value_counts()
    print(
        f"fit: targets of {sources.get(FEATURE_TABLE, 0)} cells from Allen's feature table, "
        f"{sources.get(SWEEPS, 0)} from their sweeps alone (column targets_source)"
    )
    results = fit_database(
        cells,
        args.out,
        settings,
        sweeps=sweeps,
        workers=args.workers,
        scheduler=args.scheduler,
        output_format=args.format,
    )
    if not (results["status"] == "fitted").any():  # a run that fitted nothing failed
        first = results.iloc[0]
        raise FitRunError(
            f"none of the {len(results)} selected cells could be fitted (specimen "
            f"{first['specimen_id']}: {first.get('status')}, {first.get('reason', '')}); each "
            f"cell's reason is in {args.out / f'fit_results.{args.format}'}"
        )
    written = write_fit_report(
        results,
        cells,
        args.out,
        sweeps=sweeps,
        cell_figures=args.report_cells,
        dt_ms=settings.dt_ms,
        fixed=dict(settings.fixed),
        run_text=f"{len(results)} cells of {args.allen or args.sweeps or args.nwb} "
        f"({_selection_text(args)}) fitted with "
        f"{settings.model} (refit: {settings.fallback_model or 'none'}), CMA-ES population "
        f"{settings.popsize}, {settings.max_generations} generations, seed {settings.seed}, "
        f"{settings.steps_text()}.",
    )
    quality = pd.read_csv(written[0], index_col="species")
    shown = ["n_cells", "n_fitted", *(c for c in quality.columns if c.startswith("frac_"))]
    print(
        "fit: fractions of cells within tolerance "
        "(AI 0.02, slope and avg_isi 10 %, rheobase 10 pA):"
    )
    print(quality[shown].round(3).to_string())
    print(f"fit: report ({len(written)} files) in {args.out / 'report'}")
    return args.out / f"fit_results.{args.format}"


def _selection_text(args: argparse.Namespace) -> str:
    """The selecting options as given: ``--species human --cre-line Sst-IRES-Cre``."""
    given = [
        f"--{name.replace('_', '-')} {getattr(args, name)}"
        for name in ("species", "cre_line", "dendrite_type", "layer", "area")
        if getattr(args, name) is not None
    ]
    if args.specimen:
        given.append(f"--specimen {','.join(map(str, args.specimen))}")
    if args.sweeps or args.nwb:
        given.append(f"--sweeps {args.sweeps}" if args.sweeps else f"--nwb {args.nwb}")
    return " ".join(given) or "(all cells)"
