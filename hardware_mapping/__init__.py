"""Turning fitted neurons into Loihi hardware.

- `hardware_mapping.loihi`: the Loihi 1 arithmetic and the bit-accurate fixed-point simulator
  that hardware parameter files are validated in (and Lava's conventions);
- `neuron_mapping`: one float neuron -> registers, with a quantization report;
- `network_mapping`: a recurrent population -> compartments, synapses and a resource summary;
- `parameter_files`: versioned JSON parameter files and their JSON Schema (``schema/``);
- `validation` and `figures`: float model vs registers on Allen's long squares;
- `energy`: energy and latency from the simulator's operation counters.
"""
