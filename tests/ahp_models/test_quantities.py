"""Reading quantities from files and flags: strict grammar, named errors, no code execution."""

import numpy as np
import pytest
from brian2 import Mohm, ms, mV, pA, second

from ahp_models.quantities import QuantityError, format_quantity, lookup_unit, parse_quantity


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("20 ms", 20 * ms),
        ("20*ms", 20 * ms),
        ("2e-2 second", 20 * ms),
        ({"value": 20, "unit": "ms"}, 20 * ms),
        ({"value": 0.02, "unit": "s"}, 20 * ms),
        (20 * ms, 20 * ms),
    ],
)
def test_accepted_forms(raw, expected):
    assert float(parse_quantity(raw, ms, field="tau") / ms) == pytest.approx(float(expected / ms))


def test_lists_and_compound_units():
    values = parse_quantity({"value": [1, 2], "unit": "pA"}, pA, field="b")
    assert np.allclose(values / pA, [1, 2])
    assert float(parse_quantity("25 pA/s", pA / second, field="slope") / (pA / second)) == 25
    assert float(lookup_unit("1/pA") * pA) == pytest.approx(1.0)
    assert float(lookup_unit("A^-1") * pA) == pytest.approx(1e-12)


@pytest.mark.parametrize(
    ("raw", "fragment"),
    [
        ("20 mV", "wrong units"),
        (20, "has no unit"),
        ("20 parsecs", "unknown unit"),
        ("__import__('os').system('true')", "expected a number followed by a unit"),
        ({"value": 1, "unit": "ms", "extra": 2}, "exactly the keys"),
        ({"value": "x", "unit": "ms"}, "expected a number"),
        (True, "boolean"),
    ],
)
def test_rejected_forms_name_the_field(raw, fragment):
    with pytest.raises(QuantityError, match=fragment) as info:
        parse_quantity(raw, ms, field="tau_m", source="cell.json")
    assert "cell.json: tau_m" in str(info.value)


def test_unit_expressions_are_parsed_not_evaluated():
    for text in ("ms; import os", "exec", "ms)(", "__class__"):
        with pytest.raises(QuantityError):
            lookup_unit(text)


def test_format_round_trip():
    written = format_quantity(np.array([1.5, 2.5]) * Mohm, "Mohm")
    assert written == {"value": [1.5, 2.5], "unit": "Mohm"}
    assert np.allclose(parse_quantity(written, Mohm, field="R") / Mohm, [1.5, 2.5])
    with pytest.raises(QuantityError, match="non-finite"):
        format_quantity(np.nan * mV, "mV")
