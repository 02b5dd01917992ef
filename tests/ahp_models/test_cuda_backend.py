"""CUDA standalone (brian2cuda): the project for 1000 AHP neurons generates and compiles with
nvcc; where a GPU is visible it also runs and must match C++ standalone.

brian2cuda pins brian2 2.7.1 on Python 3.11, so `make test` runs this file in `.venv-cuda`
(installed with the `cuda` extra); in the main environment it skips.
"""

import shutil
import subprocess
import time

import numpy as np
import pytest
from brian2 import ms, pA

from ahp_models import LifAhpParams, compile_simulator, long_square

pytestmark = pytest.mark.cuda

pytest.importorskip(
    "brian2cuda",
    reason="brian2cuda is not installed here (it pins brian2 2.7.1); `make test` runs this file "
    "in .venv-cuda",
)
if shutil.which("nvcc") is None:
    pytest.skip("nvcc not found: cannot compile CUDA code", allow_module_level=True)

from ahp_models.backends.cuda import gpu_available  # noqa: E402
from ahp_models.backends.standalone import SimulationError  # noqa: E402

N_NEURONS = 1000


def test_cuda_project_for_1000_ahp_neurons_compiles(tmp_path):
    amplitudes = np.linspace(100, 500, N_NEURONS) * pA
    stimulus = long_square(amplitudes, onset=20 * ms, width=200 * ms, duration=250 * ms)
    started = time.perf_counter()
    compiled = compile_simulator(
        "lif_ahp",
        n_neurons=N_NEURONS,
        stimulus=stimulus,
        backend="cuda_standalone",
        directory=tmp_path / "cuda",
    )
    print(f"cuda_standalone build of {N_NEURONS} neurons: {time.perf_counter() - started:.1f} s")
    project = tmp_path / "cuda"
    binary = project / "main"
    assert compiled.build_count == 1
    assert binary.is_file() and binary.stat().st_mode & 0o111
    kernel = (project / "code_objects" / "neurons_stateupdater_codeobject.cu").read_text()
    assert "decay_I_ahp" in kernel and "k_I_ahp" in kernel  # the closed-form step
    assert "exp(" not in kernel  # no per-step exp for per-neuron constants
    libraries = subprocess.run(["ldd", str(binary)], capture_output=True, text=True).stdout
    assert "libcurand.so" in libraries and "libcurand.so.10 => not found" not in libraries

    params = LifAhpParams(tau_ahp=np.linspace(50, 1000, N_NEURONS) * ms)
    if not gpu_available():
        with pytest.raises(SimulationError, match="no NVIDIA GPU visible"):
            compiled.run(params, stimulus)
        return
    started = time.perf_counter()
    on_gpu = compiled.run(params, stimulus)
    print(f"cuda_standalone run: {time.perf_counter() - started:.3f} s")
    on_cpu = compile_simulator(
        "lif_ahp", n_neurons=N_NEURONS, stimulus=stimulus, backend="cpp_standalone"
    ).run(params, stimulus)
    np.testing.assert_array_equal(on_gpu.spike_counts(), on_cpu.spike_counts())
    order_gpu = np.lexsort((on_gpu.spike_neuron, on_gpu.spike_time_s))
    order_cpu = np.lexsort((on_cpu.spike_neuron, on_cpu.spike_time_s))
    np.testing.assert_array_equal(on_gpu.spike_time_s[order_gpu], on_cpu.spike_time_s[order_cpu])
