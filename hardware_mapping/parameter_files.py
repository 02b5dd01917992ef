"""Hardware parameter files: mapped neurons as versioned JSON, checked against a JSON Schema.

A file holds one or more `NeuronMapping` (a cell, or the cells of a population) with the
registers of every compartment, the constant-input scaling, the quantization report and the
provenance (source model and parameters with units, fit id, toolkit version, time step). The
schema is published with the package (``hardware_mapping/schema/loihi-parameters-v1.schema.json``)
and states every register's range.

Reading parses JSON only (no code is executed: no pickle, no eval; `ahp_models.input_files`
refuses NaN, infinities, deep nesting and non-UTF-8 text), checks the file's size, validates it
against the schema (a failure names the field, its value and the rule), then checks what the
schema cannot state, each failure naming its field: the source parameters complete and in
range, the AHP compartments those the source model maps to, the drive within the bias register
over the current range. Last, the digests written with each neuron, the network section and
the file (`content_digest`) catch any other edit made after the toolkit wrote it. Writing is
atomic.
"""

from __future__ import annotations

import hashlib
import json
import os
from collections import Counter
from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from functools import cache
from importlib import metadata
from pathlib import Path
from typing import Any

import jsonschema
import numpy as np

from ahp_models.catalogue import MODELS, model_for_params
from ahp_models.errors import UserError
from ahp_models.files import atomic_write_text
from ahp_models.input_files import field_name
from ahp_models.parameters import ParameterError, read_json_object
from hardware_mapping.loihi.registers import RegisterError
from hardware_mapping.network_mapping import MappedNetwork, QuantizedProjection, assemble_network
from hardware_mapping.neuron_mapping import (
    REPORT_COLUMNS,
    AhpCompartment,
    MappingError,
    NeuronMapping,
    quantization_report,
)

__all__ = [
    "FORMAT",
    "MAX_FILE_BYTES",
    "SCHEMA_PATH",
    "ParameterFileError",
    "common_time_step",
    "content_digest",
    "creation_stamp",
    "load_checked_json",
    "read_network_file",
    "read_parameter_file",
    "write_network_file",
    "write_parameter_file",
]

FORMAT = "ahp-toolkit/loihi-parameters"
VERSION = 1
SCHEMA_PATH = Path(__file__).parent / "schema" / "loihi-parameters-v1.schema.json"
#: Larger files are refused before they are parsed (100 000 neurons take about 300 MB).
MAX_FILE_BYTES = 512 * 2**20


class ParameterFileError(UserError):
    """A parameter file that cannot be read, naming the file, the field and the problem."""


def write_parameter_file(
    path: str | os.PathLike,
    mappings: Mapping[str, NeuronMapping],
    *,
    provenance: Mapping[str, Mapping[str, Any]] | None = None,
    network: Mapping[str, Any] | None = None,
    created: str | None = None,
) -> Path:
    """Write mapped neurons to a parameter file (atomically).

    Parameters
    ----------
    path : str or os.PathLike
        The file to write.
    mappings : mapping of str to NeuronMapping
        Neuron name (letters, digits, ``_.-``) -> its mapping; all at the same time step.
    provenance : mapping, optional
        Neuron name -> extra provenance: ``fit_id`` (str) and/or ``specimen_id`` (int).
    network : mapping, optional
        The file's ``network`` section (`write_network_file` makes it).
    created : str, optional
        The file's ``created`` stamp (ISO 8601, UTC); default `creation_stamp`.

    Returns
    -------
    pathlib.Path
        The written file.
    """
    time_step_ms = common_time_step(path, mappings)
    document = {
        "format": FORMAT,
        "version": VERSION,
        "chip": "loihi1",
        "time_step_ms": time_step_ms,
        "toolkit_version": toolkit_version(),
        "created": created or creation_stamp(),
        "neurons": [
            _with_digest(
                _neuron_document(name, mapping, (provenance or {}).get(name, {})), time_step_ms
            )
            for name, mapping in mappings.items()
        ],
    }
    if network is not None:
        document["network"] = _with_digest(dict(network), time_step_ms)
    document["digest"] = content_digest(_file_contents(document), time_step_ms)
    validate_against_schema(document, path)
    atomic_write_text(path, json.dumps(document, indent=1, allow_nan=False) + "\n")
    return Path(path)


def read_parameter_file(path: str | os.PathLike) -> dict[str, NeuronMapping]:
    """Read and check a parameter file.

    Parameters
    ----------
    path : str or os.PathLike
        The file.

    Returns
    -------
    dict of str to NeuronMapping
        The neurons, by name, in file order.

    Raises
    ------
    ParameterFileError
        Naming the file, the field (``neurons[2].main.decay_v``), its value and the rule.
    """
    document = load_checked_json(path)
    mappings = _neurons(document, path)
    _check_file_digest(document, path)
    return mappings


def load_checked_json(path: str | os.PathLike, schema_path: Path = SCHEMA_PATH) -> dict[str, Any]:
    """Parse a file of the package's formats (size-checked, JSON only: nothing is executed)
    and validate it against its JSON Schema.

    Raises
    ------
    ParameterFileError
        Naming the file and, for a schema violation, the field, its value and the rule.
    """
    try:
        size = os.path.getsize(path)
    except OSError as error:
        raise ParameterFileError(f"cannot read {path}: {error.strerror}") from None
    if size > MAX_FILE_BYTES:
        raise ParameterFileError(
            f"{path}: {size} bytes; allowed: at most {MAX_FILE_BYTES} bytes (split the neurons "
            "over several files)"
        )
    try:
        document = read_json_object(path)
    except ParameterError as error:
        raise ParameterFileError(str(error)) from None
    validate_against_schema(document, path, schema_path)
    return document


def _neurons(document: Mapping[str, Any], path: str | os.PathLike) -> dict[str, NeuronMapping]:
    mappings: dict[str, NeuronMapping] = {}
    for index, neuron in enumerate(document["neurons"]):
        name = neuron["name"]
        if name in mappings:
            raise ParameterFileError(f"{path}: neurons[{index}].name = {name!r} appears twice")
        where = f"{path}: neurons[{index}]"
        mappings[name] = _mapping(neuron, document["time_step_ms"], where)
        _check_digest(neuron, document["time_step_ms"], where, f"neuron {name!r}")
    return mappings


def content_digest(section: Mapping[str, Any], time_step_ms: float) -> str:
    """The digest of a neuron's entry or a network section of a parameter file.

    SHA-256 of the canonical JSON text (sorted keys, no spaces, characters unescaped) of
    ``{"chip": "loihi1", "time_step_ms": ..., "neuron": section}`` where ``section`` lacks its
    ``digest`` field. Writers store it; readers refuse a section whose content no longer
    matches, so registers cannot silently part from the source model they were mapped from.

    Parameters
    ----------
    section : mapping
        The parsed section (as `json.loads` gives it).
    time_step_ms : float
        The file's time step.

    Returns
    -------
    str
        ``"sha256:"`` and 64 hexadecimal digits.
    """
    content = {key: value for key, value in section.items() if key != "digest"}
    text = json.dumps(
        {"chip": "loihi1", "time_step_ms": time_step_ms, "neuron": content},
        sort_keys=True,
        separators=(",", ":"),
        ensure_ascii=False,
        allow_nan=False,
    )
    return "sha256:" + hashlib.sha256(text.encode("utf-8")).hexdigest()


def _with_digest(section: dict[str, Any], time_step_ms: float) -> dict[str, Any]:
    # digest the section as a reader will parse it (tuples as lists, numpy scalars as numbers)
    parsed = json.loads(json.dumps(_jsonable(section), allow_nan=False))
    return {**parsed, "digest": content_digest(parsed, time_step_ms)}


def _file_contents(document: Mapping[str, Any]) -> dict[str, Any]:
    # what the file digest covers: which neurons, in which order, and which network
    network = document.get("network")
    return {
        "neurons": [neuron["digest"] for neuron in document["neurons"]],
        "network": None if network is None else network["digest"],
    }


def _check_file_digest(document: Mapping[str, Any], path: str | os.PathLike) -> None:
    if document["digest"] != content_digest(_file_contents(document), document["time_step_ms"]):
        raise ParameterFileError(
            f"{path}: digest = {document['digest'][:19]}...: neurons were removed, added or "
            "reordered, or the network section replaced, after the toolkit wrote the file; "
            "allowed: the file as `ahp map` or `ahp network export` wrote it"
        )


def _check_digest(section: Mapping[str, Any], time_step_ms: float, where: str, what: str) -> None:
    if section["digest"] != content_digest(section, time_step_ms):
        raise ParameterFileError(
            f"{where}.digest = {section['digest'][:19]}...: the {what} was changed after the "
            "toolkit wrote it (its registers, report, source or the file's time_step_ms no "
            "longer match the digest); allowed: the file as `ahp map` or `ahp network export` "
            "wrote it (map the source model again to change it)"
        )


def common_time_step(path: str | os.PathLike, mappings: Mapping[str, NeuronMapping]) -> float:
    """The one hardware step of the mappings a file will hold (ms).

    Raises
    ------
    ParameterFileError
        For no mappings, or mappings at different steps.
    """
    if not mappings:
        raise ParameterFileError(f"{path}: no neurons to write")
    steps = {mapping.dt_ms for mapping in mappings.values()}
    if len(steps) != 1:
        raise ParameterFileError(
            f"{path}: the neurons were mapped at different time steps {sorted(steps)} ms; one "
            "file holds one time step"
        )
    return steps.pop()


def write_network_file(
    path: str | os.PathLike,
    mapped: MappedNetwork,
    *,
    provenance: Mapping[str, Mapping[str, Any]] | None = None,
) -> Path:
    """Write a mapped network (its neurons, populations and projections) atomically.

    Parameters
    ----------
    path : str or os.PathLike
        The file to write.
    mapped : MappedNetwork
        From `hardware_mapping.network_mapping.map_network`.
    provenance : mapping, optional
        Neuron name (``POPULATION.INDEX``) -> extra provenance, as in `write_parameter_file`.

    Returns
    -------
    pathlib.Path
        The written file.
    """
    mappings = {
        f"{population}.{index}": mapping
        for population, members in mapped.mappings.items()
        for index, mapping in enumerate(members)
    }
    network = {
        "populations": [
            {
                "name": population,
                "neurons": [f"{population}.{index}" for index in range(len(members))],
                "currents_pA": [float(c) for c in mapped.currents_pA[population]],
            }
            for population, members in mapped.mappings.items()
        ],
        "projections": [
            {
                "pre": p.pre,
                "post": p.post,
                "pre_index": p.pre_index.tolist(),
                "post_index": p.post_index.tolist(),
                "weight_mant": p.mantissa.tolist(),
                "weight_exp": p.exponent.tolist(),
                "delay": p.delay.tolist(),
                "requested": p.requested.tolist(),
            }
            for p in mapped.projections
        ],
    }
    if mapped.inputs:
        network["inputs"] = [{"name": n, "size": int(k)} for n, k in mapped.inputs.items()]
    return write_parameter_file(path, mappings, provenance=provenance, network=network)


def read_network_file(path: str | os.PathLike) -> MappedNetwork:
    """Read a network parameter file and rebuild its fixed-point network.

    Parameters
    ----------
    path : str or os.PathLike
        A file written by `write_network_file`.

    Returns
    -------
    MappedNetwork
        The network, mappings, currents, projections and resources.

    Raises
    ------
    ParameterFileError
        Naming the file, the field, its value and what is allowed.
    """
    document = load_checked_json(path)
    neurons = _neurons(document, path)
    network = document.get("network")
    if network is None:
        raise ParameterFileError(f"{path}: no network section (a file of single neurons)")
    mappings, currents, used = {}, {}, set()
    for index, population in enumerate(network["populations"]):
        where = f"{path}: network.populations[{index}]"
        name = population["name"]
        if name in mappings:
            raise ParameterFileError(f"{where}.name = {name!r} appears twice")
        repeated = [n for n, count in Counter(population["neurons"]).items() if count > 1]
        unknown = repeated + [n for n in population["neurons"] if n not in neurons or n in used]
        if unknown:
            raise ParameterFileError(
                f"{where}.neurons: {unknown[0]!r}; allowed: a neuron of the file, in one "
                "population only"
            )
        used.update(population["neurons"])
        if len(population["currents_pA"]) != len(population["neurons"]):
            raise ParameterFileError(
                f"{where}.currents_pA: {len(population['currents_pA'])} values; allowed: one "
                f"per neuron ({len(population['neurons'])})"
            )
        mappings[name] = [neurons[n] for n in population["neurons"]]
        currents[name] = np.asarray(population["currents_pA"], dtype=float)
    inputs = {}
    for index, spike_input in enumerate(network.get("inputs", [])):
        name = spike_input["name"]
        if name in inputs or name in mappings:
            raise ParameterFileError(
                f"{path}: network.inputs[{index}].name = {name!r} is already used; allowed: a "
                "name no population or other input has"
            )
        inputs[name] = spike_input["size"]
    sources = {**mappings, **{name: range(size) for name, size in inputs.items()}}
    projections = [
        _projection(projection, mappings, sources, f"{path}: network.projections[{index}]")
        for index, projection in enumerate(network["projections"])
    ]
    # the named checks above first; then the digests catch any other change to the file
    _check_digest(network, document["time_step_ms"], f"{path}: network", "network section")
    _check_file_digest(document, path)
    try:  # a current outside a neuron's mapped range, a delay beyond the delay bits
        return assemble_network(mappings, currents, projections, inputs)
    except (MappingError, RegisterError) as error:
        raise ParameterFileError(f"{path}: network: {error}") from None


def _projection(
    projection: Mapping[str, Any],
    mappings: Mapping[str, list],
    sources: Mapping[str, Any],
    where: str,
) -> QuantizedProjection:
    arrays = {
        key: np.asarray(projection[key], dtype=float if key == "requested" else np.int64)
        for key in ("pre_index", "post_index", "weight_mant", "weight_exp", "delay", "requested")
    }
    sizes = {key: value.size for key, value in arrays.items()}
    if len(set(sizes.values())) > 1:
        raise ParameterFileError(
            f"{where}: arrays of lengths {sizes}; allowed: one entry per synapse in each"
        )
    for end, allowed in (("pre", sources), ("post", mappings)):
        population = projection[end]
        if population not in allowed:
            raise ParameterFileError(
                f"{where}.{end} = {population!r}; allowed: one of {', '.join(allowed)}"
            )
        indices = arrays[f"{end}_index"]
        if indices.size and indices.max() >= len(allowed[population]):
            raise ParameterFileError(
                f"{where}.{end}_index holds {int(indices.max())}; allowed: 0.."
                f"{len(allowed[population]) - 1} ("
                f"{'population' if population in mappings else 'input'} {population!r})"
            )
    return QuantizedProjection(
        projection["pre"], projection["post"], arrays["pre_index"], arrays["post_index"],
        arrays["weight_mant"], arrays["weight_exp"], arrays["delay"], arrays["requested"],
    )  # fmt: skip


def _neuron_document(name: str, mapping: NeuronMapping, extra: Mapping[str, Any]) -> dict:
    source = {"model": mapping.source["model"], "parameters": mapping.source["parameters"]}
    for key in ("fit_id", "specimen_id"):
        if key in extra:
            source[key] = extra[key] if key == "fit_id" else int(extra[key])
    report = mapping.report[list(REPORT_COLUMNS)]
    return {
        "name": name,
        "model": mapping.model,
        "scale_per_mV": mapping.scale_per_mV,
        "main": {
            "decay_u": 4096,
            "decay_v": mapping.decay_v,
            "vth_mant": mapping.vth_mant,
            "refract_delay": mapping.refract_delay,
            "v_rest": mapping.v_rest,
        },
        "aux": [
            {
                "decay_v": compartment.decay,
                "bias_mant": compartment.bias,
                **({"bias_per_pA": compartment.bias_per_pA} if compartment.bias_per_pA else {}),
                "weights": [{"mant": w, "exp": e} for w, e in compartment.weights],
            }
            for compartment in mapping.aux
        ],
        "input": {
            "drive_offset": mapping.drive_offset,
            "drive_per_pA": mapping.drive_per_pA,
            "float_keep_v": mapping.float_keep_v,
            "current_range_pA": list(mapping.current_range_pA),
            **(
                {"share_horizon_steps": mapping.share_horizon_steps}
                if mapping.takes_input_share
                else {}
            ),
        },
        "quantization": [_finite_or_null(row) for row in report.to_dict(orient="records")],
        "source": _jsonable(source),
    }


def _mapping(neuron: Mapping[str, Any], dt_ms: float, where: str) -> NeuronMapping:
    source = neuron["source"]
    model_class = MODELS.get(source["model"])
    if model_class is None or source["model"] != neuron["model"]:
        raise ParameterFileError(
            f"{where}.source.model = {source['model']!r}; allowed: the neuron's model "
            f"{neuron['model']!r}"
        )
    _check_source_complete(source, model_class, where)
    low_pA, high_pA = neuron["input"]["current_range_pA"]
    if not low_pA <= high_pA:  # equal: a neuron of a network, without constant input
        raise ParameterFileError(
            f"{where}.input.current_range_pA = [{low_pA:g}, {high_pA:g}]: reversed; allowed: "
            "[low, high] with low <= high"
        )
    report = quantization_report(neuron["quantization"])
    main = neuron["main"]
    mapping = NeuronMapping(
        model=neuron["model"],
        dt_ms=float(dt_ms),
        scale_per_mV=float(neuron["scale_per_mV"]),
        decay_v=main["decay_v"],
        vth_mant=main["vth_mant"],
        refract_delay=main["refract_delay"],
        v_rest=main["v_rest"],
        drive_offset=float(neuron["input"]["drive_offset"]),
        drive_per_pA=float(neuron["input"]["drive_per_pA"]),
        float_keep_v=float(neuron["input"]["float_keep_v"]),
        current_range_pA=tuple(float(c) for c in neuron["input"]["current_range_pA"]),
        aux=tuple(
            AhpCompartment(
                decay=aux["decay_v"],
                weights=tuple((w["mant"], w["exp"]) for w in aux["weights"]),
                bias=aux["bias_mant"],
                bias_per_pA=float(aux.get("bias_per_pA", 0.0)),
            )
            for aux in neuron["aux"]
        ),
        report=report,
        source={"model": source["model"], "parameters": source["parameters"]},
        share_horizon_steps=float(neuron["input"].get("share_horizon_steps", 1000.0)),
    )
    if mapping.takes_input_share and "share_horizon_steps" not in neuron["input"]:
        raise ParameterFileError(
            f"{where}.input: 'share_horizon_steps' is missing; allowed: the horizon (steps) "
            "over which the main bias matches the pull of AHP compartments with a bias_per_pA"
        )
    try:  # units and ranges of the float parameters, as every parameter file of the toolkit
        params = mapping.source_parameters(where=f"{where}.source")
    except ParameterError as error:
        raise ParameterFileError(str(error)) from None
    if params.n_neurons not in (None, 1):
        raise ParameterFileError(
            f"{where}.source.parameters: values for {params.n_neurons} neurons; allowed: one "
            "value per parameter (one per current for per-current parameters)"
        )
    _check_compartments(mapping, params, where)
    # each AHP compartment's share of the input, with its bias, must fit the register; they
    # first, since the main bias takes up their rounding
    for k, compartment in enumerate(mapping.aux):
        _check_bias_range(
            compartment.bias_registers,
            f"{where}.aux[{k}]: bias_mant {compartment.bias} and bias_per_pA "
            f"{compartment.bias_per_pA:g}",
            (low_pA, high_pA),
        )
    # the drive over the whole current range must fit the bias register
    _check_bias_range(
        mapping.bias_registers,
        f"{where}.input: drive_offset {mapping.drive_offset:g} and drive_per_pA "
        f"{mapping.drive_per_pA:g}",
        (low_pA, high_pA),
    )
    return mapping


def _check_bias_range(
    registers: Callable[[np.ndarray], Any], what: str, current_range_pA: tuple[float, float]
) -> None:
    """Refuse a bias that leaves its register somewhere in the current range, naming ``what``
    (the file's fields and values)."""
    low_pA, high_pA = current_range_pA
    try:
        registers(np.linspace(low_pA, high_pA, 17))
    except MappingError as error:
        raise ParameterFileError(
            f"{what} over current_range_pA [{low_pA:g}, {high_pA:g}]: {error}"
        ) from None


def _check_compartments(mapping: NeuronMapping, params: Any, where: str) -> None:
    # each spike-triggered term of the source model is one AHP compartment, or a pair whose
    # decays bracket its time constant: a compartment added or removed shows here by name
    # (a term of zero strength may have none)
    form = model_for_params(params).hardware_form(params, mapping.dt_ms * 1e-3)
    # a share of the input (lif_ahp_input) rides on AHP compartments: dropped or added, it
    # would change the neuron without an error. The mapper leaves it to the main bias only
    # where its bias would stay below one unit per compartment (of at most a pair) over the
    # whole range (`hardware_mapping.quantization`)
    top = abs(max(mapping.current_range_pA, key=abs))
    resolvable = [s for s in form.inputs if mapping.scale_per_mV * abs(s.per_pA) * top >= 2.0]
    shares = sum(share.per_pA != 0 for share in form.inputs)
    if (resolvable and not mapping.takes_input_share) or (mapping.takes_input_share and not shares):
        raise ParameterFileError(
            f"{where}.aux: {'no' if shares else 'a'} compartment with a nonzero bias_per_pA; "
            f"allowed: {'one or more' if shares else 'none'}, since the source model "
            f"{mapping.source['model']!r} takes {'a' if shares else 'no'} share of its input"
        )
    acting = sum(1 for term in form.terms if term.inflow != 0)
    if not acting <= len(mapping.aux) <= 2 * len(form.terms):
        raise ParameterFileError(
            f"{where}.aux: {len(mapping.aux)} compartments; allowed: {acting} to "
            f"{2 * len(form.terms)} (the source model {mapping.source['model']!r} has "
            f"{len(form.terms)} spike-triggered term(s), {acting} of nonzero strength, each "
            "one compartment or a pair of decays)"
        )


def _check_source_complete(source: Mapping[str, Any], model_class: Any, where: str) -> None:
    # a parameter left out would silently take the catalogue's default
    expected = list(model_class.params_class.specs())
    missing = [name for name in expected if name not in source["parameters"]]
    if missing:
        raise ParameterFileError(
            f"{where}.source.parameters: {missing[0]!r} is missing; allowed: every parameter "
            f"of model {source['model']!r} ({', '.join(expected)}), none taking a default"
        )


@cache
def _validator(schema_path: Path) -> jsonschema.protocols.Validator:
    schema = json.loads(schema_path.read_text(encoding="utf-8"))
    validator_class = jsonschema.validators.validator_for(schema)
    validator_class.check_schema(schema)
    return validator_class(schema)


def validate_against_schema(
    document: Any, path: str | os.PathLike, schema_path: Path = SCHEMA_PATH
) -> None:
    """Check a parsed file against a JSON Schema of the package.

    Raises
    ------
    ParameterFileError
        For the most relevant violation, naming the file, the field, its value and the rule.
    """
    errors = sorted(
        _validator(schema_path).iter_errors(document), key=lambda e: list(e.absolute_path)
    )
    if not errors:
        return
    # the shallowest error, except inside oneOf/anyOf where the deepest names the field
    error = jsonschema.exceptions.best_match(errors)
    field = field_name(error.absolute_path)
    value = json.dumps(error.instance)
    if len(value) > 80:
        value = value[:77] + "..."
    raise ParameterFileError(f"{path}: {field} = {value}: {_rule(error)}")


def _rule(error: jsonschema.ValidationError) -> str:
    # jsonschema quotes the whole instance in some messages: say what is allowed instead
    if error.validator in ("maxItems", "minItems") and isinstance(error.instance, list):
        bound = "at most" if error.validator == "maxItems" else "at least"
        return f"{len(error.instance)} items; allowed: {bound} {error.validator_value}"
    if error.validator == "maxProperties" and isinstance(error.instance, dict):
        return f"{len(error.instance)} entries; allowed: at most {error.validator_value}"
    if error.validator == "maxLength" and isinstance(error.instance, str):
        return f"{len(error.instance)} characters; allowed: at most {error.validator_value}"
    return error.message[:300]


def _finite_or_null(row: Mapping[str, Any]) -> dict[str, Any]:
    # JSON has no inf or NaN: an undefined realized value (a decay of 0) is written as null
    return {k: None if isinstance(v, float) and not np.isfinite(v) else v for k, v in row.items()}


def _jsonable(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple | np.ndarray):
        return [_jsonable(v) for v in value]
    if isinstance(value, np.generic):
        return value.item()
    return value


def toolkit_version() -> str:
    """The installed ahp-toolkit version (``unknown`` in a source tree not installed)."""
    try:
        return metadata.version("ahp-toolkit")
    except metadata.PackageNotFoundError:  # a source tree that was not installed
        return "unknown"


def creation_stamp() -> str:
    """The ``created`` stamp of a file written now: the time in UTC, or ``SOURCE_DATE_EPOCH``.

    ``SOURCE_DATE_EPOCH`` (seconds since 1970, the reproducible-builds convention) makes files
    written at different times byte-identical.

    Raises
    ------
    ParameterFileError
        If ``SOURCE_DATE_EPOCH`` is set but not a whole number of seconds >= 0.
    """
    epoch = os.environ.get("SOURCE_DATE_EPOCH")
    if epoch is None:
        return datetime.now(UTC).isoformat(timespec="seconds")
    if not epoch.strip().isdigit():
        raise ParameterFileError(
            f"SOURCE_DATE_EPOCH = {epoch!r}; allowed: whole seconds since 1970-01-01, >= 0"
        )
    return datetime.fromtimestamp(int(epoch), UTC).isoformat(timespec="seconds")
