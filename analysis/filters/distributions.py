"""Parameter distributions of heterogeneous populations, read from study configs.

A value in a config is a quantity (``"20 ms"``: every neuron the same) or a table naming a
distribution::

    {distribution = "uniform", low = "10 ms", high = "30 ms"}
    {distribution = "loguniform", low = "50 ms", high = "2 s"}
    {distribution = "normal", mean = "20 ms", std = "3 ms"}          # truncated at > 0
    {distribution = "lognormal", median = "100 ms", sigma = 0.8}
    {distribution = "fitted", table = "lif_ahp_tau_ahp"}             # see FITTED_QUANTILES

``fitted`` draws from the quantiles (5, 25, 50, 75, 95 %) the toolkit's fit of the Allen Cell
Types database found, interpolated in log space between them (so 90 % of draws lie in the
fitted 5-95 % range and none outside it). Draws use ``numpy.random.default_rng``: the same seed
gives the same population.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np

from ahp_models.errors import UserError
from ahp_models.quantities import QuantityError, parse_quantity

__all__ = ["FITTED_QUANTILES", "Distribution", "DistributionError", "parse_distribution"]

#: Quantiles (5, 25, 50, 75, 95 %) of fitted parameters: the toolkit's fit of 1899 Allen cells
#: to ``lif_ahp`` (full database run of 2026-11-22, `bench/README.md`, fitting section).
#: ``lif_ahp_ahp_charge`` is ``b_ahp * tau_ahp``, the AHP charge per spike.
FITTED_QUANTILES: dict[str, tuple[str, tuple[float, ...]]] = {
    "lif_ahp_tau_ahp": ("ms", (10.19, 29.16, 103.48, 508.17, 25399.08)),
    "lif_ahp_b_ahp": ("pA", (0.77, 13.39, 34.27, 69.82, 339.05)),
    "lif_ahp_ahp_charge": ("pA*second", (0.18, 1.592, 3.73, 9.333, 373.82)),
    "lif_ahp_tau_m": ("ms", (3.13, 13.4, 30.49, 48.43, 86.58)),
    "lif_ahp_R": ("Mohm", (67.16, 114.99, 162.5, 221.17, 340.62)),
}
_LEVELS = (0.05, 0.25, 0.5, 0.75, 0.95)
_KEYS = {
    "uniform": ("low", "high"),
    "loguniform": ("low", "high"),
    "normal": ("mean", "std"),
    "lognormal": ("median", "sigma"),
    "fitted": ("table",),
}


class DistributionError(UserError):
    """A distribution that cannot be read, naming the field and what is allowed."""


@dataclass(frozen=True)
class Distribution:
    """A parameter's distribution over a population, in the parameter's unit.

    Attributes
    ----------
    kind : str
        ``constant`` or one of the named distributions.
    values : tuple of float
        Its numbers in ``unit`` (constant: the value; lognormal: median and sigma...).
    unit : str
        The unit of the values.
    """

    kind: str
    values: tuple[float, ...]
    unit: str
    positive: bool = True

    def draw(self, n: int, rng: np.random.Generator) -> np.ndarray:
        """``n`` values in ``unit``."""
        a, *rest = self.values
        b = rest[0] if rest else None
        if self.kind == "constant":
            return np.full(n, a)
        if self.kind == "uniform":
            return rng.uniform(a, b, n)
        if self.kind == "loguniform":
            return np.exp(rng.uniform(np.log(a), np.log(b), n))
        if self.kind == "normal":
            values = rng.normal(a, b, n)
            if self.positive:  # truncated at 0 for a parameter that must be positive
                bad = values <= 0
                for _ in range(100):
                    if not bad.any():
                        break
                    values[bad] = rng.normal(a, b, int(bad.sum()))
                    bad = values <= 0
                if bad.any():
                    raise DistributionError(
                        f"normal(mean {a:g}, std {b:g}) {self.unit}: too little of it lies above 0 "
                        "for a parameter that must be positive"
                    )
            return values
        if self.kind == "lognormal":
            return a * np.exp(b * rng.standard_normal(n))
        levels = rng.uniform(_LEVELS[0], _LEVELS[-1], n)
        return np.exp(np.interp(levels, _LEVELS, np.log(self.values)))


def parse_distribution(raw: Any, unit: str, field: str, *, positive: bool = True) -> Distribution:
    """Read a config value: a quantity or a distribution table (see the module docstring).

    Parameters
    ----------
    raw : str, number, mapping
        The config value.
    unit : str
        The parameter's unit (``"ms"``, ``"pA"``...).
    field : str
        Where it is, for errors (``population.parameters.tau_ahp``).
    positive : bool
        The parameter must be > 0 (a normal distribution is then truncated at 0); False for
        voltages.

    Returns
    -------
    Distribution
        Values converted to ``unit``.
    """
    if not isinstance(raw, Mapping):
        value = _in_unit(raw, unit, field)
        if positive and not value > 0:
            raise DistributionError(f"{field} = {raw!r}; allowed: a value > 0 {unit}")
        return Distribution("constant", (value,), unit, positive)
    kind = raw.get("distribution")
    if not isinstance(kind, str) or kind not in _KEYS:
        raise DistributionError(
            f"{field}.distribution = {kind!r}; allowed: {', '.join(_KEYS)} (or a plain value)"
        )
    wanted = set(_KEYS[kind]) | {"distribution"}
    if set(raw) != wanted:
        raise DistributionError(
            f"{field}: keys {sorted(raw)}; allowed for {kind}: {sorted(wanted)}"
        )
    if kind == "fitted":
        name = raw["table"]
        if not isinstance(name, str) or name not in FITTED_QUANTILES:
            raise DistributionError(
                f"{field}.table = {name!r}; allowed: {', '.join(FITTED_QUANTILES)}"
            )
        table_unit, quantiles = FITTED_QUANTILES[name]
        scale = _in_unit(f"1 {table_unit}", unit, f"{field}.table ({name} is in {table_unit})")
        return Distribution("fitted", tuple(q * scale for q in quantiles), unit, positive)
    if kind == "lognormal":
        median = _in_unit(raw["median"], unit, f"{field}.median")
        sigma = _plain(raw["sigma"], f"{field}.sigma")
        values = (median, sigma)
    else:
        values = tuple(_in_unit(raw[key], unit, f"{field}.{key}") for key in _KEYS[kind])
    first, second = values
    if kind in ("uniform", "loguniform") and not first < second:
        raise DistributionError(f"{field}: low = {first:g} {unit}, high = {second:g}; low < high")
    if kind == "loguniform" and first <= 0:
        raise DistributionError(f"{field}.low = {first:g} {unit}; allowed: > 0 (log scale)")
    if kind in ("normal", "lognormal") and not second > 0:
        raise DistributionError(f"{field}: spread {second:g}; allowed: > 0")
    if kind == "lognormal" and not first > 0:
        raise DistributionError(f"{field}.median = {first:g} {unit}; allowed: > 0")
    if positive and kind == "uniform" and first <= 0:
        raise DistributionError(f"{field}.low = {first:g} {unit}; allowed: > 0 for this parameter")
    if positive and kind == "normal" and first <= 0:
        raise DistributionError(f"{field}.mean = {first:g} {unit}; allowed: > 0 for this parameter")
    return Distribution(kind, values, unit, positive)


def _in_unit(raw: Any, unit: str, field: str) -> float:
    try:
        quantity = parse_quantity(raw, unit, field=field)
        value = float(np.asarray(quantity / parse_quantity(f"1 {unit}", unit, field=field)))
    except (QuantityError, TypeError, ValueError) as error:
        raise DistributionError(str(error)) from None
    if not np.isfinite(value):
        raise DistributionError(f"{field} = {raw!r}; allowed: a finite value")
    return value


def _plain(raw: Any, field: str) -> float:
    if isinstance(raw, bool) or not isinstance(raw, int | float) or not np.isfinite(raw):
        raise DistributionError(f"{field} = {raw!r}; allowed: a finite number")
    return float(raw)
