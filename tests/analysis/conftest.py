"""Fixtures for the analysis tests: ipfx as the reference, Hodgkin-Huxley voltage traces."""

from __future__ import annotations

import sys

import numpy as np
import pytest
from brian2 import Network, NeuronGroup, StateMonitor, mS, ms, mV, nA, second, siemens, ufarad, um

from ahp_models.network import brian_prefs
from tests.conftest import ROOT

REFERENCE = ROOT / ".cache" / "reference"
DT_MS = 0.02  # 50 kHz, Allen's newer recordings


@pytest.fixture(scope="session")
def ipfx():
    """ipfx 2.1.2's feature modules, extracted unchanged by `make test`."""
    if not (REFERENCE / "ipfx" / "SOURCE.txt").is_file():
        pytest.skip(
            f"ipfx reference code not found in {REFERENCE}; `make test` fetches it "
            "(python tests/reference/fetch_reference_code.py .cache/reference)"
        )
    sys.path.insert(0, str(REFERENCE))
    import ipfx.spike_train_features
    import ipfx.stimulus_protocol_analysis

    return ipfx


@pytest.fixture(scope="session")
def hh_traces():
    """Hodgkin-Huxley neurons (Brian2's classic example) under 1 s steps of several amplitudes,
    two of them with seeded current noise; 1.5 s sampled at 50 kHz."""
    area = 20000 * um**2
    equations = """
    dv/dt = (gl*(El-v) - g_na*(m*m*m)*h*(v-ENa) - g_kd*(n*n*n*n)*(v-EK) + I)/Cm : volt
    dm/dt = 0.32*(mV**-1)*4*mV/exprel((13.*mV-v+VT)/(4*mV))/ms*(1-m)
            - 0.28*(mV**-1)*5*mV/exprel((v-VT-40.*mV)/(5*mV))/ms*m : 1
    dn/dt = 0.032*(mV**-1)*5*mV/exprel((15.*mV-v+VT)/(5*mV))/ms*(1.-n)
            - .5*exp((10.*mV-v+VT)/(40.*mV))/ms*n : 1
    dh/dt = 0.128*exp((17.*mV-v+VT)/(18.*mV))/ms*(1.-h) - 4./(1+exp((40.*mV-v+VT)/(5.*mV)))/ms*h : 1
    I = amplitude*int(t >= 0.3*second and t < 1.3*second)
        + noise_std*sin(2*pi*t*37*Hz + i)*int(t >= 0.3*second) : amp
    amplitude : amp (constant)
    noise_std : amp (constant)
    """
    namespace = {
        "Cm": 1 * ufarad * 1e-8 * area / um**2,
        "gl": 5e-5 * siemens * 1e-8 * area / um**2,
        "El": -65 * mV,
        "EK": -90 * mV,
        "ENa": 50 * mV,
        "VT": -63 * mV,
        "g_na": 100 * mS * 1e-8 * area / um**2,
        "g_kd": 30 * mS * 1e-8 * area / um**2,
    }
    # compiled: 75 000 steps of numpy's per-step overhead took two minutes
    with brian_prefs({"codegen.target": "cython"}):
        group = NeuronGroup(
            5, equations, method="exponential_euler", dt=DT_MS * ms, namespace=namespace
        )
        group.v = -65 * mV
        group.amplitude = [0.0, 0.05, 0.2, 0.5, 0.9] * nA
        group.noise_std = [0.0, 0.0, 0.02, 0.0, 0.1] * nA
        monitor = StateMonitor(group, "v", record=True)
        Network(group, monitor).run(1.5 * second)
    return np.asarray(monitor.t_), np.asarray(monitor.v_) * 1e3  # s, mV
