"""Flags of fitted values: at a bound of the search, or not fixed by the 1 s step."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from fitting.fit_flags import (
    ADAPTATION_FLOOR,
    BOUND_FRACTION,
    FLAG_COLUMNS,
    NEGLIGIBLE_INCREMENT,
    SLOW_AHP_FACTOR,
    cell_flags,
    flag_table,
    flags_text,
)
from fitting.space import LifAhpSpace, MultiAhpSpace
from fitting.targets import WIDTH_S
from tests.fitting.fit_rows import cell_row, cell_targets, row_at, row_of_unit


@pytest.mark.parametrize("space", [LifAhpSpace(dt_ms=0.1), MultiAhpSpace(dt_ms=0.1)])
def test_free_values_invert_the_spaces_mapping(space):
    targets = cell_targets()
    rng = np.random.default_rng(3)
    for unit in rng.uniform(0, 1, (20, len(space.free))):
        physical = {name: float(v[0]) for name, v in space.physical(unit).items()}
        recovered = space.free_values(row_of_unit(space, targets, unit), targets)
        assert set(recovered) == set(physical)
        # the refractory period is a whole number of steps, at least one
        physical["t_ref_ms"] = max(round(physical["t_ref_ms"] / 0.1), 1) * 0.1
        for name, value in physical.items():
            assert recovered[name] == pytest.approx(value, rel=1e-9, abs=1e-9), name


def test_a_fit_inside_the_range_of_an_adapting_cell_has_no_flag():
    targets = cell_targets()
    assert cell_flags(row_at(LifAhpSpace(), targets), targets, LifAhpSpace()) == []


@pytest.mark.parametrize(
    ("unit", "flagged"),
    [(1.0, True), (1 - BOUND_FRACTION / 2, True), (1 - 2 * BOUND_FRACTION, False)],
)
def test_a_time_constant_at_the_upper_bound_is_flagged(unit, flagged):
    space, targets = LifAhpSpace(), cell_targets()
    point = space.initial_unit()
    point[[p.name for p in space.free].index("tau_ahp_ms")] = unit
    flags = [
        f
        for f in cell_flags(row_of_unit(space, targets, point), targets, space)
        if f.kind == "at_bound"
    ]
    if not flagged:
        assert flags == []
        return
    (flag,) = flags
    assert (flag.column, flag.parameter, flag.summary) == (
        "tau_ahp_ms",
        "tau_ahp_ms",
        "at upper search bound",
    )
    # log parameter: the distance is measured in decades of the range 10 ms .. 30 s
    assert flag.value == pytest.approx(10 * 3000**unit)
    assert "30000" in flag.note


def test_a_rheobase_offset_at_its_lower_bound_is_flagged_on_the_threshold_column():
    space, targets = LifAhpSpace(), cell_targets()
    (flag,) = cell_flags(row_at(space, targets, rheobase_offset_pA=-15.0), targets, space)
    assert (flag.column, flag.kind, flag.summary) == (
        "V_th_mV",
        "at_bound",
        "at lower search bound",
    )
    assert flag.value == pytest.approx(-15.0)


def test_a_time_constant_far_beyond_the_step_is_not_identifiable():
    space, targets = LifAhpSpace(), cell_targets()
    limit_ms = SLOW_AHP_FACTOR * WIDTH_S * 1e3
    assert cell_flags(row_at(space, targets, tau_ahp_ms=0.98 * limit_ms), targets, space) == []
    (flag,) = cell_flags(row_at(space, targets, tau_ahp_ms=21000.0), targets, space)
    assert (flag.column, flag.kind) == ("tau_ahp_ms", "unidentifiable")
    assert flag.value == pytest.approx(21000.0)
    # the step sees the current lose 1 - exp(-1/5) of itself
    assert f"{1 - math.exp(-1 / SLOW_AHP_FACTOR):.0%}" == "18%"
    assert "18%" in flag.note


def test_a_cell_that_hardly_adapts_leaves_both_ahp_parameters_loose():
    space = LifAhpSpace()
    for adaptation, expected in (
        (ADAPTATION_FLOOR / 2, {"tau_ahp_ms", "b_ahp_pA"}),
        (ADAPTATION_FLOOR, set()),
        (np.nan, set()),  # not measured: not judged
    ):
        targets = cell_targets(adaptation)
        flags = cell_flags(row_at(space, targets), targets, space)
        assert {f.column for f in flags if f.kind == "unidentifiable"} == expected


@pytest.mark.parametrize(
    ("increment", "loose"), [(0.0, True), (NEGLIGIBLE_INCREMENT, True), (0.05, False)]
)
def test_an_ahp_current_that_hardly_acts_leaves_its_time_constant_loose(increment, loose):
    space, targets = MultiAhpSpace(), cell_targets()
    row = row_at(space, targets, b_slow_per_rheobase=increment, tau_fast_ms=300.0)
    flags = cell_flags(row, targets, space)
    assert [(f.column, f.kind) for f in flags] == [
        ("tau_ahp_1_ms", "at_bound"),  # the fast current's upper bound
        *([("tau_ahp_2_ms", "unidentifiable")] if loose else []),
    ]
    # an increment of 0 is an answer (no current), not a limit of the search


def test_flag_table_lists_the_flags_of_every_fitted_cell():
    space = LifAhpSpace()
    slow, plain = cell_targets(specimen=1), cell_targets(specimen=2)
    rows = [
        {"status": "fitted", **row_at(space, slow, tau_ahp_ms=30000.0)},
        {"status": "fitted", **row_at(space, plain)},
        {"specimen_id": 3, "status": "unfittable", "model": np.nan},
    ]
    cells = pd.DataFrame([cell_row(slow, "mouse"), cell_row(plain, "human")])
    table = flag_table(pd.DataFrame(rows), cells)
    assert list(table.columns) == list(FLAG_COLUMNS)
    assert list(zip(table.specimen_id, table.kind, strict=True)) == [
        (1, "at_bound"),
        (1, "unidentifiable"),
    ]
    assert flags_text(table, 1) == "tau_ahp_ms at upper search bound; tau_ahp_ms not identifiable"
    assert flags_text(table, 2) == ""
    with pytest.raises(ValueError, match="specimen 1 is fitted but not among the cells"):
        flag_table(pd.DataFrame(rows), cells.iloc[1:])
