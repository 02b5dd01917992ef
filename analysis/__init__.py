"""Allen-exact electrophysiology features, spike-train metrics, Allen tables and filter studies.

The functions most analyses start from, importable from the package itself::

    from analysis import detect_spikes, features_of_simulation, gamma_factor, load_cells

Figures live in `analysis.figures` and filter studies in `analysis.filters` (imported on use:
they bring matplotlib and the study machinery).
"""

from analysis.allen_tables import (
    AllenTableError,
    adaptation_summary,
    feature_quantiles,
    load_cells,
    read_ephys_features,
    read_specimens,
    select,
)
from analysis.long_square import (
    LongSquareFeatures,
    f_i_features,
    features_of_simulation,
    long_square_features,
)
from analysis.metrics import (
    coincidences,
    explained_variance,
    explained_variance_ratio,
    gamma_factor,
    van_rossum_distance,
)
from analysis.spike_detection import DetectionSettings, detect_spikes
from analysis.sweep_features import adaptation_index, sweep_features

__all__ = [
    "AllenTableError",
    "DetectionSettings",
    "LongSquareFeatures",
    "adaptation_index",
    "adaptation_summary",
    "coincidences",
    "detect_spikes",
    "explained_variance",
    "explained_variance_ratio",
    "f_i_features",
    "feature_quantiles",
    "features_of_simulation",
    "gamma_factor",
    "load_cells",
    "long_square_features",
    "read_ephys_features",
    "read_specimens",
    "select",
    "sweep_features",
    "van_rossum_distance",
]
