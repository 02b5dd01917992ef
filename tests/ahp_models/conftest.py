"""Fixtures of the model tests: allensdk's GLIF simulator, the reference of the GLIF tests.

allensdk cannot be installed beside numpy 2 (it pins numpy < 1.24), but its GLIF simulator is
two numpy-only files. ``make test`` extracts them unchanged from the published wheel
(``tests/reference/fetch_reference_code.py``, checksum-pinned); the fixture runs them with
stand-ins for the two imports they use only to print a neuron as JSON.
"""

from __future__ import annotations

import importlib.util
import json
import sys
import types
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
ALLENSDK_GLIF = ROOT / ".cache" / "reference" / "allensdk-glif"


@pytest.fixture(scope="module")
def glif_neuron_class(request):
    if not (ALLENSDK_GLIF / "glif_neuron.py").is_file():
        pytest.skip(
            f"allensdk GLIF source not found in {ALLENSDK_GLIF}; `make test` fetches it "
            "(python tests/reference/fetch_reference_code.py .cache/reference)"
        )
    json_utilities = types.ModuleType("allensdk.core.json_utilities")
    json_utilities.json_handler = str
    stand_ins = {
        "simplejson": json,
        "allensdk": types.ModuleType("allensdk"),
        "allensdk.core": types.ModuleType("allensdk.core"),
        "allensdk.core.json_utilities": json_utilities,
    }
    saved = {name: sys.modules.get(name) for name in [*stand_ins, "glif_neuron_methods"]}
    sys.modules.update(stand_ins)
    try:
        modules = {}
        for name in ("glif_neuron_methods", "glif_neuron"):
            spec = importlib.util.spec_from_file_location(name, ALLENSDK_GLIF / f"{name}.py")
            modules[name] = importlib.util.module_from_spec(spec)
            sys.modules[name] = modules[name]
            spec.loader.exec_module(modules[name])
        return modules["glif_neuron"].GlifNeuron
    finally:
        for name, module in saved.items():
            if module is None:
                sys.modules.pop(name, None)
            else:
                sys.modules[name] = module
