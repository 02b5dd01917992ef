"""Human headers: each parameter and feature named with the unit its table column holds."""

import pytest

from ahp_models import LifAhpParams, MultiAhpParams, ParameterError
from analysis.allen_tables import FEATURE_UNITS
from analysis.column_labels import (
    DIMENSIONLESS,
    UNIT_SUFFIX,
    feature_label,
    parameter_label,
    quantity_label,
)


def test_parameter_headers_carry_symbol_and_unit():
    classes = [LifAhpParams, MultiAhpParams]
    assert parameter_label("tau_ahp_ms", classes) == "τ_AHP (ms)"
    assert parameter_label("tau_ahp_2_ms", classes) == "τ_AHP,2 (ms)"
    assert parameter_label("b_ahp_1_pA", classes) == "b_AHP,1 (pA)"
    assert parameter_label("R_Mohm", classes) == "R (MΩ)"
    assert parameter_label("V_reset_mV", classes) == "V_reset (mV)"
    with pytest.raises(ParameterError, match="tau_ahp_2_ms"):
        parameter_label("tau_ahp_2_ms", [LifAhpParams])


def test_every_feature_header_has_the_unit_of_allens_table():
    for feature, (unit, _, _) in FEATURE_UNITS.items():
        label = feature_label(feature)
        shown = UNIT_SUFFIX.search(label).group(1)
        assert shown == (DIMENSIONLESS if unit == "1" else unit.replace("MOhm", "MΩ")), label
    assert feature_label("avg_isi", "model ") == "model mean ISI (ms)"
    assert feature_label("adaptation") == "adaptation index (dimensionless)"
    with pytest.raises(KeyError, match="sag"):
        feature_label("sag")
    assert quantity_label("energy", "uJ") == "energy (µJ)"
