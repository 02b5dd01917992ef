"""The figure of one sample of a trained network: input spikes, network spikes, readout."""

from __future__ import annotations

import numpy as np
from matplotlib.figure import Figure

from hardware_mapping.trained.description import NetworkDescription
from hardware_mapping.trained.readouts import SampleRecord

__all__ = ["plot_sample"]


def plot_sample(
    description: NetworkDescription,
    sample: SampleRecord,
    *,
    label: int | None = None,
    title: str | None = None,
) -> Figure:
    """Input raster, the populations' rasters and the readout voltages of one sample.

    Parameters
    ----------
    description : NetworkDescription
        The network (its encoder's cue and readout population are marked).
    sample : SampleRecord
        The recorded sample.
    label : int, optional
        The sample's true class, marked in the readout panel.
    title : str, optional
        Figure title.

    Returns
    -------
    matplotlib.figure.Figure
        Three panels sharing the step axis.
    """
    encoder = description.encoder
    readout = description.readout_population
    network = [name for name in description.populations if name != readout]
    figure = Figure(figsize=(9, 8), layout="constrained")
    axes = figure.subplots(3, 1, sharex=True, height_ratios=(1, 2, 1.3))
    steps, channels = np.nonzero(sample.input_raster)
    axes[0].scatter(steps, channels, s=1, c="k", marker="|")
    axes[0].set_ylabel(f"{encoder.input}\nchannel")
    offset = 0
    for index, name in enumerate(network):
        spike_steps, neurons = np.nonzero(sample.spikes[name])
        axes[1].scatter(spike_steps, neurons + offset, s=1, marker="|", color=f"C{index}",
                        label=f"{name} ({int(sample.spikes[name].sum())} spikes)")  # fmt: skip
        offset += sample.spikes[name].shape[1]
    axes[1].set_ylabel("neuron")
    axes[1].legend(loc="upper left", fontsize="small", markerscale=8)
    v = sample.readout_v
    for cls in range(v.shape[1]):
        style = {"linewidth": 2.0} if cls == label else {"linewidth": 0.8}
        axes[2].plot(np.arange(v.shape[0]), v[:, cls], label=str(cls), **style)
    axes[2].set_ylabel(f"{readout} v\n(integer units)")
    axes[2].set_xlabel("step")
    axes[2].legend(ncol=5, fontsize="x-small", title="class (bold: true)", loc="upper left")
    if getattr(encoder, "cue_steps", 0):
        for ax in axes:
            ax.axvspan(encoder.length, encoder.n_steps, color="0.9", zorder=0)
        axes[0].text(encoder.length, 1.02, " cue", transform=axes[0].get_xaxis_transform())
    figure.suptitle(title or f"{description.name}: sample {sample.index}")
    return figure
