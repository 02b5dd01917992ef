"""Settings for Brian2CUDA's ``cuda_standalone`` device on CUDA 13.

- brian2cuda's makefile asks for ``-std=c++11`` but CUDA 13's Thrust needs C++17: ``-std=c++17``
  is added for nvcc and for the host compiler (the later flag wins).
- cuRAND is not part of the CUDA toolkit on these machines; the PyPI package ``nvidia-curand``
  (installed by the ``cuda`` extra) ships its headers and library in ``nvidia/cu13``. The wheel has
  only ``libcurand.so.10``, so the build links through a ``libcurand.so`` symlink made in the
  project directory, with the library directory as run path.
- ``-use_fast_math`` (brian2cuda's default) is replaced by ``-fmad=false``: no fused
  multiply-adds, so the GPU evaluates the step in the same IEEE order as the CPU backends.
- Without a visible GPU, brian2cuda's GPU detection is switched off and the project is generated
  and compiled for compute capability ``AHP_CUDA_COMPUTE_CAPABILITY`` (default 9.0, Hopper); it
  cannot run there.
"""

from __future__ import annotations

import functools
import importlib.util
import os
import re
import shutil
import subprocess
from collections.abc import Callable
from pathlib import Path
from typing import Any

from ahp_models.errors import UserError
from ahp_models.network import cpp_compile_args

__all__ = ["BackendUnavailable", "cuda_build_settings", "curand_directories", "gpu_available"]

PREFIX = "devices.cuda_standalone.cuda_backend."


class BackendUnavailable(UserError, RuntimeError):
    """The CUDA backend cannot be used here (package, compiler or GPU missing)."""


@functools.lru_cache(maxsize=1)
def gpu_available() -> bool:
    """Return True if ``nvidia-smi`` lists at least one GPU (asked once per process)."""
    smi = shutil.which("nvidia-smi")
    if smi is None:
        return False
    try:
        listing = subprocess.run([smi, "-L"], capture_output=True, text=True, timeout=30)
    except (OSError, subprocess.TimeoutExpired):
        return False
    return listing.returncode == 0 and "GPU" in listing.stdout


def curand_directories() -> tuple[Path, Path]:
    """Return the include and library directories of the ``nvidia-curand`` package.

    Returns
    -------
    tuple of pathlib.Path
        ``(include_dir, lib_dir)`` holding ``curand.h`` and ``libcurand.so.*``.

    Raises
    ------
    BackendUnavailable
        If the package is not installed.
    """
    spec = importlib.util.find_spec("nvidia")
    for root in spec.submodule_search_locations if spec else []:
        for flavour in sorted(Path(root).glob("cu*"), reverse=True):
            include, lib = flavour / "include", flavour / "lib"
            if (include / "curand.h").is_file() and any(lib.glob("libcurand.so*")):
                return include, lib
    raise BackendUnavailable(
        "cuRAND headers not found: install the cuda extra (pip install 'ahp-toolkit[cuda]'), "
        "which brings the nvidia-curand package"
    )


def _nvcc_version(nvcc: str) -> float:
    output = subprocess.run([nvcc, "--version"], capture_output=True, text=True).stdout
    match = re.search(r"release (\d+)\.(\d+)", output)
    if not match:
        raise BackendUnavailable(f"cannot read the CUDA version from `{nvcc} --version`")
    return float(f"{match.group(1)}.{match.group(2)}")


def cuda_build_settings() -> tuple[dict[str, Any], Callable[[Path], dict[str, Any]]]:
    """Return Brian2 preferences for a CUDA build and a hook that prepares the project directory.

    Returns
    -------
    prefs : dict
        Preferences for `StandaloneSimulator`'s ``extra_prefs``.
    before_build : callable
        Makes the ``libcurand.so`` link in the project directory and returns the library
        preferences pointing to it.

    Raises
    ------
    BackendUnavailable
        If brian2cuda, nvcc or cuRAND is missing.
    """
    try:
        import brian2cuda  # noqa: F401  (registers the cuda_standalone device)
    except ImportError:
        raise BackendUnavailable(
            "the cuda_standalone backend needs brian2cuda: pip install 'ahp-toolkit[cuda]' "
            "(brian2cuda 1.0a6 pins brian2 2.7.1 on Python 3.11, 1.0b1 pins 2.10.1 on 3.12)"
        ) from None
    nvcc = shutil.which("nvcc") or os.path.join(os.environ.get("CUDA_PATH", ""), "bin", "nvcc")
    if not os.path.isfile(nvcc):
        raise BackendUnavailable("nvcc not found on PATH or in $CUDA_PATH/bin")
    include, lib = curand_directories()
    prefs: dict[str, Any] = {
        PREFIX + "extra_compile_args_nvcc": ["-w", "-std=c++17", "-fmad=false", f"-I{include}"],
        "codegen.cpp.extra_compile_args_gcc": [*cpp_compile_args(), "-std=c++17"],
        "codegen.cpp.include_dirs": [str(include)],
    }
    if not gpu_available():
        prefs.update(
            {
                PREFIX + "detect_gpus": False,
                PREFIX + "gpu_id": 0,
                PREFIX + "compute_capability": float(
                    os.environ.get("AHP_CUDA_COMPUTE_CAPABILITY", "9.0")
                ),
                PREFIX + "cuda_runtime_version": _nvcc_version(nvcc),
            }
        )

    def before_build(directory: Path) -> dict[str, Any]:
        link_dir = Path(directory) / "_curand"
        link_dir.mkdir(parents=True, exist_ok=True)
        library = sorted(lib.glob("libcurand.so*"))[-1]
        link = link_dir / "libcurand.so"
        if link.is_symlink() or link.exists():
            link.unlink()
        link.symlink_to(library)
        return {
            "codegen.cpp.library_dirs": [str(link_dir), str(lib)],
            "codegen.cpp.runtime_library_dirs": [str(lib)],
        }

    return prefs, before_build
