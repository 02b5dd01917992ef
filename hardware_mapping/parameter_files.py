"""Hardware parameter files: mapped neurons as versioned JSON, checked against a JSON Schema.

A file holds one or more `NeuronMapping` (a cell, or the cells of a population) with the
registers of every compartment, the constant-input scaling, the quantization report and the
provenance (source model and parameters with units, fit id, toolkit version, time step). The
schema is published with the package (``hardware_mapping/schema/loihi-parameters-v1.schema.json``)
and states every register's range.

Reading parses JSON only (no code is executed: no pickle, no eval), refuses NaN and Infinity,
checks the file's size, validates it against the schema (a failure names the field, its value
and the rule) and then the source parameters with their units. Writing is atomic.
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping
from datetime import UTC, datetime
from functools import cache
from importlib import metadata
from pathlib import Path
from typing import Any

import jsonschema
import numpy as np

from ahp_models.catalogue import MODELS
from ahp_models.files import atomic_write_text
from ahp_models.parameters import ParameterError, read_json_object
from hardware_mapping.neuron_mapping import (
    REPORT_COLUMNS,
    AhpCompartment,
    NeuronMapping,
    quantization_report,
)

__all__ = [
    "FORMAT",
    "MAX_FILE_BYTES",
    "SCHEMA_PATH",
    "ParameterFileError",
    "read_parameter_file",
    "write_parameter_file",
]

FORMAT = "ahp-toolkit/loihi-parameters"
VERSION = 1
SCHEMA_PATH = Path(__file__).parent / "schema" / "loihi-parameters-v1.schema.json"
#: Larger files are refused before they are parsed (100 000 neurons take about 300 MB).
MAX_FILE_BYTES = 512 * 2**20


class ParameterFileError(ValueError):
    """A parameter file that cannot be read, naming the file, the field and the problem."""


def write_parameter_file(
    path: str | os.PathLike,
    mappings: Mapping[str, NeuronMapping],
    *,
    provenance: Mapping[str, Mapping[str, Any]] | None = None,
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

    Returns
    -------
    pathlib.Path
        The written file.
    """
    if not mappings:
        raise ParameterFileError(f"{path}: no neurons to write")
    steps = {mapping.dt_ms for mapping in mappings.values()}
    if len(steps) != 1:
        raise ParameterFileError(
            f"{path}: the neurons were mapped at different time steps {sorted(steps)} ms; one "
            "file holds one time step"
        )
    document = {
        "format": FORMAT,
        "version": VERSION,
        "chip": "loihi1",
        "time_step_ms": steps.pop(),
        "toolkit_version": toolkit_version(),
        "created": datetime.now(UTC).isoformat(timespec="seconds"),
        "neurons": [
            _neuron_document(name, mapping, (provenance or {}).get(name, {}))
            for name, mapping in mappings.items()
        ],
    }
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
    try:
        size = os.path.getsize(path)
    except OSError as error:
        raise ParameterFileError(f"cannot read parameter file {path}: {error.strerror}") from None
    if size > MAX_FILE_BYTES:
        raise ParameterFileError(
            f"{path}: {size} bytes; allowed: at most {MAX_FILE_BYTES} bytes (split the neurons "
            "over several files)"
        )
    try:
        document = read_json_object(path)
    except ParameterError as error:
        raise ParameterFileError(str(error)) from None
    validate_against_schema(document, path)
    mappings: dict[str, NeuronMapping] = {}
    for index, neuron in enumerate(document["neurons"]):
        name = neuron["name"]
        if name in mappings:
            raise ParameterFileError(f"{path}: neurons[{index}].name = {name!r} appears twice")
        mappings[name] = _mapping(neuron, document["time_step_ms"], f"{path}: neurons[{index}]")
    return mappings


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
                "weights": [{"mant": w, "exp": e} for w, e in compartment.weights],
            }
            for compartment in mapping.aux
        ],
        "input": {
            "drive_offset": mapping.drive_offset,
            "drive_per_pA": mapping.drive_per_pA,
            "float_keep_v": mapping.float_keep_v,
            "current_range_pA": list(mapping.current_range_pA),
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
            )
            for aux in neuron["aux"]
        ),
        report=report,
        source={"model": source["model"], "parameters": source["parameters"]},
    )
    try:  # units and ranges of the float parameters, as every parameter file of the toolkit
        mapping.source_parameters(where=f"{where}.source")
    except ParameterError as error:
        raise ParameterFileError(str(error)) from None
    return mapping


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
    field = _field_name(error.absolute_path)
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


def _field_name(path: Any) -> str:
    name = ""
    for part in path:
        name += f"[{part}]" if isinstance(part, int) else (f".{part}" if name else str(part))
    return name or "(the document)"


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
