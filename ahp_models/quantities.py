"""Parsing and formatting of physical quantities for files and command lines.

Quantities come from JSON files and command-line flags. They are parsed by a strict grammar
(a number or a list of numbers and the name of one Brian2 unit), never by ``eval``, so no input
file can execute code.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from typing import Any

import brian2.units as _units
import numpy as np
from brian2 import Quantity, Unit
from brian2.units.fundamentalunits import DIMENSIONLESS, get_dimensions

from ahp_models.errors import UserError

__all__ = [
    "QuantityError",
    "format_quantity",
    "lookup_unit",
    "parse_quantity",
    "positive_time_s",
]

_NUMBER = r"[-+]?(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?"
_QUANTITY_TEXT = re.compile(rf"^\s*({_NUMBER})\s*(?:\*\s*)?([A-Za-z1].*?)?\s*$")


class QuantityError(UserError):
    """A value that cannot be read as the quantity a field needs."""


_UNIT_TERM = re.compile(r"\s*([A-Za-z]\w*|1)\s*(?:(?:\^|\*\*)\s*([-+]?\d+))?\s*")


# SI symbols that Brian2 prints (str(1/amp) == "A^-1") but does not export under these names.
_SI_SYMBOLS = {
    "s": _units.second,
    "A": _units.amp,
    "V": _units.volt,
    "F": _units.farad,
    "S": _units.siemens,
    "C": _units.coulomb,
    "W": _units.watt,
    "J": _units.joule,
}


def _unit_named(name: str) -> Unit:
    if name == "1":
        return Unit(1)
    unit = _SI_SYMBOLS.get(name, getattr(_units, name, None))
    if not isinstance(unit, Unit):
        raise QuantityError(
            f"unknown unit {name!r}: use Brian2 unit names such as 'ms', 'mV', 'pA', 'nS', "
            "'Mohm', 'pF', 'Hz', combined with '*', '/' and '^' (e.g. 'pA/s', '1/pA')"
        )
    return unit


def lookup_unit(expression: str) -> Unit:
    """Return the Brian2 unit written as ``expression``.

    Parameters
    ----------
    expression : str
        Brian2 unit names joined by ``*`` or ``/`` with optional integer powers (``^`` or
        ``**``), e.g. ``"ms"``, ``"Mohm"``, ``"pA/s"``, ``"1/pA"``. Read by a strict grammar,
        never evaluated.

    Returns
    -------
    brian2.Unit
        The unit.

    Raises
    ------
    QuantityError
        If the expression is malformed or names no Brian2 unit.
    """
    if not isinstance(expression, str) or not expression.strip():
        raise QuantityError(f"unit {expression!r} must be a non-empty string such as 'ms'")
    result = None
    position, operator = 0, "*"
    while True:
        match = _UNIT_TERM.match(expression, position)
        if not match:
            raise QuantityError(
                f"malformed unit {expression!r} at character {position}: expected a unit name"
            )
        power = int(match.group(2) or 1)
        term = _unit_named(match.group(1))
        term = term if power == 1 else term**power
        if result is None:
            result = term if operator == "*" else 1 / term
        else:
            result = result * term if operator == "*" else result / term
        position = match.end()
        if position == len(expression):
            return result
        operator = expression[position]
        if operator not in "*/":
            raise QuantityError(
                f"malformed unit {expression!r} at character {position}: expected '*' or '/'"
            )
        position += 1


def _where(field: str, source: str | None) -> str:
    return f"{source}: {field}" if source else field


def _as_float_array(raw: Any, where: str) -> np.ndarray:
    try:
        as_array = np.asarray(raw)
    except ValueError:  # ragged nested lists
        raise QuantityError(
            f"{where} = {raw!r}: expected a number or a regular (non-ragged) list of numbers"
        ) from None
    if as_array.dtype == bool:
        raise QuantityError(f"{where} = {raw!r}: expected numbers, got booleans")
    try:
        return np.asarray(as_array, dtype=float)
    except (TypeError, ValueError):
        raise QuantityError(f"{where} = {raw!r}: expected a number or a list of numbers") from None


def _split_text(text: str, where: str) -> tuple[Any, str | None]:
    """Split ``"20 ms"`` or ``"[1, 2] ms"`` into a number (or list) and a unit name."""
    if text.lstrip().startswith("["):
        closing = text.rfind("]")
        try:
            numbers = json.loads(text[: closing + 1]) if closing >= 0 else None
        except json.JSONDecodeError:
            numbers = None
        if numbers is None:
            raise QuantityError(
                f"{where} = {text!r}: expected a JSON list of numbers and a unit, e.g. '[1, 2] ms'"
            )
        unit_name = text[closing + 1 :].strip().lstrip("*").strip()
        return numbers, unit_name or None
    match = _QUANTITY_TEXT.match(text)
    if not match:
        raise QuantityError(
            f"{where} = {text!r}: expected a number followed by a unit name, e.g. '20 ms'"
        )
    number, unit_name = match.groups()
    return float(number), unit_name


def parse_quantity(
    raw: Any, unit: Unit | str, *, field: str, source: str | None = None
) -> Quantity | np.ndarray:
    """Read ``raw`` as a quantity with the dimensions of ``unit``.

    Parameters
    ----------
    raw : Quantity, number, list, str or mapping
        Accepted forms: a Brian2 quantity; ``{"value": 20, "unit": "ms"}`` (value may be a list);
        a string ``"20 ms"``, ``"20*ms"`` or ``"[1, 2] ms"``; a bare number or list only when
        the field is dimensionless.
    unit : brian2.Unit or str
        The unit (or its name, as `lookup_unit` reads it) whose dimensions the value must have;
        a name is used as written in messages.
    field : str
        The field's name, used in error messages.
    source : str, optional
        Where the value came from (a file name, ``"--set"``), used in error messages.

    Returns
    -------
    Quantity or numpy.ndarray
        The value (a float array for dimensionless fields).

    Raises
    ------
    QuantityError
        If the value has the wrong form or the wrong dimensions.
    """
    where = _where(field, source)
    unit_text = unit if isinstance(unit, str) else str(unit)
    unit = lookup_unit(unit) if isinstance(unit, str) else unit
    dimensionless = get_dimensions(unit) is DIMENSIONLESS
    if isinstance(raw, Quantity):
        if get_dimensions(raw) is not get_dimensions(unit):
            raise QuantityError(
                f"{where} = {raw!r} has the wrong units: expected a value in {unit_text} "
                f"(dimensions {get_dimensions(unit)}), got dimensions {get_dimensions(raw)}"
            )
        magnitude = _as_float_array(np.asarray(raw), where)
        return magnitude if dimensionless else Quantity(magnitude, dim=get_dimensions(unit))
    if isinstance(raw, Mapping):
        extra = set(raw) - {"value", "unit"}
        if "value" not in raw or extra:
            raise QuantityError(
                f"{where} = {raw!r}: a quantity mapping needs exactly the keys 'value' and "
                "'unit'" + (f" (unexpected: {sorted(extra)})" if extra else "")
            )
        unit_name = raw.get("unit", "1")
        if not isinstance(unit_name, str):
            raise QuantityError(f"{where}: 'unit' must be a string, got {unit_name!r}")
        given = _lookup_in_context(unit_name, where)
        value = _as_float_array(raw["value"], where) * given
        return parse_quantity(value, unit_text, field=field, source=source)
    if isinstance(raw, str):
        number, unit_name = _split_text(raw, where)
        if unit_name is None:
            return parse_quantity(number, unit_text, field=field, source=source)
        value = _as_float_array(number, where) * _lookup_in_context(unit_name, where)
        return parse_quantity(value, unit_text, field=field, source=source)
    array = _as_float_array(raw, where)
    if not dimensionless:
        shown = array.tolist()
        raise QuantityError(
            f"{where} = {raw!r} has no unit: give it in {unit_text}, e.g. "
            f"{{'value': {shown!r}, 'unit': '{unit_text}'}} or '{shown!r} {unit_text}'"
        )
    return array


def positive_time_s(value: Any, field: str) -> float:
    """One positive, finite time (a Quantity or text such as ``"0.1 ms"``) in seconds.

    Parameters
    ----------
    value : Quantity, str or mapping
        The time, in any form `parse_quantity` reads.
    field : str
        Its name, for messages.

    Returns
    -------
    float
        The time in seconds.

    Raises
    ------
    QuantityError
        For a value that is not one time, or not positive and finite; the message names
        ``field``.
    """
    seconds = np.asarray(parse_quantity(value, "s", field=field), dtype=float)
    if seconds.size != 1 or not 0 < float(seconds.reshape(-1)[0]) < np.inf:
        raise QuantityError(f"{field} = {value!r}; allowed: one positive, finite time")
    return float(seconds.reshape(-1)[0])


def _lookup_in_context(unit_name: str, where: str) -> Unit:
    try:
        return lookup_unit(unit_name)
    except QuantityError as err:
        raise QuantityError(f"{where}: {err}") from None


def format_quantity(value: Quantity | np.ndarray | float, unit_name: str) -> dict[str, Any]:
    """Return the JSON form ``{"value": ..., "unit": ...}`` of a quantity.

    Parameters
    ----------
    value : Quantity, numpy.ndarray or float
        The value; dimensionless values may be plain numbers.
    unit_name : str
        The unit to express it in, as `lookup_unit` reads it (e.g. ``"ms"``, ``"1/pA"``).

    Returns
    -------
    dict
        ``value`` is a float or a nested list of floats, ``unit`` is ``unit_name``.
    """
    magnitude = np.asarray(value / lookup_unit(unit_name), dtype=float)
    as_python = magnitude.item() if magnitude.ndim == 0 else magnitude.tolist()
    if not np.all(np.isfinite(magnitude)):
        raise QuantityError(f"cannot write the non-finite value {as_python} to a file")
    return {"value": as_python, "unit": unit_name}
