"""A compiled C++ binary is reused only for the same compiler inputs, and runs the same."""

import shutil

import numpy as np
from brian2 import ms, pA

from ahp_models import Stimulus, get_model
from ahp_models.backends import binary_cache
from ahp_models.backends.standalone import StandaloneSimulator
from ahp_models.network import prepare_run


def _simulator(directory):
    model = get_model("lif_ahp")
    stimulus = Stimulus(np.full((300, 3), 250.0), 1 * ms, np.ones(3) * pA)
    simulator = StandaloneSimulator(
        model, n_neurons=3, n_steps=3000, dt_s=1e-4, stimulus_layout=stimulus.layout(),
        directory=directory,
    )  # fmt: skip
    inputs = prepare_run(model, model.default_params(), stimulus, dt_s=1e-4, n_steps=3000)
    return simulator, simulator.run(inputs)


def test_the_same_project_takes_the_stored_binary_and_gives_the_same_spikes(tmp_path, monkeypatch):
    monkeypatch.setenv(binary_cache.CACHE_VARIABLE, str(tmp_path / "cache"))
    first, compiled = _simulator(tmp_path / "first")
    assert not first.binary_reused and (tmp_path / "first" / "main.o").exists()
    stored = list((tmp_path / "cache").iterdir())
    assert len(stored) == 1 and stored[0].name.endswith("-main")
    second, reused = _simulator(tmp_path / "second")
    assert second.binary_reused and not (tmp_path / "second" / "main.o").exists()
    assert (tmp_path / "second" / "main").read_bytes() == stored[0].read_bytes()
    assert compiled.spike_time_s.size > 10
    np.testing.assert_array_equal(reused.spike_neuron, compiled.spike_neuron)
    np.testing.assert_array_equal(reused.spike_time_s, compiled.spike_time_s)
    # any change of a compiler input gives another digest: no binary of other sources is reused
    changed = tmp_path / "changed"
    shutil.copytree(tmp_path / "second", changed)
    assert binary_cache._digest(changed) == binary_cache._digest(tmp_path / "second")
    source = changed / "objects.cpp"
    source.write_text(source.read_text() + "// one byte more\n")
    assert binary_cache._digest(changed) != binary_cache._digest(tmp_path / "second")


def test_an_empty_variable_turns_the_cache_off(tmp_path, monkeypatch):
    monkeypatch.setenv(binary_cache.CACHE_VARIABLE, "")
    assert binary_cache.cache_folder() is None
