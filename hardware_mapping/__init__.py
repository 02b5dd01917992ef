"""Turning fitted neurons into Loihi hardware.

- `hardware_mapping.loihi`: the Loihi 1 arithmetic and the bit-accurate fixed-point simulator
  that hardware parameter files are validated in (and Lava's conventions);
- `neuron_mapping`: one float neuron -> registers (`map_neuron`), through `quantization` (a
  model's hardware form -> registers in one pass, with a quantization report), `headroom` (the
  proven state bound that sets the scale) and `mapped_neuron` (the result's types);
- `register_search`: the rounded registers' neighbourhood searched against the float neuron;
- `sensitivity`: the float neuron's own sensitivity floor (perturbed copies);
- `long_square_runs`: the float models on long squares, the reference of both;
- `network_mapping`: a recurrent population -> compartments, synapses and a resource summary;
- `parameter_files`: versioned JSON parameter files and their JSON Schema (``schema/``);
- `lava_export` and `nir_export` (with `nir_forms`): Lava processes and NIR graphs;
- `validation` and `figures`: float model vs registers on Allen's long squares;
- `energy`: energy and latency from the simulator's operation counters.
"""
