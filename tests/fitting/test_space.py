"""Fit spaces: bounds, the unit-cube mapping, fixed parameters and the rheobase construction."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest
from brian2 import Mohm, mV, pA

from ahp_models import LifAhpInput
from fitting.space import (
    CandidateCells,
    FreeParameter,
    LifAhpInputSpace,
    LifAhpSpace,
    MultiAhpSpace,
    space_for,
)
from fitting.targets import CellTargets


def _targets():
    features = {
        "threshold_i_long_square": 100.0,
        "f_i_curve_slope": 0.2,
        "avg_isi": 50.0,
        "latency": 0.05,
        "adaptation": 0.05,
    }
    return CellTargets(7, features, vrest_mV=-70.0, ri_MOhm=200.0, tau_ms=20.0)


@pytest.mark.parametrize("log", [False, True])
def test_free_parameter_maps_the_unit_interval_onto_its_bounds(log):
    parameter = FreeParameter("x", 2.0, 50.0, log, 10.0)
    assert parameter.physical(np.array([0.0, 1.0])) == pytest.approx([2.0, 50.0])
    assert parameter.physical(np.array([parameter.unit(10.0)]))[0] == pytest.approx(10.0)
    middle = parameter.physical(np.array([0.5]))[0]
    assert middle == pytest.approx(10.0 if log else 26.0)  # geometric vs arithmetic mean


def test_candidates_sit_at_the_cells_rheobase_and_passive_values():
    space = LifAhpSpace()
    unit = np.stack([space.initial_unit(), space.initial_unit(1)])
    params = space.parameters(unit, _targets())
    # (V_th - E_L) / R = rheobase + offset (initial offset -5 pA)
    rheobase = (params.V_th - params.E_L) / params.R
    assert np.asarray(rheobase / pA) == pytest.approx([95.0, 95.0])
    assert np.all(params.E_L == -70 * mV) and np.all(params.R == 200 * Mohm)
    # b_ahp is relative to the rheobase: 0.1 and the first restart point's 0.3
    assert np.asarray(params.b_ahp / pA) == pytest.approx([10.0, 30.0])


def test_refractory_period_is_a_whole_number_of_steps():
    space = LifAhpSpace(dt_ms=0.1)
    unit = np.full((1, len(space.free)), 0.37)
    t_ref_ms = space.membrane(space.physical(unit), _targets())["t_ref"] / 1e-3
    assert float(t_ref_ms[0] * 10) == pytest.approx(round(float(t_ref_ms[0] * 10)))


def test_fixed_parameters_leave_the_search_and_keep_their_value():
    space = space_for("lif_ahp", fixed={"tau_m_scale": 1.0})
    names = [p.name for p in space.free]
    assert "tau_m_scale" not in names and len(names) == len(LifAhpSpace().free) - 1
    params = space.parameters(np.full((3, len(names)), 0.8), _targets())
    assert np.asarray(params.tau_m / 1e-3) == pytest.approx([20.0] * 3)


def test_fixing_an_unknown_or_out_of_range_parameter_is_refused():
    with pytest.raises(ValueError, match="cannot fix 'tau_fast_ms'"):
        space_for("lif_ahp", fixed={"tau_fast_ms": 10.0})
    with pytest.raises(ValueError, match=r"outside its range \[0.2, 5\]"):
        space_for("lif_ahp", fixed={"tau_m_scale": 9.0})
    with pytest.raises(ValueError, match="cannot be fitted; allowed: lif_ahp, lif_multi_ahp"):
        space_for("glif3")


def test_multi_ahp_candidates_have_one_value_per_current():
    space = MultiAhpSpace()
    params = space.parameters(np.full((4, len(space.free)), 0.5), _targets())
    assert params.tau_ahp.shape == (4, 2) and params.b_ahp.shape == (4, 2)


@pytest.mark.parametrize(
    "space", [LifAhpSpace(), MultiAhpSpace(), LifAhpInputSpace()], ids=lambda s: s.model_name
)
def test_candidates_of_many_cells_map_as_each_cell_maps_its_own(space):
    other = dataclasses.replace(_targets(), specimen_id=8, vrest_mV=-65.0, ri_MOhm=90.0)
    other = dataclasses.replace(
        other, tau_ms=11.0, features={**other.features, "threshold_i_long_square": 230.0}
    )
    rng = np.random.default_rng(4)
    units = [rng.uniform(size=(3, len(space.free))) for _ in range(2)]
    together = space.values(np.concatenate(units), CandidateCells.of([_targets(), other], repeat=3))
    alone = [space.values(u, cell) for u, cell in zip(units, [_targets(), other], strict=True)]
    for name, value in together.items():
        joined = np.concatenate([np.asarray(part[name]) for part in alone])
        # the same arithmetic element by element: equal to the last bit
        assert np.array_equal(np.asarray(value), joined), name


def test_a_share_of_the_input_keeps_the_models_rheobase_at_the_cells():
    # the share lowers the membrane's peak response; the threshold makes up for it, so the
    # model's own rheobase (not (V_th - E_L) / R) is the cell's plus the offset
    space = LifAhpInputSpace()
    rng = np.random.default_rng(2)
    unit = rng.uniform(size=(6, len(space.free)))
    unit[:, [p.name for p in space.free].index("input_share")] = np.linspace(0, 1, 6)
    params = space.parameters(unit, _targets())
    offsets = space.physical(unit)["rheobase_offset_pA"]
    rheobase = np.asarray(LifAhpInput().rheobase(params) / pA)
    assert rheobase == pytest.approx(100.0 + offsets, rel=1e-12)
    assert np.asarray(params.input_share) == pytest.approx(np.linspace(0, 0.9, 6))
    # and free_values inverts it, neuron by neuron (t_ref is rounded to whole steps)
    exact = [p.name != "t_ref_ms" for p in space.free]
    for k in range(6):
        one = space.parameters(unit[k : k + 1], _targets())
        free = space.free_values(one.to_row(), _targets())
        assert space.unit_of(free)[exact] == pytest.approx(unit[k][exact], abs=1e-9)


def test_a_lif_ahp_fit_warm_starts_the_share_at_zero():
    first = {"rheobase_offset_pA": -3.0, "tau_m_scale": 1.2, "reset_depth_mV": 9.0,
             "t_ref_ms": 2.0, "tau_ahp_ms": 300.0, "b_ahp_per_rheobase": 0.2}  # fmt: skip
    space = LifAhpInputSpace()
    start = space.physical(space.start_from(first)[None, :])
    assert start["input_share"][0] == 0.0
    for name, value in first.items():
        assert start[name][0] == pytest.approx(value)
    # a first fit whose threshold lies above the cell's rheobase starts at the rheobase: a
    # model silent at the cell's rheobase measures 10-20 pA high on Allen's grid
    above = space.physical(space.start_from({**first, "rheobase_offset_pA": 3.0})[None, :])
    assert above["rheobase_offset_pA"][0] == 0.0
