"""Parameter sets: units, ranges, shapes, JSON files; every error names field and range."""

import json

import numpy as np
import pytest
from brian2 import Mohm, ms, mV, nS, pA

from ahp_models import MODELS, LifAhpParams, MultiAhpParams, ParameterError, get_model
from ahp_models.catalogue import model_for_params


def test_wrong_units_name_parameter_and_range():
    with pytest.raises(
        ParameterError, match=r"LifAhpParams\.tau_m .*wrong units.*\[1e-06, 1e\+09\] ms"
    ):
        LifAhpParams(tau_m=20 * mV)


def test_negative_time_constant():
    with pytest.raises(ParameterError) as info:
        LifAhpParams(tau_ahp=-5 * ms)
    message = str(info.value)
    assert "LifAhpParams.tau_ahp = -5 ms" in message
    assert "outside the allowed range [1e-06, 1e+09] ms" in message


def test_nan_names_the_element():
    with pytest.raises(ParameterError, match=r"b_ahp\[1\] = nan pA is not finite"):
        LifAhpParams(b_ahp=np.array([1.0, np.nan]) * pA)


def test_unknown_model_name():
    with pytest.raises(ParameterError, match="unknown model 'lif_ahpp'; available: lif_ahp"):
        get_model("lif_ahpp")


def test_unknown_parameter_name():
    with pytest.raises(ParameterError, match=r"unknown parameter\(s\) \['tau_mm'\]; allowed: E_L"):
        LifAhpParams.from_dict({"tau_mm": "20 ms"})


def test_relations_between_fields():
    with pytest.raises(ParameterError, match="V_reset must lie below V_th"):
        LifAhpParams(V_reset=-40 * mV, V_th=-50 * mV)


def test_voltage_given_in_wrong_scale_is_caught():
    # -70 V instead of -70 mV
    with pytest.raises(ParameterError, match=r"E_L = -70000 mV .*\[-200, 100\] mV"):
        LifAhpParams(E_L=-70000 * mV)


def test_per_neuron_values_broadcast():
    params = LifAhpParams(tau_ahp=np.array([100.0, 200.0, 300.0]) * ms)
    assert params.n_neurons == 3
    arrays = params.si_arrays(3)
    assert np.allclose(arrays["tau_ahp"], [0.1, 0.2, 0.3])
    assert np.allclose(arrays["tau_m"], 0.02)
    with pytest.raises(ParameterError, match="holds values for 3 neurons but the population has 4"):
        params.si_arrays(4)
    with pytest.raises(ParameterError, match="disagree on the number of neurons"):
        LifAhpParams(tau_ahp=np.ones(3) * ms, b_ahp=np.ones(2) * pA)


def test_per_current_shapes():
    params = MultiAhpParams(
        tau_ahp=np.array([[10.0, 100.0], [20.0, 200.0]]) * ms, b_ahp=np.array([1.0, 2.0]) * pA
    )
    assert params.n_currents == 2
    assert params.n_neurons == 2
    assert params.si_arrays(2)["b_ahp"].shape == (2, 2)
    with pytest.raises(ParameterError, match="disagree on the number of currents"):
        MultiAhpParams(tau_ahp=np.ones(3) * ms, b_ahp=np.ones(2) * pA)
    with pytest.raises(ParameterError, match="n_currents=3 got parameters for 2 currents"):
        get_model("lif_multi_ahp", n_currents=3).check_params(params)


def test_stack_makes_a_heterogeneous_population():
    sets = [LifAhpParams(b_ahp=b * pA) for b in (1.0, 2.0, 3.0)]
    stacked = LifAhpParams.stack(sets)
    assert stacked.n_neurons == 3
    assert np.allclose(stacked.b_ahp / pA, [1, 2, 3])


@pytest.mark.parametrize("name", sorted(MODELS))
def test_json_round_trip_of_every_model(tmp_path, name):
    model = get_model(name)
    params = model.default_params()
    path = tmp_path / "params.json"
    params.to_json(path)
    loaded = type(params).from_json(path)
    for field_name in params.specs():
        assert np.array_equal(
            np.asarray(getattr(loaded, field_name)), np.asarray(getattr(params, field_name))
        )
    assert model_for_params(loaded) == model


@pytest.mark.parametrize("name", sorted(MODELS))
def test_table_row_round_trip_of_every_model(name):
    params = get_model(name).default_params()
    row = params.to_row()
    loaded = type(params).from_row({**row, "specimen_id": 7, "cost": 0.5})  # others ignored
    for field_name in params.specs():
        assert np.allclose(
            np.asarray(getattr(loaded, field_name)),
            np.asarray(getattr(params, field_name)),
            rtol=1e-15,
            atol=0,
        ), field_name
    with pytest.raises(ParameterError, match=r"fits\.csv: no column"):
        type(params).from_row(
            {k: v for k, v in row.items() if k != next(iter(row))}, source="fits.csv"
        )


def test_malformed_json_file(tmp_path):
    path = tmp_path / "broken.json"
    path.write_text('{"model": "lif_ahp", "parameters": {"tau_m": "20 ms",}}')
    with pytest.raises(ParameterError, match=r"broken\.json: malformed JSON at line 1, column"):
        LifAhpParams.from_json(path)


def test_json_errors_name_the_file_and_field(tmp_path):
    path = tmp_path / "cell.json"
    path.write_text(
        json.dumps({"model": "lif_ahp", "parameters": {"R": {"value": -3, "unit": "Mohm"}}})
    )
    with pytest.raises(
        ParameterError, match=r"cell\.json: LifAhpParams\.R = -3 Mohm .*\[1e-06, 1e\+09\] Mohm"
    ):
        LifAhpParams.from_json(path)
    path.write_text(json.dumps({"model": "alif", "parameters": {}}))
    with pytest.raises(ParameterError, match="parameters are for model 'alif', expected 'lif_ahp'"):
        LifAhpParams.from_json(path)
    path.write_text('{"parameters": {"tau_m": NaN}}')
    with pytest.raises(ParameterError, match=r"parameters\.tau_m = NaN .*allowed: finite"):
        LifAhpParams.from_json(path)


def test_describe_lists_units_and_ranges():
    table = LifAhpParams(R=100 * Mohm).describe()
    row = table.set_index("parameter").loc["R"]
    assert (
        row["value"] == "100" and row["unit"] == "Mohm" and row["allowed"] == "[1e-06, 1e+09] Mohm"
    )


def test_other_models_validate_their_fields():
    with pytest.raises(ParameterError, match=r"delta_g = -1 nS"):
        get_model("lif_cond_ahp").params_class(delta_g=-1 * nS)
    with pytest.raises(
        ParameterError, match=r"asc_r\[0\] = 2 is outside the allowed range \[0, 1\]"
    ):
        get_model("glif3").params_class(asc_r=np.array([2.0, 1.0]))


def test_axis_scale_follows_each_fields_sign_and_dimension():
    """Log axes for positive scales; linear for potentials, signed values and fractions."""
    scales = {
        name: {field: spec.axis_scale for field, spec in model.params_class.specs().items()}
        for name, model in MODELS.items()
    }
    assert scales["lif_ahp"] == {
        "E_L": "linear",
        "R": "log",
        "tau_m": "log",
        "V_th": "linear",
        "V_reset": "linear",
        "t_ref": "log",
        "tau_ahp": "log",
        "b_ahp": "log",
    }
    assert scales["glif3"]["th_inf"] == "linear"  # a potential above E_L, though positive
    assert scales["glif3"]["asc_amp"] == "linear"  # signed
    assert scales["glif3"]["asc_r"] == "linear"  # a fraction in [0, 1]
    assert scales["glif3"]["C"] == "log"
    tau_ahp = LifAhpParams.specs()["tau_ahp"]
    b_ahp = LifAhpParams.specs()["b_ahp"]
    assert b_ahp.scale_for([0.0, 5.0]) == "linear"  # 0 pA could not be drawn on a log axis
    assert tau_ahp.scale_for([20.0, 300.0]) == "log"


def test_column_field_finds_the_field_of_every_table_column():
    for name, model in MODELS.items():
        for column in model.params_class().to_row():
            field = model.params_class.column_field(column)
            assert column.startswith(field.name), (name, column)
    assert MultiAhpParams.column_field("tau_ahp_2_ms")[:2] == ("tau_ahp", 2)
    assert LifAhpParams.column_field("R_Mohm")[:2] == ("R", None)
    with pytest.raises(ParameterError, match=r"'tau_ahp_2_ms' is not a column of LifAhpParams"):
        LifAhpParams.column_field("tau_ahp_2_ms")  # one current only
    with pytest.raises(ParameterError, match="tau_ahp_ms"):
        LifAhpParams.column_field("tau_ahp_s")  # the wrong unit
