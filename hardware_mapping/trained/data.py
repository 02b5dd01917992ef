"""The data of the built-in networks: the paper's trained weights and the MNIST test set.

Files are looked for in a local folder (``AHP_TOOLKIT_DATA``, or a ``shared/data`` folder next
to the working tree) and in the cache (``$XDG_CACHE_HOME/ahp-toolkit/trained``); missing ones
are downloaded into the cache from their public sources and checked by MD5 before use:

- weights: the archived repository intel-nrc-ecosystem/models at the commit that last held
  them (BSD 3-Clause, Intel Corporation);
- MNIST test images and labels (LeCun, Cortes & Burges; CC BY-SA 3.0): a public mirror of the
  original IDX files.
"""

from __future__ import annotations

import gzip
import hashlib
import logging
import os
import urllib.error
import urllib.request
from collections.abc import Callable
from pathlib import Path

import numpy as np

from ahp_models.errors import UserError
from ahp_models.files import atomic_write_bytes

__all__ = [
    "MNIST_FILES",
    "WEIGHT_FILES",
    "DataError",
    "default_cache_folder",
    "load_mnist_test",
    "paper_test_indices",
    "weights_folder",
]

_log = logging.getLogger(__name__)

_WEIGHTS_COMMIT = "fc1726700bead6a3f8e8b7be8668d4e34d2c9f46"
_WEIGHTS_URL = (
    "https://raw.githubusercontent.com/intel-nrc-ecosystem/models/"
    f"{_WEIGHTS_COMMIT}/nxsdk_modules_ncl/lsnn/apps/seqmnist/weights/v25_94per/"
)
#: File -> MD5 of the paper's weights (float32 .npy of integer mantissas, [source, target]).
WEIGHT_FILES = {
    "w_in.npy": "414154592a5854e3abaca68e41075bf1",
    "w_rec.npy": "b4757583d584224d4bfc9211202e5223",
    "w_out.npy": "e9153acf9d65b04b479f3a3a3efc697d",
}
_MNIST_URLS = (
    "https://ossci-datasets.s3.amazonaws.com/mnist/",
    "https://storage.googleapis.com/cvdf-datasets/mnist/",
)
#: File -> MD5 of its uncompressed bytes.
MNIST_FILES = {
    "t10k-images-idx3-ubyte.gz": "2646ac647ad5339dbf082846283269ea",
    "t10k-labels-idx1-ubyte.gz": "27ae3e4e09519cfbb04c329615203637",
}
_MAX_DOWNLOAD_BYTES = 64 * 2**20


class DataError(UserError, RuntimeError):
    """Data that is missing, cannot be downloaded, or does not match its checksum."""


def default_cache_folder() -> Path:
    """``$XDG_CACHE_HOME/ahp-toolkit/trained`` (``~/.cache/ahp-toolkit/trained`` by default)."""
    base = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
    return Path(base) / "ahp-toolkit" / "trained"


def local_data_folders() -> list[Path]:
    """Folders searched before the cache: ``$AHP_TOOLKIT_DATA``, then ``../shared/data``
    beside the working directory and beside this package's checkout."""
    folders = []
    if os.environ.get("AHP_TOOLKIT_DATA"):
        folders.append(Path(os.environ["AHP_TOOLKIT_DATA"]))
    for root in (Path.cwd(), Path(__file__).resolve().parents[2]):
        folders.append(root.parent / "shared" / "data")
    return folders


def weights_folder(
    *,
    cache: str | os.PathLike | None = None,
    offline: bool = False,
    progress: Callable[[str], None] | None = None,
) -> Path:
    """Return a folder holding the paper's weight files, downloading them if needed.

    Parameters
    ----------
    cache : str or os.PathLike, optional
        The cache folder (default `default_cache_folder`).
    offline : bool
        Never download: a missing file is an error.
    progress : callable, optional
        Receives a line per download (default: this module's logger, at INFO).

    Returns
    -------
    pathlib.Path
        A folder with ``w_in.npy``, ``w_rec.npy`` and ``w_out.npy`` (MD5-checked).
    """
    return _folder("lsnn_smnist", WEIGHT_FILES, _WEIGHTS_URL, cache, offline, progress, False)


def load_mnist_test(
    *,
    cache: str | os.PathLike | None = None,
    offline: bool = False,
    progress: Callable[[str], None] | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """Return the MNIST test set: images (10000, 784) uint8 row by row, labels (10000,).

    Parameters are those of `weights_folder`.
    """
    folder = None
    for url in _MNIST_URLS:
        try:
            folder = _folder("mnist", MNIST_FILES, url, cache, offline, progress, True)
            break
        except DataError as error:
            last = error
            if offline:
                raise
    if folder is None:
        raise last
    images = _idx(folder / "t10k-images-idx3-ubyte.gz", 2051, (10000, 28, 28))
    labels = _idx(folder / "t10k-labels-idx1-ubyte.gz", 2049, (10000,))
    return images.reshape(10000, 784), labels


def paper_test_indices(count: int = 200, seed: int = 0, total: int = 10000) -> np.ndarray:
    """Draw ``count`` of ``total`` samples as the paper drew the test images of its chip run.

    With the defaults these are its 200 images: ``np.random.seed(0)``, then
    ``np.random.choice(10000, 200, replace=False)`` (numpy's legacy generator).
    """
    return np.random.RandomState(seed).choice(total, count, replace=False)


def _folder(name, files, url, cache, offline, progress, gzipped) -> Path:
    candidates = [folder / name for folder in local_data_folders()]
    for folder in candidates:
        if all((folder / f).is_file() for f in files):
            for f, md5 in files.items():
                _check(folder / f, md5, gzipped)
            return folder
    target = (Path(cache) if cache is not None else default_cache_folder()) / name
    for f, md5 in files.items():
        path = target / f
        if path.is_file():
            _check(path, md5, gzipped)
            continue
        if offline:
            raise DataError(
                f"{path} is missing and downloads are off; looked in "
                f"{', '.join(str(c) for c in candidates)} and the cache"
            )
        (progress or _log.info)(f"downloading {url}{f} -> {path}")
        try:
            with urllib.request.urlopen(url + f, timeout=60) as response:
                data = response.read(_MAX_DOWNLOAD_BYTES + 1)
        except (urllib.error.URLError, OSError) as error:
            raise DataError(f"cannot download {url}{f}: {error}") from None
        if len(data) > _MAX_DOWNLOAD_BYTES:
            raise DataError(f"{url}{f}: larger than {_MAX_DOWNLOAD_BYTES} bytes; refused")
        _check_bytes(gzip.decompress(data) if gzipped else data, md5, f"{url}{f}")
        target.mkdir(parents=True, exist_ok=True)
        atomic_write_bytes(path, data)
    return target


def _check(path: Path, md5: str, gzipped: bool) -> None:
    try:
        data = gzip.decompress(path.read_bytes()) if gzipped else path.read_bytes()
    except (OSError, EOFError, gzip.BadGzipFile) as error:
        raise DataError(f"{path}: cannot read: {error}") from None
    _check_bytes(data, md5, str(path))


def _check_bytes(data: bytes, md5: str, where: str) -> None:
    found = hashlib.md5(data).hexdigest()  # the published checksums are MD5
    if found != md5:
        raise DataError(f"{where}: MD5 {found}; expected {md5} (a different or damaged file)")


def _idx(path: Path, magic: int, shape: tuple[int, ...]) -> np.ndarray:
    data = gzip.decompress(path.read_bytes())
    header = 4 * (1 + len(shape))
    found = int.from_bytes(data[:4], "big")
    dims = tuple(int.from_bytes(data[4 + 4 * k : 8 + 4 * k], "big") for k in range(len(shape)))
    if found != magic or dims != shape or len(data) != header + int(np.prod(shape)):
        raise DataError(f"{path}: not an IDX file of shape {shape} (magic {found}, dims {dims})")
    return np.frombuffer(data, dtype=np.uint8, offset=header).reshape(shape).copy()
