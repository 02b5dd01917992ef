"""Reading users' JSON and TOML files so that no file can execute code, hang or crash a reader.

Every structured input of the toolkit (parameter files, study configs, network descriptions,
parameter sets) goes through `read_json_file` or `read_toml_file`. They parse data only (no
pickle, no eval), and refuse, in one line naming the file and what is allowed:

- files larger than a bound, and paths that are not regular files;
- text that is not UTF-8 (a UTF-8 byte-order mark is accepted);
- numbers that are not finite: ``NaN``, ``Infinity``, ``inf``, ``nan``, and literals such as
  ``1e400`` that overflow a double to infinity (the error names the field that holds it);
- integer literals longer than `MAX_INTEGER_DIGITS` digits (converting them takes time
  quadratic in their length; range checks of the fields come later and name the field);
- nesting deeper than `MAX_NESTING` levels;
- a key given twice in one JSON object (the parser would keep only the last value).
"""

from __future__ import annotations

import io
import json
import math
import os
import stat
import tomllib
from pathlib import Path
from typing import Any

import numpy as np

from ahp_models.errors import UserError

__all__ = [
    "MAX_INPUT_BYTES",
    "MAX_INTEGER_DIGITS",
    "MAX_NESTING",
    "InputFileError",
    "check_nesting",
    "field_name",
    "read_array_file",
    "read_json_file",
    "read_text_file",
    "read_toml_file",
]

#: Larger files are refused before they are read (a 100 000-neuron parameter file is ~300 MB).
MAX_INPUT_BYTES = 512 * 2**20
#: Deepest nesting of arrays and objects accepted (the toolkit's formats use at most 6).
MAX_NESTING = 32
#: Longest integer literal parsed (no field of the toolkit holds more than 18 digits).
MAX_INTEGER_DIGITS = 100


class InputFileError(UserError):
    """A JSON or TOML file that cannot be read, naming the file and the problem."""


class _Refusal(Exception):
    """Raised inside the parsers' hooks; turned into the caller's error with the file's name."""


def read_text_file(
    path: str | os.PathLike,
    *,
    what: str = "file",
    max_bytes: int = MAX_INPUT_BYTES,
    error: type[UserError] = InputFileError,
) -> str:
    """Read a regular UTF-8 text file of bounded size.

    Parameters
    ----------
    path : str or os.PathLike
        The file.
    what : str
        What the file is, for errors (``"parameter file"``).
    max_bytes : int
        Larger files are refused before they are read.
    error : type
        The `UserError` subclass raised.

    Returns
    -------
    str
        The text, without a leading byte-order mark.

    Raises
    ------
    UserError
        Of type ``error``, naming the file: missing, not a regular file, too large, not UTF-8.
    """
    _check_regular_file(path, what, max_bytes, error)
    try:
        data = Path(path).read_bytes()
    except OSError as err:
        raise error(f"cannot read {what} {path}: {err.strerror}") from None
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as err:
        raise error(
            f"{path}: byte {err.start} (0x{data[err.start]:02x}) is not UTF-8; allowed: a "
            f"UTF-8 text {what}"
        ) from None


def _check_regular_file(path, what: str, max_bytes: int, error) -> None:
    try:
        status = os.stat(path)
    except (OSError, ValueError) as err:  # ValueError: a NUL in the name
        reason = err.strerror if isinstance(err, OSError) else str(err)
        raise error(f"cannot read {what} {path}: {reason}") from None
    if not stat.S_ISREG(status.st_mode):
        raise error(f"cannot read {what} {path}: not a regular file; allowed: a file")
    if status.st_size > max_bytes:
        raise error(f"{path}: {status.st_size} bytes; allowed: at most {max_bytes} bytes")


def read_array_file(
    path: str | os.PathLike,
    option: str,
    *,
    max_bytes: int = MAX_INPUT_BYTES,
    error: type[UserError] = InputFileError,
) -> np.ndarray:
    """Read a numeric array from a ``.npy`` file (never unpickled) or a comma-separated text.

    Parameters
    ----------
    path : str or os.PathLike
        The file: ``.npy``, or text with one row per line and values separated by commas.
    option : str
        The option or field that named it, for errors (``"--current-file"``).
    max_bytes : int
        Larger files are refused before they are read.
    error : type
        The `UserError` subclass raised.

    Returns
    -------
    numpy.ndarray
        Finite float64 values, one or two dimensions, at least one value.

    Raises
    ------
    UserError
        Of type ``error``: a missing, oversized, pickled, non-numeric, empty or non-finite file.
    """
    where = f"{option} {path}"
    read_text = Path(path).suffix != ".npy"
    if read_text:
        text = read_text_file(path, what=option, max_bytes=max_bytes, error=error)
        if not text.strip():  # numpy would only warn and return nothing
            raise error(f"{where}: empty; allowed: numbers separated by commas, a row per line")
        try:
            values = np.loadtxt(io.StringIO(text), delimiter=",", ndmin=2, dtype=float)
        except ValueError as err:
            raise error(f"{where}: not numbers separated by commas ({err})") from None
    else:
        _check_regular_file(path, option, max_bytes, error)
        try:
            values = np.load(path, allow_pickle=False)  # never unpickle: no code from files
        except (OSError, ValueError, EOFError):  # numpy's text would suggest unpickling
            raise error(
                f"{where}: not a numpy array without Python objects (no pickles); allowed: a "
                "file written by numpy.save"
            ) from None
        if not isinstance(values, np.ndarray) or values.dtype.kind not in "biuf":
            raise error(f"{where}: dtype {getattr(values, 'dtype', None)}; allowed: numbers")
        values = values.astype(float)
    if values.ndim not in (1, 2) or values.size == 0:
        raise error(f"{where}: shape {values.shape}; allowed: one or two dimensions, not empty")
    if not np.isfinite(values).all():
        raise error(f"{where}: holds NaN or infinite values; allowed: finite numbers")
    return values


def read_json_file(
    path: str | os.PathLike,
    *,
    what: str = "file",
    max_bytes: int = MAX_INPUT_BYTES,
    error: type[UserError] = InputFileError,
) -> Any:
    """Parse a JSON file with the checks of this module.

    Parameters
    ----------
    path, what, max_bytes, error
        As in `read_text_file`.

    Returns
    -------
    object
        The parsed document (dicts, lists, str, int, finite float, bool, None).

    Raises
    ------
    UserError
        Of type ``error``, naming the file, the position where known, and what is allowed.
    """
    text = read_text_file(path, what=what, max_bytes=max_bytes, error=error)
    try:
        document = json.loads(
            text, parse_constant=float, parse_int=_bounded_int, object_pairs_hook=_unique_keys
        )
    except json.JSONDecodeError as err:
        raise error(
            f"{path}: malformed JSON at line {err.lineno}, column {err.colno}: {err.msg}"
        ) from None
    except _Refusal as err:
        raise error(f"{path}: {err}") from None
    except RecursionError:
        raise error(f"{path}: nested too deeply; allowed: at most {MAX_NESTING} levels") from None
    _check_nesting_or_raise(document, path, error)
    _check_numbers(document, path, error)
    return document


def read_toml_file(
    path: str | os.PathLike,
    *,
    what: str = "file",
    max_bytes: int = MAX_INPUT_BYTES,
    error: type[UserError] = InputFileError,
) -> dict[str, Any]:
    """Parse a TOML file with the checks of this module (``inf`` and ``nan`` are refused).

    Parameters
    ----------
    path, what, max_bytes, error
        As in `read_text_file`.

    Returns
    -------
    dict
        The parsed tables.

    Raises
    ------
    UserError
        Of type ``error``, naming the file and the problem.
    """
    text = read_text_file(path, what=what, max_bytes=max_bytes, error=error)
    try:
        document = tomllib.loads(text)
    except tomllib.TOMLDecodeError as err:
        raise error(f"{path}: malformed TOML: {err}") from None
    except RecursionError:
        raise error(f"{path}: nested too deeply; allowed: at most {MAX_NESTING} levels") from None
    except ValueError:  # an integer literal of over 4300 digits (Python's own limit)
        raise error(
            f"{path}: an integer literal of over 4300 digits; allowed: integers of at most "
            f"{MAX_INTEGER_DIGITS} digits"
        ) from None
    _check_nesting_or_raise(document, path, error)
    _check_numbers(document, path, error)
    return document


def check_nesting(value: Any, limit: int = MAX_NESTING) -> bool:
    """Whether lists and dicts in ``value`` nest at most ``limit`` levels (iterative)."""
    stack = [(value, 1)]
    while stack:
        item, depth = stack.pop()
        if isinstance(item, dict):
            children = item.values()
        elif isinstance(item, list):
            children = item
        else:
            continue
        if depth > limit:
            return False
        stack.extend((child, depth + 1) for child in children)
    return True


def _check_nesting_or_raise(document: Any, path, error) -> None:
    if not check_nesting(document):
        raise error(f"{path}: nested too deeply; allowed: at most {MAX_NESTING} levels")


def field_name(parts: Any) -> str:
    """A field's name from its path of keys and indices: ``neurons[0].main.vth_mant``."""
    name = ""
    for part in parts:
        name += f"[{part}]" if isinstance(part, int) else (f".{part}" if name else str(part))
    return name or "(the document)"


def _check_numbers(document: Any, path, error) -> None:
    # NaN, the infinities and overflowing literals were parsed as floats: name their field
    stack: list[tuple[Any, tuple]] = [(document, ())]
    while stack:
        item, where = stack.pop()
        if isinstance(item, dict):
            stack.extend((value, (*where, key)) for key, value in item.items())
        elif isinstance(item, list):
            stack.extend((value, (*where, index)) for index, value in enumerate(item))
        elif isinstance(item, int) and not isinstance(item, bool) and abs(item) >= 2**63:
            raise error(
                f"{path}: {field_name(where)} = {item}: does not fit 64 bits; allowed: integers "
                "of magnitude below 2**63 (the fields' own ranges are narrower)"
            )
        elif isinstance(item, float) and not math.isfinite(item):
            shown = "NaN" if math.isnan(item) else ("-" if item < 0 else "") + "Infinity"
            raise error(
                f"{path}: {field_name(where)} = {shown} (a literal that is NaN, an infinity, or "
                "too large for a double); allowed: finite numbers, magnitude below 1.8e308"
            )


def _unique_keys(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    # JSON parsers keep the last of two equal keys: one value would be dropped without a word
    document = dict(pairs)
    if len(document) < len(pairs):
        seen: set[str] = set()
        repeated = next(key for key, _ in pairs if key in seen or seen.add(key))
        raise _Refusal(f"the key {repeated!r} appears twice in one object; allowed: once")
    return document


def _bounded_int(literal: str) -> int:
    digits = len(literal.lstrip("-"))
    if digits > MAX_INTEGER_DIGITS:
        raise _Refusal(
            f"an integer of {digits} digits; allowed: at most {MAX_INTEGER_DIGITS} digits"
        )
    return int(literal)
