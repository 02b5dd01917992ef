"""Turning fitted neurons into Loihi hardware: registers and the bit-accurate simulator (loihi).

`hardware_mapping.loihi` holds the Loihi 1 arithmetic and the fixed-point simulator that
hardware parameter files are validated in; the mapper from fitted models is to come.
"""
