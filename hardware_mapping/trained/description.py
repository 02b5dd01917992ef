"""Trained-network descriptions: a TOML file read into a checked `NetworkDescription`.

A description states a trained spiking network once, as it runs on Loihi 1: external spike
inputs, populations of compartments with their registers (and, optionally, the float neuron
they stand for), projections whose weights come from ``.npy``/``.npz`` files, the input encoder,
the readout and the reset between samples. Everything is checked before anything runs: every
key is known, every register within the chip's range, every weight file present, of the
stated shape and holding 8-bit integer mantissas. Reading parses TOML and numpy arrays only
(``allow_pickle=False``): nothing in a description or its files is executed.

The file's layout (a complete example is ``builtin/rao2022-smnist-relay.toml``)::

    name = "my-network"
    time_step = "1 ms"

    [[inputs]]                  # spike sources the encoder drives
    name = "channels"
    size = 80

    [[populations]]
    name = "adaptive"
    size = 100
    decay_v = 204               # registers: decay_u (4096 only), decay_v, vth_mant,
    vth_mant = 508              # refract_delay
    [populations.ahp]           # optional: an AHP compartment joined into each neuron
    decay = 5
    weight = -96                # main -> own AHP compartment, mantissa and exponent
    exponent = -4
    [populations.float]         # optional: the float neuron (default: the registers' own)
    tau_v = "20 ms"
    tau_ahp = "700 ms"

    [[projections]]
    pre = "channels"
    post = "adaptive"
    file = "w_in.npy"           # relative to the description (or the built-in's data folder)
    orientation = "pre,post"    # or "post,pre": the file's axes
    rows = [0, 80]              # optional block of the file's [pre, post] matrix
    columns = [140, 240]
    exponent = 2                # weight exponent, -8..7: each spike adds 64 w 2**exponent
    delay = 0                   # steps beyond the one every spike takes, 0..62

    [encoder]                   # see hardware_mapping.trained.encoders
    kind = "threshold_crossing"
    input = "channels"
    ...

    [readout]
    kind = "argmax_voltage"     # or "spike_count"
    population = "output"

    [reset]
    policy = "rest"             # every sample starts from rest

Signs: a weight's sign picks its synapse group, excitatory or inhibitory (Loihi's sign modes
2 and 3), so each keeps a full 8-bit mantissa, -255..255; a zero weight makes no synapse.
A one-to-one projection gives ``one_to_one = WEIGHT`` instead of a file.
"""

from __future__ import annotations

import math
import os
import zipfile
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
from brian2 import ms

from ahp_models.errors import UserError
from ahp_models.input_files import read_toml_file
from ahp_models.quantities import QuantityError, parse_quantity
from hardware_mapping.loihi.arithmetic import scale_by_exponent
from hardware_mapping.loihi.registers import (
    DECAY,
    REFRACT_DELAY,
    VTH_MANT,
    WEIGHT_EXP,
    RegisterRange,
)
from hardware_mapping.mapped_neuron import TIME_STEP_RANGE_MS
from hardware_mapping.trained.encoders import Encoder, EncoderError, encoder_from_table

__all__ = [
    "BUILTIN_DESCRIPTIONS",
    "BUILTIN_FOLDER",
    "READOUTS",
    "RESET_POLICIES",
    "AhpRegisters",
    "DescriptionError",
    "FloatNeuron",
    "NetworkDescription",
    "PopulationSpec",
    "ProjectionSpec",
    "parse_description",
    "read_description",
]

BUILTIN_FOLDER = Path(__file__).parent / "builtin"
#: Built-in descriptions by name (their weights are the paper's, `hardware_mapping.trained.data`).
BUILTIN_DESCRIPTIONS = {
    "rao2022-smnist": "rao2022-smnist-relay.toml",
    "rao2022-smnist-relay": "rao2022-smnist-relay.toml",
    "rao2022-smnist-direct": "rao2022-smnist-direct.toml",
}
READOUTS = ("argmax_voltage", "spike_count")
RESET_POLICIES = ("rest",)
ORIENTATIONS = ("pre,post", "post,pre")
#: Largest |mantissa| of a synapse group of one sign (8 bits).
MAX_MANTISSA = 255
MAX_WEIGHT_FILE_BYTES = 1 << 30
MAX_SIZE = 100_000
_DELAY = RegisterRange("delay", 0, 62, "synaptic delay beyond one step (6 delay bits)")

_TOP_KEYS = {"name", "title", "time_step", "inputs", "populations", "projections", "encoder",
             "readout", "reset"}  # fmt: skip
_POPULATION_KEYS = {"name", "size", "decay_u", "decay_v", "vth_mant", "refract_delay", "ahp",
                    "float", "description"}  # fmt: skip
_AHP_KEYS = {"decay", "weight", "exponent"}
_FLOAT_KEYS = {"tau_v", "tau_ahp", "v_th", "b_ahp"}
_PROJECTION_KEYS = {"pre", "post", "file", "key", "orientation", "rows", "columns", "exponent",
                    "delay", "one_to_one"}  # fmt: skip
_READOUT_KEYS = {"kind", "population"}
_RESET_KEYS = {"policy"}


class DescriptionError(UserError):
    """A description that cannot be used, naming the file, the field, the value and the rule."""


@dataclass(frozen=True)
class AhpRegisters:
    """The AHP compartment of each neuron of a population.

    Attributes
    ----------
    decay : int
        Its voltage decay, 0..4096.
    weight, exponent : int
        The synapse from the neuron's main compartment (-255..255, -8..7).
    """

    decay: int
    weight: int
    exponent: int

    @property
    def input_per_spike(self) -> int:
        """What one spike of the neuron adds to its AHP compartment (chip arithmetic)."""
        return 64 * int(scale_by_exponent(self.weight, self.exponent))


@dataclass(frozen=True)
class FloatNeuron:
    """The float neuron a population stands for (the float run's real-valued arithmetic).

    Attributes
    ----------
    keep_v, keep_ahp : float
        Per-step voltage factors of the main and AHP compartments.
    v_th : float
        Threshold in the chip's integer voltage units.
    b_ahp : float
        AHP decrement per spike, same units (positive hyperpolarizes).
    tau_v_ms, tau_ahp_ms : float
        The time constants the factors come from (``inf`` for no decay, 0 for no memory).
    """

    keep_v: float
    keep_ahp: float
    v_th: float
    b_ahp: float
    tau_v_ms: float
    tau_ahp_ms: float


@dataclass(frozen=True)
class PopulationSpec:
    """One population of compartments and its registers.

    Attributes
    ----------
    name : str
        Its name (a letter, then letters, digits and ``_``).
    size : int
        Number of neurons.
    decay_v, vth_mant, refract_delay : int
        Registers of the main compartments (current decay 4096: inputs pass in one step).
    ahp : AhpRegisters or None
        The AHP compartment, if the neurons have one.
    float_neuron : FloatNeuron
        Its float form.
    """

    name: str
    size: int
    decay_v: int
    vth_mant: int
    refract_delay: int
    ahp: AhpRegisters | None
    float_neuron: FloatNeuron


@dataclass(frozen=True)
class ProjectionSpec:
    """A projection's synapses, read and checked.

    Attributes
    ----------
    pre, post : str
        Source (a population or input) and target population.
    pre_index, post_index, mantissa : numpy.ndarray
        One entry per synapse (zero weights make none).
    exponent, delay : int
        Weight exponent and delay of every synapse.
    source : str
        Where the weights came from (file and block), for reports.
    """

    pre: str
    post: str
    pre_index: np.ndarray
    post_index: np.ndarray
    mantissa: np.ndarray
    exponent: int
    delay: int
    source: str

    @property
    def input_per_spike(self) -> np.ndarray:
        """What each synapse adds to its target per spike, ``64 w 2**e`` (chip arithmetic)."""
        return 64 * scale_by_exponent(self.mantissa, self.exponent)


@dataclass(frozen=True)
class NetworkDescription:
    """A checked trained-network description.

    Attributes
    ----------
    name, title : str
        Its name and a line saying what it is.
    dt_ms : float
        The hardware time step.
    inputs : dict of str to int
        External spike inputs and their sizes.
    populations : dict of str to PopulationSpec
        In the file's order.
    projections : tuple of ProjectionSpec
        In the file's order.
    encoder : Encoder
        Turns a sample into input spikes.
    readout : str
        ``argmax_voltage`` (the class is the readout population's largest voltage after the
        last step; ties go to the lowest index) or ``spike_count`` (most spikes).
    readout_population : str
        The population read out.
    reset : str
        ``rest``: every sample starts from rest (every u, v and accumulator 0).
    source : str
        The file it was read from.
    """

    name: str
    title: str
    dt_ms: float
    inputs: dict[str, int]
    populations: dict[str, PopulationSpec]
    projections: tuple[ProjectionSpec, ...]
    encoder: Encoder
    readout: str
    readout_population: str
    reset: str
    source: str = field(default="")

    @property
    def n_steps(self) -> int:
        """Steps per sample (the encoder's)."""
        return self.encoder.n_steps


def read_description(
    path: str | os.PathLike, *, data_folder: str | os.PathLike | None = None
) -> NetworkDescription:
    """Read and check a description (TOML) and its weight files.

    Parameters
    ----------
    path : str or os.PathLike
        The TOML file.
    data_folder : str or os.PathLike, optional
        Where relative weight-file paths are resolved (default: the description's folder).

    Returns
    -------
    NetworkDescription
        The checked description with its weights.

    Raises
    ------
    DescriptionError
        Naming the file, the field, its value and what is allowed.
    """
    path = Path(path)
    raw = read_toml_file(path, what="network description", error=DescriptionError)
    base = Path(data_folder) if data_folder is not None else path.parent
    return parse_description(raw, source=str(path), data_folder=base)


def parse_description(
    raw: Mapping[str, Any], *, source: str, data_folder: str | os.PathLike
) -> NetworkDescription:
    """Check a description already parsed from TOML (or built in code).

    Parameters
    ----------
    raw : mapping
        The description's tables.
    source : str
        The name used in error messages.
    data_folder : str or os.PathLike
        Where relative weight-file paths are resolved.

    Returns
    -------
    NetworkDescription
        The checked description.
    """
    _check_keys(raw, _TOP_KEYS, source, "")
    for key in ("name", "time_step", "populations", "projections", "encoder", "readout"):
        if key not in raw:
            raise DescriptionError(f"{source}: {key} is missing; it is required")
    name = _text(raw["name"], source, "name")
    title = _text(raw.get("title", name), source, "title")
    try:
        dt_ms = float(parse_quantity(raw["time_step"], "ms", field="time_step", source=source) / ms)
    except QuantityError as error:
        raise DescriptionError(str(error)) from None
    low_ms, high_ms = TIME_STEP_RANGE_MS
    if not low_ms <= dt_ms <= high_ms:  # NaN and inf too
        raise DescriptionError(
            f"{source}: time_step = {raw['time_step']!r}; allowed: {low_ms:g} to {high_ms:g} ms "
            "(the hardware time steps of parameter files)"
        )
    inputs = _inputs(raw.get("inputs", []), source)
    populations = _populations(raw["populations"], source, dt_ms, set(inputs))
    sizes = {**inputs, **{p.name: p.size for p in populations.values()}}
    folder = Path(data_folder)
    projections = tuple(
        _projection(item, f"{source}: projections[{index}]", sizes, populations, folder)
        for index, item in enumerate(_table_list(raw["projections"], source, "projections"))
    )
    if not isinstance(raw["encoder"], Mapping):
        raise DescriptionError(f"{source}: encoder must be a table")
    try:
        encoder = encoder_from_table(raw["encoder"], f"{source}: encoder")
    except EncoderError as error:
        raise DescriptionError(str(error)) from None
    if encoder.input not in inputs:
        raise DescriptionError(
            f"{source}: encoder.input = {encoder.input!r}; allowed: one of the inputs "
            f"({', '.join(inputs) or 'none declared'})"
        )
    if encoder.n_channels != inputs[encoder.input]:
        raise DescriptionError(
            f"{source}: encoder makes {encoder.n_channels} channels but input "
            f"{encoder.input!r} has size {inputs[encoder.input]}; allowed: equal sizes"
        )
    readout = raw["readout"]
    if not isinstance(readout, Mapping):
        raise DescriptionError(f"{source}: readout must be a table")
    _check_keys(readout, _READOUT_KEYS, source, "readout")
    kind = readout.get("kind")
    if not isinstance(kind, str) or kind not in READOUTS:
        raise DescriptionError(f"{source}: readout.kind = {kind!r}; allowed: {', '.join(READOUTS)}")
    target = readout.get("population")
    if not isinstance(target, str) or target not in populations:
        raise DescriptionError(
            f"{source}: readout.population = {target!r}; allowed: one of {', '.join(populations)}"
        )
    reset = raw.get("reset", {"policy": "rest"})
    if not isinstance(reset, Mapping):
        raise DescriptionError(f"{source}: reset must be a table")
    _check_keys(reset, _RESET_KEYS, source, "reset")
    policy = reset.get("policy", "rest")
    if not isinstance(policy, str) or policy not in RESET_POLICIES:
        raise DescriptionError(
            f"{source}: reset.policy = {policy!r}; allowed: {', '.join(RESET_POLICIES)} (every "
            "sample starts from rest)"
        )
    return NetworkDescription(
        name=name,
        title=title,
        dt_ms=dt_ms,
        inputs=inputs,
        populations=populations,
        projections=projections,
        encoder=encoder,
        readout=kind,
        readout_population=target,
        reset=policy,
        source=source,
    )


# -- sections ---------------------------------------------------------------------------------


def _inputs(raw: Any, source: str) -> dict[str, int]:
    inputs: dict[str, int] = {}
    for index, item in enumerate(_table_list(raw, source, "inputs", allow_empty=True)):
        where = f"inputs[{index}]"
        _check_keys(item, {"name", "size"}, source, where)
        name = _identifier(item.get("name"), source, f"{where}.name")
        if name in inputs:
            raise DescriptionError(f"{source}: {where}.name = {name!r} is used twice")
        inputs[name] = _integer(item.get("size"), source, f"{where}.size", 1, MAX_SIZE)
    return inputs


def _populations(raw: Any, source: str, dt_ms: float, taken: set[str]) -> dict[str, PopulationSpec]:
    populations: dict[str, PopulationSpec] = {}
    for index, item in enumerate(_table_list(raw, source, "populations")):
        where = f"populations[{index}]"
        _check_keys(item, _POPULATION_KEYS, source, where)
        name = _identifier(item.get("name"), source, f"{where}.name")
        if name in populations or name in taken:
            raise DescriptionError(
                f"{source}: {where}.name = {name!r} is already an input or population name"
            )
        size = _integer(item.get("size"), source, f"{where}.size", 1, MAX_SIZE)
        decay_u = _register(item.get("decay_u", 4096), DECAY, source, f"{where}.decay_u")
        if decay_u != 4096:
            raise DescriptionError(
                f"{source}: {where}.decay_u = {decay_u}; allowed: 4096 (the current holds only "
                "the step's input, the form hardware parameter files describe)"
            )
        given = _FloatTable(item.get("float"), source, f"{where}.float")
        decay_v = _register_or_derived(
            item,
            "decay_v",
            DECAY,
            source,
            where,
            lambda given=given: _decay_for(given.tau("tau_v"), dt_ms),
        )
        vth_mant = _register_or_derived(
            item,
            "vth_mant",
            VTH_MANT,
            source,
            where,
            lambda given=given: _threshold_for(given.number("v_th")),
        )
        refract = _register(
            item.get("refract_delay", 1), REFRACT_DELAY, source, f"{where}.refract_delay"
        )
        ahp = _ahp(item, given, source, where, dt_ms)
        keep_v, tau_v_ms = given.factor("tau_v", decay_v, dt_ms)
        keep_ahp, tau_ahp_ms = given.factor("tau_ahp", ahp.decay if ahp else 4096, dt_ms)
        v_th = given.number("v_th", 64.0 * vth_mant, minimum=0.0)
        b_ahp = given.number("b_ahp", -float(ahp.input_per_spike) if ahp else 0.0)
        if ahp is None and b_ahp != 0:
            raise DescriptionError(
                f"{source}: {where}.float.b_ahp = {b_ahp:g} but the population has no AHP "
                "compartment (give [ahp] registers or float.tau_ahp)"
            )
        float_neuron = FloatNeuron(keep_v, keep_ahp, v_th, b_ahp, tau_v_ms, tau_ahp_ms)
        populations[name] = PopulationSpec(
            name, size, decay_v, vth_mant, refract, ahp, float_neuron
        )
    return populations


class _FloatTable:
    """A population's ``[float]`` table: time constants (exact decays exp(-dt/tau)), threshold
    and AHP decrement in the chip's integer voltage units."""

    def __init__(self, raw: Any, source: str, where: str) -> None:
        raw = {} if raw is None else raw
        if not isinstance(raw, Mapping):
            raise DescriptionError(f"{source}: {where} must be a table")
        _check_keys(raw, _FLOAT_KEYS, source, where)
        self.raw, self.source, self.where = raw, source, where

    def __contains__(self, key: str) -> bool:
        return key in self.raw

    def tau(self, key: str) -> float:
        """A time constant in ms (0: no memory); `DescriptionError` if absent or invalid."""
        if key not in self.raw:
            raise DescriptionError(f"{self.source}: {self.where}.{key} is missing")
        try:
            tau = parse_quantity(self.raw[key], "ms", field=f"{self.where}.{key}",
                                 source=self.source)  # fmt: skip
        except QuantityError as error:
            raise DescriptionError(str(error)) from None
        tau_ms = float(tau / ms)
        if not tau_ms >= 0:
            raise DescriptionError(
                f"{self.source}: {self.where}.{key} = {self.raw[key]!r}; allowed: >= 0 ms (0: "
                "no memory)"
            )
        return tau_ms

    def factor(self, key: str, decay: int, dt_ms: float) -> tuple[float, float]:
        """The float factor per step and its time constant: exp(-dt/tau) for a given tau, else
        the register's own (4096 - d)/4096."""
        if key not in self.raw:
            keep = (4096 - decay) / 4096
            return keep, (math.inf if decay == 0 else dt_ms * 4096 / decay)
        tau_ms = self.tau(key)
        return (0.0 if tau_ms == 0 else math.exp(-dt_ms / tau_ms)), tau_ms

    def number(self, key: str, default: float | None = None, minimum: float | None = None):
        """A plain number (threshold, decrement); `DescriptionError` if absent without default."""
        if key not in self.raw:
            if default is None:
                raise DescriptionError(f"{self.source}: {self.where}.{key} is missing")
            return default
        return _real(self.raw[key], self.source, f"{self.where}.{key}", minimum=minimum)


def _register_or_derived(item, key, spec, source, where, derive) -> int:
    """A register given in the population, or derived from its float counterpart."""
    if key in item:
        return _register(item[key], spec, source, f"{where}.{key}")
    try:
        value = derive()
    except DescriptionError as error:
        raise DescriptionError(
            f"{source}: {where}.{key} is missing and cannot come from the float neuron "
            f"({error}); give the register or its float counterpart"
        ) from None
    return _register(value, spec, source, f"{where}.{key} (from {where}.float)")


def _ahp(item, given: _FloatTable, source: str, where: str, dt_ms: float):
    """The AHP registers: the ``[ahp]`` table's, each missing one from the float neuron."""
    if "ahp" not in item and "tau_ahp" not in given:
        return None
    table = item.get("ahp", {})
    if not isinstance(table, Mapping):
        raise DescriptionError(f"{source}: {where}.ahp must be a table")
    _check_keys(table, _AHP_KEYS, source, f"{where}.ahp")
    decay = _register_or_derived(
        table,
        "decay",
        DECAY,
        source,
        f"{where}.ahp",
        lambda: _decay_for(given.tau("tau_ahp"), dt_ms),
    )
    if "weight" in table:
        weight = _mantissa(table["weight"], source, f"{where}.ahp.weight")
        exponent = _register(table.get("exponent", 0), WEIGHT_EXP, source, f"{where}.ahp.exponent")
    else:
        weight, exponent = _weight_for(given.number("b_ahp", 0.0, minimum=0.0), source, where)
    return AhpRegisters(decay=decay, weight=weight, exponent=exponent)


def _decay_for(tau_ms: float, dt_ms: float) -> int:
    """The decay register whose factor (4096 - d)/4096 is nearest exp(-dt/tau)."""
    keep = 0.0 if tau_ms == 0 else math.exp(-dt_ms / tau_ms)
    return round(4096 * (1.0 - keep))


def _threshold_for(v_th: float) -> int:
    return round(v_th / 64.0)


def _weight_for(b_ahp: float, source: str, where: str) -> tuple[int, int]:
    """Mantissa and exponent (>= 0: a negative one only drops bits) nearest a decrement."""
    for exponent in range(WEIGHT_EXP.high + 1):
        mantissa = round(b_ahp / (64.0 * 2**exponent))
        if mantissa <= MAX_MANTISSA:
            return -int(mantissa), exponent
    raise DescriptionError(
        f"{source}: {where}.float.b_ahp = {b_ahp:g}; allowed: up to 64 * 255 * 2**7 per spike"
    )


def _projection(
    raw: Any,
    where: str,
    sizes: Mapping[str, int],
    populations: Mapping[str, PopulationSpec],
    folder: Path,
) -> ProjectionSpec:
    if not isinstance(raw, Mapping):
        raise DescriptionError(f"{where} must be a table")
    unknown = sorted(set(raw) - _PROJECTION_KEYS)
    if unknown:
        raise DescriptionError(
            f"{where}: unknown key {unknown[0]!r}; allowed: {', '.join(sorted(_PROJECTION_KEYS))}"
        )
    pre, post = raw.get("pre"), raw.get("post")
    if not isinstance(pre, str) or pre not in sizes:
        raise DescriptionError(
            f"{where}.pre = {pre!r}; allowed: an input or population ({', '.join(sizes)})"
        )
    if not isinstance(post, str) or post not in populations:
        raise DescriptionError(
            f"{where}.post = {post!r}; allowed: a population ({', '.join(populations)})"
        )
    exponent = _register(raw.get("exponent", 0), WEIGHT_EXP, where, "exponent", joined=".")
    delay = _register(raw.get("delay", 0), _DELAY, where, "delay", joined=".")
    shape = (sizes[pre], sizes[post])
    if ("file" in raw) == ("one_to_one" in raw):
        raise DescriptionError(f"{where}: give either file (a weight matrix) or one_to_one")
    if "one_to_one" in raw:
        for key in ("key", "orientation", "rows", "columns"):
            if key in raw:
                raise DescriptionError(f"{where}.{key}: only for a weight file")
        if shape[0] != shape[1]:
            raise DescriptionError(
                f"{where}.one_to_one: {pre!r} has {shape[0]} and {post!r} {shape[1]}; allowed: "
                "equal sizes"
            )
        weight = _mantissa(raw["one_to_one"], where, "one_to_one", joined=".")
        matrix = np.diag(np.full(shape[0], weight, dtype=np.int64))
        described = f"one to one, weight {weight}"
    else:
        matrix, described = _weight_block(raw, where, folder, shape)
    pre_index, post_index = np.nonzero(matrix)
    return ProjectionSpec(
        pre, post, pre_index.astype(np.int64), post_index.astype(np.int64),
        matrix[pre_index, post_index].astype(np.int64), exponent, delay, described,
    )  # fmt: skip


def _weight_block(
    raw: Mapping[str, Any], where: str, folder: Path, shape: tuple[int, int]
) -> tuple[np.ndarray, str]:
    name = raw["file"]
    if not isinstance(name, str) or not name:
        raise DescriptionError(f"{where}.file = {name!r}; allowed: a path to a .npy or .npz file")
    path = Path(name) if Path(name).is_absolute() else folder / name
    array = _load_array(path, raw.get("key"), where)
    orientation = raw.get("orientation", "pre,post")
    if not isinstance(orientation, str) or orientation not in ORIENTATIONS:
        raise DescriptionError(
            f"{where}.orientation = {orientation!r}; allowed: {', '.join(ORIENTATIONS)} (the "
            "file's axes)"
        )
    if array.ndim != 2:
        raise DescriptionError(
            f"{where}.file {path}: an array of shape {array.shape}; allowed: a 2-D matrix"
        )
    matrix = array if orientation == "pre,post" else array.T
    rows = _block(raw.get("rows"), matrix.shape[0], where, "rows")
    columns = _block(raw.get("columns"), matrix.shape[1], where, "columns")
    block = matrix[rows[0] : rows[1], columns[0] : columns[1]]
    if block.shape != shape:
        raise DescriptionError(
            f"{where}.file {path}: the weights [{rows[0]}:{rows[1]}, {columns[0]}:{columns[1]}] "
            f"of the {orientation} matrix {matrix.shape} have shape {block.shape}; allowed: "
            f"{shape} ({raw['pre']!r} x {raw['post']!r}); check orientation, rows and columns"
        )
    if not np.issubdtype(block.dtype, np.number) or np.issubdtype(block.dtype, np.complexfloating):
        raise DescriptionError(f"{where}.file {path}: dtype {block.dtype}; allowed: real numbers")
    finite = np.isfinite(block)
    whole = finite & (block == np.round(np.where(finite, block, 0)))
    bad = ~whole | (np.abs(np.where(finite, block, 0)) > MAX_MANTISSA)
    if bad.any():
        r, c = (int(x) for x in np.argwhere(bad)[0])
        value = float(block[r, c])
        raise DescriptionError(
            f"{where}.file {path}: weight [{r + rows[0]}, {c + columns[0]}] = {value:g}; "
            f"allowed: whole numbers -{MAX_MANTISSA}..{MAX_MANTISSA} (8-bit mantissas; scale "
            "with exponent)"
        )
    text = f"{path.name}[{rows[0]}:{rows[1]}, {columns[0]}:{columns[1]}] ({orientation})"
    return block.astype(np.int64), text


def _load_array(path: Path, key: Any, where: str) -> np.ndarray:
    if not path.is_file():
        raise DescriptionError(f"{where}.file: {path} does not exist")
    if path.stat().st_size > MAX_WEIGHT_FILE_BYTES:
        raise DescriptionError(f"{where}.file {path}: larger than {MAX_WEIGHT_FILE_BYTES} bytes")
    try:
        loaded = np.load(path, allow_pickle=False)
    except (OSError, ValueError, zipfile.BadZipFile, EOFError):  # numpy's text would
        raise DescriptionError(  # suggest unpickling the file: never
            f"{where}.file {path}: not a numpy .npy/.npz file of numbers (empty, truncated, "
            "pickled or another format); allowed: a file written by numpy.save or numpy.savez"
        ) from None
    if isinstance(loaded, np.lib.npyio.NpzFile):
        with loaded:
            if key not in loaded.files:
                raise DescriptionError(
                    f"{where}.key = {key!r}; allowed: one of the arrays in {path.name} "
                    f"({', '.join(loaded.files)})"
                )
            try:
                return loaded[key]
            except (ValueError, OSError, zipfile.BadZipFile) as error:
                raise DescriptionError(f"{where}.file {path}[{key!r}]: {error}") from None
    if key is not None:
        raise DescriptionError(f"{where}.key = {key!r}: only for an .npz file")
    return loaded


def _block(raw: Any, length: int, where: str, name: str) -> tuple[int, int]:
    if raw is None:
        return 0, length
    if (
        not isinstance(raw, list)
        or len(raw) != 2
        or not all(isinstance(x, int) and not isinstance(x, bool) for x in raw)
        or not 0 <= raw[0] < raw[1] <= length
    ):
        raise DescriptionError(
            f"{where}.{name} = {raw!r}; allowed: [start, stop] with 0 <= start < stop <= {length}"
        )
    return raw[0], raw[1]


# -- scalars ----------------------------------------------------------------------------------


def _check_keys(raw: Mapping[str, Any], allowed: set[str], source: str, where: str) -> None:
    unknown = sorted(set(raw) - allowed)
    if unknown:
        prefix = f"{where}." if where else ""
        raise DescriptionError(
            f"{source}: unknown key {prefix}{unknown[0]}; allowed: {', '.join(sorted(allowed))}"
        )


def _table_list(raw: Any, source: str, name: str, allow_empty: bool = False) -> list:
    if not isinstance(raw, list) or not all(isinstance(x, Mapping) for x in raw):
        raise DescriptionError(f"{source}: {name} must be an array of tables ([[{name}]])")
    if not raw and not allow_empty:
        raise DescriptionError(f"{source}: {name} is empty; allowed: at least one")
    return raw


def _text(raw: Any, source: str, name: str) -> str:
    if not isinstance(raw, str) or not raw or len(raw) > 200:
        raise DescriptionError(f"{source}: {name} = {raw!r}; allowed: a text of 1-200 characters")
    return raw


def _identifier(raw: Any, source: str, name: str) -> str:
    if (
        not isinstance(raw, str)
        or not raw[:1].isalpha()
        or not raw.isascii()
        or not raw.replace("_", "a").isalnum()
        or len(raw) > 64
        or raw.rsplit("_ahp", 1)[-1].isdigit()
    ):
        raise DescriptionError(
            f"{source}: {name} = {raw!r}; allowed: a letter, then letters, digits and _ (up to "
            "64, not ending in _ahp<number>)"
        )
    return raw


def _integer(raw: Any, source: str, name: str, low: int, high: int) -> int:
    if isinstance(raw, bool) or not isinstance(raw, int) or not low <= raw <= high:
        raise DescriptionError(f"{source}: {name} = {raw!r}; allowed: an integer {low}..{high}")
    return raw


def _register(raw: Any, spec: RegisterRange, source: str, name: str, joined: str = ": ") -> int:
    if isinstance(raw, bool) or not isinstance(raw, int) or not spec.low <= raw <= spec.high:
        raise DescriptionError(
            f"{source}{joined}{name} = {raw!r}; allowed: an integer {spec.low}..{spec.high} "
            f"({spec.meaning})"
        )
    return raw


def _mantissa(raw: Any, source: str, name: str, joined: str = ": ") -> int:
    spec = RegisterRange("weight", -MAX_MANTISSA, MAX_MANTISSA, "8-bit weight mantissa")
    return _register(raw, spec, source, name, joined)


def _real(raw: Any, source: str, name: str, minimum: float | None = None) -> float:
    if isinstance(raw, bool) or not isinstance(raw, int | float) or not math.isfinite(raw):
        raise DescriptionError(f"{source}: {name} = {raw!r}; allowed: a finite number")
    if minimum is not None and raw < minimum:
        raise DescriptionError(f"{source}: {name} = {raw!r}; allowed: >= {minimum:g}")
    return float(raw)
