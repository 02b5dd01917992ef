"""Typed, unit-checked parameter sets for the neuron models.

Every model has a frozen dataclass of parameters. Each field carries a `ParamSpec` (its unit,
allowed range and meaning); values are Brian2 quantities, either one value for the whole
population or one value per neuron. Fields of models with several currents (``per_current``)
hold one value per current, optionally per neuron too (shape ``(n_neurons, n_currents)``).
"""

from __future__ import annotations

import dataclasses
import itertools
import json
import os
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, fields
from typing import Any, ClassVar, NamedTuple, Self

import numpy as np
import pandas as pd
from brian2 import Quantity, Unit, volt

from ahp_models.errors import UserError
from ahp_models.files import atomic_write_text
from ahp_models.input_files import read_json_file
from ahp_models.quantities import QuantityError, format_quantity, lookup_unit, parse_quantity

__all__ = ["ColumnField", "ParamSpec", "ParameterError", "ParameterSet", "parameter"]


#: Largest magnitude of any parameter, in its own unit.
MAGNITUDE_LIMIT = 1e9
#: Smallest value of a strictly positive parameter, in its own unit.
POSITIVE_FLOOR = 1e-6


class ParameterError(UserError):
    """A parameter value that the model cannot use (wrong units, range, shape or name)."""


@dataclass(frozen=True)
class ParamSpec:
    """What a parameter field accepts.

    Attributes
    ----------
    unit_name : str
        The unit that files and tables use for this field (``"ms"``, ``"pA"``, ``"1/pA"``).
    low, high : float or None
        Bounds in ``unit_name``; None means unbounded.
    low_open, high_open : bool
        Whether the bound itself is excluded.
    description : str
        What the parameter means.
    per_current : bool
        True if the field holds one value per current of a multi-current model.
    """

    unit_name: str
    low: float | None = None
    high: float | None = None
    low_open: bool = False
    high_open: bool = False
    description: str = ""
    per_current: bool = False

    @property
    def unit(self) -> Unit:
        """The Brian2 unit of ``unit_name``."""
        return lookup_unit(self.unit_name)

    @property
    def axis_scale(self) -> str:
        """How values of this parameter are best drawn: ``"log"`` or ``"linear"``.

        Logarithmic for scale quantities, which cannot be negative and span decades (time
        constants, resistances, capacitances, current increments); linear for anything that
        may be negative, for potentials (a threshold 20 mV above rest is a difference of
        potentials, not a scale) and for bounded dimensionless fractions.
        """
        signed = self.low is None or self.low < 0
        potential = self.unit.dim == volt.dim
        fraction = self.unit_name == "1" and self.high is not None and self.high < MAGNITUDE_LIMIT
        return "linear" if signed or potential or fraction else "log"

    def scale_for(self, values: Any) -> str:
        """`axis_scale` for these values (in ``unit_name``): linear where one of them is not
        positive, which a log axis could not show."""
        positive = bool(np.all(np.asarray(values, dtype=float) > 0))
        return self.axis_scale if positive else "linear"

    def range_text(self) -> str:
        """The allowed range written as an interval, e.g. ``(0, inf) ms``."""
        low = "-inf" if self.low is None else f"{self.low:g}"
        high = "inf" if self.high is None else f"{self.high:g}"
        left = "(" if self.low is None or self.low_open else "["
        right = ")" if self.high is None or self.high_open else "]"
        unit = "" if self.unit_name == "1" else f" {self.unit_name}"
        return f"{left}{low}, {high}{right}{unit}"

    def outside(self, magnitude: np.ndarray) -> np.ndarray:
        """Return a mask of the values (in ``unit_name``) outside the allowed range."""
        bad = np.zeros(magnitude.shape, dtype=bool)
        # a closed bound holds values within rounding of it (1e-6 ms read as 9.999999e-07)
        if self.low is not None:
            low = self.low - 1e-9 * abs(self.low)
            bad |= magnitude <= self.low if self.low_open else magnitude < low
        if self.high is not None:
            high = self.high + 1e-9 * abs(self.high)
            bad |= magnitude >= self.high if self.high_open else magnitude > high
        return bad


def parameter(
    default: Any,
    unit_name: str,
    *,
    low: float | None = None,
    high: float | None = None,
    low_open: bool = False,
    high_open: bool = False,
    description: str = "",
    per_current: bool = False,
) -> Any:
    """Declare a parameter field of a `ParameterSet` subclass.

    Parameters
    ----------
    default : Quantity or float
        Default value.
    unit_name : str
        Unit used in files and tables.
    low, high : float, optional
        Allowed range in ``unit_name``.
    low_open, high_open : bool
        Exclude the bound itself.
    description : str
        What the parameter means.
    per_current : bool
        One value per current (multi-current models).

    Returns
    -------
    dataclasses.Field
        The field, with its `ParamSpec` in ``metadata["spec"]``.
    """
    # No parameter needs a magnitude beyond 1e9 of its unit, and a strictly positive one (a
    # time constant, a resistance) is at least 1e-6 of it: 1e-300 ms or 1e300 ms would only
    # break the integration or the mapping later, far from the file that held them.
    low = -MAGNITUDE_LIMIT if low is None else low
    high = MAGNITUDE_LIMIT if high is None else high
    if low == 0 and low_open:
        low, low_open = POSITIVE_FLOOR, False
    spec = ParamSpec(unit_name, low, high, low_open, high_open, description, per_current)
    return field(default_factory=lambda: default, metadata={"spec": spec})


class ColumnField(NamedTuple):
    """The field behind a table column of `ParameterSet.to_row`.

    Attributes
    ----------
    name : str
        The field (``tau_ahp``).
    current : int or None
        For a per-current column (``tau_ahp_2_ms``) the current, counted from 1; else None.
    spec : ParamSpec
        The field's spec (its unit is the column's).
    """

    name: str
    current: int | None
    spec: ParamSpec


def _spec(f: dataclasses.Field) -> ParamSpec:
    return f.metadata["spec"]


def _column_unit(unit_name: str) -> str:
    """Unit suffix of a table column: ``_ms``, ``_pA``, ``_spikes_per_s``, none for 1."""
    return "" if unit_name == "1" else f"_{unit_name.replace('/', '_per_')}"


@dataclass(frozen=True)
class ParameterSet:
    """Base class of all model parameter sets.

    Subclasses declare fields with `parameter`. On construction every value is converted to a
    quantity of the right dimensions and checked: finite, inside its range, of a valid shape,
    and consistent with the other fields (`_check_relations`). Errors name the parameter, the
    value and the allowed range.
    """

    model_name: ClassVar[str] = ""

    def __post_init__(self) -> None:
        for f in fields(self):
            object.__setattr__(self, f.name, self._coerce(f, getattr(self, f.name)))
        self._check_shapes()
        self._check_relations()

    # -- validation -------------------------------------------------------------------------
    def _qualified(self, name: str) -> str:
        return f"{type(self).__name__}.{name}"

    def _coerce(self, f: dataclasses.Field, raw: Any) -> Quantity | np.ndarray:
        spec = _spec(f)
        try:
            value = parse_quantity(raw, spec.unit_name, field=self._qualified(f.name))
        except QuantityError as err:
            raise ParameterError(f"{err}; allowed range {spec.range_text()}") from None
        # a private, read-only copy: a validated set cannot be changed behind its back
        value = value.copy()
        value.flags.writeable = False
        magnitude = np.asarray(value / spec.unit, dtype=float)
        max_ndim = 2 if spec.per_current else 1
        if magnitude.ndim > max_ndim or magnitude.size == 0:
            shapes = "(n_currents,) or (n_neurons, n_currents)" if spec.per_current else "(n,)"
            raise ParameterError(
                f"{self._qualified(f.name)} has shape {magnitude.shape}: give one value or an "
                f"array of shape {shapes}"
            )
        self._check_values(f.name, spec, magnitude)
        return value

    def _check_values(self, name: str, spec: ParamSpec, magnitude: np.ndarray) -> None:
        flat = magnitude.ravel()
        for problem, mask in (
            ("is not finite; allowed range", ~np.isfinite(flat)),
            ("is outside the allowed range", np.isfinite(flat) & spec.outside(flat)),
        ):
            if mask.any():
                index = int(np.flatnonzero(mask)[0])
                where = "" if magnitude.ndim == 0 else f"[{index}]"
                unit = "" if spec.unit_name == "1" else f" {spec.unit_name}"
                raise ParameterError(
                    f"{self._qualified(name)}{where} = {flat[index]:g}{unit} {problem} "
                    f"{spec.range_text()} ({spec.description})"
                )

    def _per_neuron_length(self, f: dataclasses.Field) -> int | None:
        ndim = np.ndim(getattr(self, f.name))
        if _spec(f).per_current:
            return np.shape(getattr(self, f.name))[0] if ndim == 2 else None
        return np.shape(getattr(self, f.name))[0] if ndim == 1 else None

    def _check_shapes(self) -> None:
        lengths = {f.name: n for f in fields(self) if (n := self._per_neuron_length(f)) is not None}
        if len(set(lengths.values())) > 1:
            raise ParameterError(
                f"{type(self).__name__}: per-neuron parameters disagree on the number of "
                f"neurons: {lengths}; give every per-neuron parameter the same length"
            )
        currents = {
            f.name: np.shape(getattr(self, f.name))[-1]
            for f in fields(self)
            if _spec(f).per_current and np.ndim(getattr(self, f.name)) >= 1
        }
        if len(set(currents.values())) > 1:
            raise ParameterError(
                f"{type(self).__name__}: per-current parameters disagree on the number of "
                f"currents: {currents}"
            )

    def _check_relations(self) -> None:
        """Check constraints between fields; subclasses raise `ParameterError` on violation."""

    def _require(self, condition: Any, message: str) -> None:
        failing = ~np.asarray(condition, dtype=bool)
        if failing.any():
            where = "" if failing.ndim == 0 else f" (first at neuron {np.flatnonzero(failing)[0]})"
            raise ParameterError(f"{type(self).__name__}: {message}{where}")

    # -- shape queries ----------------------------------------------------------------------
    @property
    def n_neurons(self) -> int | None:
        """Number of neurons the per-neuron values describe, or None if all are shared."""
        lengths = {n for f in fields(self) if (n := self._per_neuron_length(f)) is not None}
        return lengths.pop() if lengths else None

    @property
    def n_currents(self) -> int | None:
        """Number of currents of per-current fields, or None if the set has none.

        A single value in a per-current field is shared by all currents; the count comes from
        the fields that give one value per current (1 if none does).
        """
        per_current = [f for f in fields(self) if _spec(f).per_current]
        if not per_current:
            return None
        counts = [
            np.shape(getattr(self, f.name))[-1]
            for f in per_current
            if np.ndim(getattr(self, f.name)) >= 1
        ]
        return int(max(counts, default=1))

    @classmethod
    def specs(cls) -> dict[str, ParamSpec]:
        """Return the `ParamSpec` of every field, by name."""
        return {f.name: _spec(f) for f in fields(cls)}

    @classmethod
    def column_field(cls, column: str) -> ColumnField:
        """The field a `to_row` column holds (``V_th_mV``, ``tau_ahp_2_ms``).

        Parameters
        ----------
        column : str
            A column name as `to_row` writes it.

        Returns
        -------
        ColumnField
            The field's name, the current of a per-current column, and the field's spec.

        Raises
        ------
        ParameterError
            If no field of this set writes that column.
        """
        for name, spec in cls.specs().items():
            unit = re.escape(_column_unit(spec.unit_name))
            found = re.fullmatch(rf"{re.escape(name)}(?:_(\d+))?{unit}", column)
            if found and (found.group(1) is None or spec.per_current):
                current = None if found.group(1) is None else int(found.group(1))
                return ColumnField(name, current, spec)
        columns = ", ".join(f"{n}{_column_unit(s.unit_name)}" for n, s in cls.specs().items())
        raise ParameterError(
            f"{column!r} is not a column of {cls.__name__}; its columns: {columns}"
        )

    def si_arrays(self, n_neurons: int) -> dict[str, np.ndarray]:
        """Return every parameter as float64 SI values broadcast to ``n_neurons``.

        Parameters
        ----------
        n_neurons : int
            Population size.

        Returns
        -------
        dict of str to numpy.ndarray
            Shape ``(n_neurons,)``, or ``(n_neurons, n_currents)`` for per-current fields.
        """
        own = self.n_neurons
        if own is not None and own != n_neurons:
            raise ParameterError(
                f"{type(self).__name__} holds values for {own} neurons but the population "
                f"has {n_neurons}"
            )
        arrays = {}
        for f in fields(self):
            value = np.asarray(getattr(self, f.name), dtype=float)
            if _spec(f).per_current:
                k = self.n_currents
                value = value.reshape(-1, k) if value.ndim == 2 else value.reshape(1, -1)
                arrays[f.name] = np.ascontiguousarray(np.broadcast_to(value, (n_neurons, k)))
            else:
                arrays[f.name] = np.ascontiguousarray(np.broadcast_to(value, (n_neurons,)))
        return arrays

    # -- construction helpers ---------------------------------------------------------------
    def replace(self, **changes: Any) -> Self:
        """Return a copy with some fields changed (validated like a new set)."""
        unknown = set(changes) - set(self.specs())
        if unknown:
            raise ParameterError(self._unknown_message(unknown))
        return dataclasses.replace(self, **changes)

    @classmethod
    def stack(cls, sets: Sequence[Self]) -> Self:
        """Combine homogeneous parameter sets into one set with one value per neuron.

        Parameters
        ----------
        sets : sequence of ParameterSet
            Sets of this class, each describing one neuron (shared values only).

        Returns
        -------
        ParameterSet
            A set whose every field has one value per input set.
        """
        if not sets:
            raise ParameterError(f"{cls.__name__}.stack needs at least one parameter set")
        if any(s.n_neurons is not None for s in sets):
            raise ParameterError(f"{cls.__name__}.stack takes sets that describe one neuron each")
        currents = {s.n_currents for s in sets}
        if len(currents) > 1:
            raise ParameterError(
                f"{cls.__name__}.stack: the sets have different numbers of currents "
                f"{sorted(currents)}; all must have the same"
            )
        values = {}
        for name, spec in cls.specs().items():
            shape = (sets[0].n_currents,) if spec.per_current else ()
            columns = [
                np.broadcast_to(np.asarray(getattr(s, name) / spec.unit, dtype=float), shape)
                for s in sets
            ]
            values[name] = np.stack(columns) * spec.unit
        return cls(**values)

    @classmethod
    def concatenate(cls, sets: Sequence[Self], repeat: int = 1) -> Self:
        """Join parameter sets into one population, each neuron repeated ``repeat`` times.

        Parameters
        ----------
        sets : sequence of ParameterSet
            Sets of this class (shared or per-neuron values; a shared set counts as one neuron).
        repeat : int
            Consecutive copies of every neuron (e.g. one per stimulus amplitude).

        Returns
        -------
        ParameterSet
            A set of ``repeat * sum(n_k)`` neurons: set 1's neurons first, each repeated.
        """
        if not sets:
            raise ParameterError(f"{cls.__name__}.concatenate needs at least one parameter set")
        currents = {s.n_currents for s in sets}
        if len(currents) > 1:
            raise ParameterError(
                f"{cls.__name__}.concatenate: the sets have different numbers of currents "
                f"{sorted(currents)}"
            )
        values = {}
        for name, spec in cls.specs().items():
            parts = []
            for s in sets:
                shape = (s.n_neurons or 1, *((s.n_currents,) if spec.per_current else ()))
                magnitude = np.asarray(getattr(s, name) / spec.unit, dtype=float)
                if spec.per_current and magnitude.ndim == 1:
                    magnitude = magnitude[None, :]
                parts.append(np.repeat(np.broadcast_to(magnitude, shape), repeat, axis=0))
            values[name] = np.concatenate(parts) * spec.unit
        return cls(**values)

    # -- files ------------------------------------------------------------------------------
    @classmethod
    def _unknown_message(cls, unknown: set[str]) -> str:
        allowed = ", ".join(cls.specs())
        return f"{cls.__name__}: unknown parameter(s) {sorted(unknown)}; allowed: {allowed}"

    def to_dict(self) -> dict[str, Any]:
        """Return a JSON-serialisable form: ``{"model": ..., "parameters": {name: quantity}}``."""
        return {
            "model": self.model_name,
            "parameters": {
                name: format_quantity(getattr(self, name), spec.unit_name)
                for name, spec in self.specs().items()
            },
        }

    def to_row(self) -> dict[str, float]:
        """Return one neuron's values as flat table columns, the unit in each name.

        Per-current fields become one column per current (``tau_ahp_1_ms``, ``tau_ahp_2_ms``).

        Returns
        -------
        dict of str to float
            Column name (``V_th_mV``, ``b_ahp_pA``, ``t_ref_ms``) -> value in that unit.

        Raises
        ------
        ParameterError
            If the set holds values for several neurons.
        """
        if self.n_neurons not in (None, 1):
            raise ParameterError(
                f"{type(self).__name__} holds {self.n_neurons} neurons; to_row takes one"
            )
        row = {}
        for name, spec in self.specs().items():
            values = np.ravel(np.asarray(getattr(self, name) / spec.unit, dtype=float))
            unit = _column_unit(spec.unit_name)
            if values.size == 1:
                row[f"{name}{unit}"] = float(values[0])
            else:
                row.update({f"{name}_{k + 1}{unit}": float(v) for k, v in enumerate(values)})
        return row

    @classmethod
    def from_row(cls, row: Mapping[str, Any], *, source: str | None = None) -> Self:
        """Build one neuron's set from `to_row` columns (e.g. a row of a fit results table).

        Parameters
        ----------
        row : mapping
            Column -> value in the unit the name gives; other columns are ignored.
        source : str, optional
            Where the row came from, named in error messages.

        Returns
        -------
        ParameterSet
            The validated set.
        """
        prefix = f"{source}: " if source else ""
        values = {}
        for name, spec in cls.specs().items():
            unit = _column_unit(spec.unit_name)
            if f"{name}{unit}" in row:
                raw = [row[f"{name}{unit}"]]
            else:
                raw = list(
                    itertools.takewhile(
                        lambda v: v is not None,
                        (row.get(f"{name}_{k}{unit}") for k in itertools.count(1)),
                    )
                )
                if not raw:
                    raise ParameterError(
                        f"{prefix}no column {name}{unit} (or {name}_1{unit}, ...) for "
                        f"{cls.__name__}"
                    )
            try:
                numbers = np.asarray(raw, dtype=float)
            except (TypeError, ValueError):
                raise ParameterError(f"{prefix}{name}{unit}: {raw!r} is not a number") from None
            single = f"{name}{unit}" in row
            values[name] = (numbers[0] if single else numbers) * spec.unit
        try:
            return cls(**values)
        except ParameterError as err:
            raise ParameterError(f"{prefix}{err}") from None

    @classmethod
    def from_dict(cls, data: Mapping[str, Any], *, source: str | None = None) -> Self:
        """Build a parameter set from `to_dict` output or a plain ``{name: quantity}`` mapping.

        Parameters
        ----------
        data : mapping
            ``{"model": name, "parameters": {...}}`` or just the parameters. Quantities are
            ``{"value": v, "unit": "ms"}`` or strings such as ``"20 ms"``; missing fields take
            their defaults.
        source : str, optional
            Where the data came from, named in error messages.

        Returns
        -------
        ParameterSet
            The validated set.
        """
        prefix = f"{source}: " if source else ""
        if not isinstance(data, Mapping):
            raise ParameterError(f"{prefix}expected a JSON object, got {type(data).__name__}")
        if "parameters" in data:
            extra = set(data) - {"model", "parameters"}
            if extra:
                raise ParameterError(
                    f"{prefix}unexpected top-level key(s) {sorted(extra)}; allowed: model, "
                    "parameters"
                )
            model = data.get("model", cls.model_name)
            if model != cls.model_name:
                raise ParameterError(
                    f"{prefix}parameters are for model {model!r}, expected {cls.model_name!r}"
                )
            data = data["parameters"]
            if not isinstance(data, Mapping):
                raise ParameterError(f"{prefix}'parameters' must be a JSON object")
        unknown = set(data) - set(cls.specs())
        if unknown:
            raise ParameterError(prefix + cls._unknown_message(unknown))
        values = {}
        for name, raw in data.items():
            spec = cls.specs()[name]
            try:
                values[name] = parse_quantity(raw, spec.unit_name, field=name, source=source)
            except QuantityError as err:
                raise ParameterError(f"{err}; allowed range {spec.range_text()}") from None
        try:
            return cls(**values)
        except ParameterError as err:
            raise ParameterError(f"{prefix}{err}") from None

    def to_json(self, path: str | os.PathLike) -> None:
        """Write the set to a JSON file (atomically)."""
        atomic_write_text(path, json.dumps(self.to_dict(), indent=2) + "\n")

    @classmethod
    def from_json(cls, path: str | os.PathLike) -> Self:
        """Read a set written by `to_json` (or by hand in the same format).

        Parameters
        ----------
        path : str or os.PathLike
            The JSON file.

        Returns
        -------
        ParameterSet
            The validated set.
        """
        return cls.from_dict(read_json_object(path), source=str(path))

    def describe(self) -> pd.DataFrame:
        """Return a table of the parameters: value, unit, allowed range and meaning."""
        rows = []
        for name, spec in self.specs().items():
            magnitude = np.asarray(getattr(self, name) / spec.unit, dtype=float)
            shown = f"{magnitude.item():g}" if magnitude.ndim == 0 else np.array2string(magnitude)
            rows.append(
                {
                    "parameter": name,
                    "value": shown,
                    "unit": spec.unit_name,
                    "allowed": spec.range_text(),
                    "description": spec.description,
                }
            )
        return pd.DataFrame(rows)


def read_json_object(path: str | os.PathLike) -> dict[str, Any]:
    """Read a JSON file that must hold one object; errors name the file and position.

    Parameters
    ----------
    path : str or os.PathLike
        The file.

    Returns
    -------
    dict
        The parsed object. ``NaN`` and ``Infinity`` literals are rejected.
    """

    data = read_json_file(path, what="parameter file", error=ParameterError)
    if not isinstance(data, dict):
        raise ParameterError(f"{path}: expected a JSON object, got {type(data).__name__}")
    return data
