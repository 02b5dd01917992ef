"""Human column headers for report tables: a readable name and its unit in parentheses.

Tables written as CSV keep their machine-readable column names (``tau_ahp_ms``,
``frac_avg_isi``): scripts read them. Pages shown to people label the same columns
``τ_AHP (ms)`` or ``mean ISI within tolerance (fraction)``: every number carries its unit, or
says it has none.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

from ahp_models.parameters import ColumnField, ParameterError, ParameterSet
from analysis.allen_tables import FEATURE_UNITS

__all__ = [
    "DIMENSIONLESS",
    "FEATURE_NAMES",
    "UNIT_SUFFIX",
    "column_field",
    "feature_label",
    "parameter_label",
    "parameter_symbol",
    "quantity_label",
    "unit_text",
]

#: How a header says its numbers have no unit.
DIMENSIONLESS = "dimensionless"
#: Unit names of files and tables as a page shows them.
UNIT_TEXT = {"1": DIMENSIONLESS, "Mohm": "MΩ", "MOhm": "MΩ", "ohm": "Ω", "uJ": "µJ", "um": "µm"}
#: Readable names of Allen's features (``analysis.allen_tables.FEATURE_UNITS`` has their units).
FEATURE_NAMES = {
    "threshold_i_long_square": "rheobase",
    "f_i_curve_slope": "f-I slope",
    "avg_isi": "mean ISI",
    "latency": "latency",
    "adaptation": "adaptation index",
    "tau": "membrane time constant",
    "ri": "input resistance",
    "vrest": "resting potential",
}
#: A header that ends in its unit: ``name (unit)``.
UNIT_SUFFIX = re.compile(r"\(([^()]+)\)$")


def unit_text(unit_name: str) -> str:
    """A unit as a page shows it: ``MΩ`` for ``Mohm``, `DIMENSIONLESS` for ``1``."""
    return UNIT_TEXT.get(unit_name, unit_name)


def quantity_label(name: str, unit_name: str) -> str:
    """``name (unit)``, the unit as `unit_text` writes it.

    Parameters
    ----------
    name : str
        What the numbers are.
    unit_name : str
        Their unit (``"1"`` for none; a word such as ``"cells"`` or ``"fraction"`` for counts
        and shares).

    Returns
    -------
    str
        The header.
    """
    return f"{name} ({unit_text(unit_name)})"


def feature_label(feature: str, prefix: str = "") -> str:
    """The header of one of Allen's features: ``rheobase (pA)``, ``adaptation index
    (dimensionless)``; ``prefix`` goes before the name (``"model "``)."""
    if feature not in FEATURE_UNITS:
        raise KeyError(
            f"{feature!r}: not one of Allen's features here ({', '.join(FEATURE_UNITS)})"
        )
    return quantity_label(prefix + FEATURE_NAMES[feature], FEATURE_UNITS[feature][0])


def parameter_symbol(field_name: str, current: int | None = None) -> str:
    """A model parameter's symbol: ``tau_ahp`` -> ``τ_AHP``, current 2 -> ``τ_AHP,2``."""
    parts = field_name.split("_")
    shown = ["τ" if p == "tau" else p.upper() if p == "ahp" else p for p in parts]
    symbol = shown[0] + ("_" + "".join(shown[1:]) if len(shown) > 1 else "")
    return symbol if current is None else f"{symbol}{',' if len(shown) > 1 else '_'}{current}"


def column_field(column: str, params_classes: Iterable[type[ParameterSet]]) -> ColumnField:
    """The field behind a parameter column, in the first of the models that writes it.

    Parameters
    ----------
    column : str
        The column (``tau_ahp_2_ms``, ``V_th_mV``).
    params_classes : iterable of ParameterSet subclasses
        The models whose columns a table holds.

    Returns
    -------
    ColumnField
        Its field name, current and spec.

    Raises
    ------
    ParameterError
        If none of the models writes that column.
    """
    classes = list(params_classes)
    for params_class in classes:
        try:
            return params_class.column_field(column)
        except ParameterError:
            continue
    names = ", ".join(c.__name__ for c in classes) or "no model"
    raise ParameterError(f"{column!r} is not a parameter column of {names}")


def parameter_label(column: str, params_classes: Iterable[type[ParameterSet]]) -> str:
    """The header of a parameter column (`ParameterSet.to_row` names): ``τ_AHP,2 (ms)``.

    Parameters
    ----------
    column : str
        The column (``tau_ahp_2_ms``, ``V_th_mV``).
    params_classes : iterable of ParameterSet subclasses
        The models whose columns a table holds (the first that knows the column names it).

    Returns
    -------
    str
        The header.

    Raises
    ------
    ParameterError
        If none of the models writes that column.
    """
    name, current, spec = column_field(column, params_classes)
    return quantity_label(parameter_symbol(name, current), spec.unit_name)
