"""Download Allen Cell Types tables and NWB files into a local cache (the RMA API).

What is fetched, from ``https://api.brain-map.org`` (Allen Cell Types Database):

- the specimen table, ``model::ApiCellTypesSpecimenDetail``, and the electrophysiology
  features, ``model::EphysFeature``, as the JSON records the API returns
  (`analysis.allen_tables.load_cells` reads them from the cache folder);
- a cell's ``ephys.nwb`` (its ``NWBDownload`` well-known file), saved as
  ``specimen_<id>/ephys.nwb`` like allensdk's cache (`fitting.nwb.read_nwb_folder` reads it).

Downloads go to ``<file>.part`` first and are resumed with an HTTP ``Range`` request after an
interruption; a file is moved into place only when its size equals the server's
``Content-Length`` (and, for NWB files, it starts with the HDF5 signature). ``manifest.json``
records each file's URL, size and SHA-256; a cached file that no longer matches is fetched again
(or, offline, reported). In offline mode nothing touches the network and a file missing from
the cache is an error that says so; an unreachable API is an error that names the URL and the
reason.
"""

from __future__ import annotations

import hashlib
import http.client
import json
import logging
import os
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

from ahp_models.errors import UserError
from ahp_models.files import atomic_write_text

__all__ = ["API_URL", "AllenApiError", "AllenCache", "default_cache_folder"]

_log = logging.getLogger(__name__)

API_URL = "https://api.brain-map.org"
QUERY_PATH = "/api/v2/data/query.json"
SPECIMEN_CRITERIA = "model::ApiCellTypesSpecimenDetail,rma::options[num_rows$eqall]"
FEATURE_CRITERIA = "model::EphysFeature,rma::options[num_rows$eqall]"
NWB_CRITERIA = (
    "model::Specimen,rma::criteria,[id$eq{specimen}],rma::include,"
    "ephys_result(well_known_files(well_known_file_type[name$eqNWBDownload]))"
)
#: Cache file names; `analysis.allen_tables.load_cells` finds them.
TABLE_FILES = {
    "features": ("allen_ephys_features.json", FEATURE_CRITERIA),
    "specimens": ("allen_cell_types_specimen_details.json", SPECIMEN_CRITERIA),
}
HDF5_SIGNATURE = b"\x89HDF\r\n\x1a\n"
MANIFEST = "manifest.json"
CHUNK_BYTES = 1 << 20


class AllenApiError(UserError, RuntimeError):
    """The API is unreachable or answered unexpectedly, or the cache lacks a file offline."""


def default_cache_folder() -> Path:
    """``$XDG_CACHE_HOME/ahp-toolkit/allen`` (``~/.cache/ahp-toolkit/allen`` by default)."""
    base = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
    return Path(base) / "ahp-toolkit" / "allen"


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(CHUNK_BYTES), b""):
            digest.update(block)
    return digest.hexdigest()


class AllenCache:
    """A local cache of Allen Cell Types tables and NWB files, filled from the RMA API.

    Parameters
    ----------
    folder : str or os.PathLike, optional
        Cache folder (default: `default_cache_folder`).
    api_url : str
        The API's base URL.
    offline : bool
        Never use the network; files missing from the cache are an error.
    timeout_s : float
        Seconds to wait for the server on each request.
    attempts : int
        Tries per download; an interrupted transfer resumes where it stopped.
    progress : callable, optional
        Receives one line per file fetched (default: this module's logger, at INFO).
    """

    def __init__(
        self,
        folder: str | os.PathLike | None = None,
        *,
        api_url: str = API_URL,
        offline: bool = False,
        timeout_s: float = 60.0,
        attempts: int = 3,
        progress: Callable[[str], None] | None = None,
    ) -> None:
        if attempts < 1:
            raise AllenApiError(f"attempts = {attempts}; allowed: at least 1")
        try:
            parts = urllib.parse.urlsplit(api_url)
            usable = parts.scheme in ("http", "https") and bool(parts.hostname)
        except ValueError:  # e.g. an unclosed IPv6 bracket
            usable = False
        if not usable:
            raise AllenApiError(
                f"--api {api_url!r}; allowed: an http:// or https:// address with a host, e.g. "
                f"{API_URL}"
            )
        if not 0 < timeout_s <= 3600:  # NaN too
            raise AllenApiError(
                f"--timeout {timeout_s}; allowed: seconds per request, 0 < t <= 3600"
            )
        self.folder = Path(folder) if folder is not None else default_cache_folder()
        self.api_url = api_url.rstrip("/")
        self.offline = offline
        self.timeout_s = timeout_s
        self.attempts = attempts
        self._say = progress or _log.info

    # -- public -----------------------------------------------------------------------------

    def tables(self) -> Path:
        """Make sure the specimen and feature tables are cached; return the cache folder.

        Returns
        -------
        pathlib.Path
            The folder, for `analysis.allen_tables.load_cells`.
        """
        for name, criteria in TABLE_FILES.values():
            self._cached(
                self.folder / name, lambda c=criteria: self._query_url(c), self._check_table
            )
        return self.folder

    def nwb(self, specimen: int) -> Path:
        """Make sure a cell's ``ephys.nwb`` is cached; return its path.

        Parameters
        ----------
        specimen : int
            The specimen id.

        Returns
        -------
        pathlib.Path
            ``<folder>/specimen_<id>/ephys.nwb``.
        """
        path = self.folder / f"specimen_{int(specimen)}" / "ephys.nwb"
        return self._cached(path, lambda: self._nwb_url(int(specimen)), self._check_hdf5)

    # -- cache ------------------------------------------------------------------------------

    def _manifest(self) -> dict:
        path = self.folder / MANIFEST
        if not path.is_file():
            return {}
        try:
            return json.loads(path.read_text(encoding="utf-8"))
        except json.JSONDecodeError as err:
            raise AllenApiError(
                f"{path}: not valid JSON ({err}); delete it to check the cache anew"
            ) from None

    def _record(self, path: Path, url: str) -> None:
        manifest = self._manifest()
        manifest[path.relative_to(self.folder).as_posix()] = {
            "url": url,
            "bytes": path.stat().st_size,
            "sha256": _sha256(path),
            "fetched": datetime.now(UTC).isoformat(timespec="seconds"),
        }
        atomic_write_text(self.folder / MANIFEST, json.dumps(manifest, indent=1, sort_keys=True))

    def _intact(self, path: Path) -> bool:
        entry = self._manifest().get(path.relative_to(self.folder).as_posix())
        return (
            entry is not None
            and path.is_file()
            and path.stat().st_size == entry["bytes"]
            and _sha256(path) == entry["sha256"]
        )

    def _cached(self, path: Path, url: Callable[[], str], check: Callable[[Path], None]) -> Path:
        if self._intact(path):
            return path
        if self.offline:
            state = "is not in the cache" if not path.exists() else "does not match manifest.json"
            raise AllenApiError(
                f"{path} {state} and offline mode is on; run `ahp fetch` with network access "
                "first (or point --cache at a filled cache)"
            )
        source = url()
        part = path.with_name(path.name + ".part")
        validator = part.with_name(part.name + ".validator")
        self._download(source, part)
        try:
            check(part)
            os.replace(part, path)
        finally:
            if not part.exists():
                validator.unlink(missing_ok=True)
        self._record(path, source)
        self._say(f"fetch: {path} ({path.stat().st_size} bytes) from {source}")
        return path

    # -- network ----------------------------------------------------------------------------

    def _query_url(self, criteria: str) -> str:
        return f"{self.api_url}{QUERY_PATH}?criteria={urllib.parse.quote(criteria, safe='')}"

    def _open(self, request: urllib.request.Request):
        """Open a request, trying again (with back-off) after network errors and HTTP 5xx."""
        for attempt in range(1, self.attempts + 1):
            try:
                return urllib.request.urlopen(request, timeout=self.timeout_s)
            except urllib.error.HTTPError as err:
                if err.code == 416 or err.code < 500 or attempt == self.attempts:
                    message = f"{request.full_url}: HTTP {err.code} {err.reason}"
                    raise _HttpStatus(err.code, message) from None
            except (urllib.error.URLError, TimeoutError, ConnectionError) as err:
                if attempt == self.attempts:
                    reason = getattr(err, "reason", err)
                    raise AllenApiError(
                        f"cannot reach the Allen API at {request.full_url} ({reason}, "
                        f"{attempt} attempt(s)); check the network, or use --offline with a "
                        "cache that `ahp fetch` filled"
                    ) from None
            _back_off(attempt)
        raise AssertionError("unreachable")

    def _json(self, url: str) -> dict:
        with self._open(urllib.request.Request(url)) as response:
            try:
                answer = json.loads(response.read())
            except (json.JSONDecodeError, UnicodeDecodeError) as err:
                raise AllenApiError(f"{url}: the answer is not JSON ({err})") from None
        if not isinstance(answer, dict) or answer.get("success") is not True:
            message = answer.get("msg") if isinstance(answer, dict) else answer
            raise AllenApiError(f"{url}: the API reports failure: {message!r}")
        return answer

    def _nwb_url(self, specimen: int) -> str:
        url = self._query_url(NWB_CRITERIA.format(specimen=specimen))
        records = self._json(url)["msg"]
        try:
            files = records[0]["ephys_result"]["well_known_files"]
            link = files[0]["download_link"]
        except (IndexError, KeyError, TypeError):
            raise AllenApiError(
                f"{url}: specimen {specimen} has no NWBDownload file (is it an Allen Cell "
                "Types specimen with electrophysiology?)"
            ) from None
        return urllib.parse.urljoin(self.api_url + "/", link)

    def _download(self, url: str, part: Path) -> None:
        """Fetch ``url`` into ``part``, resuming what an earlier attempt left there."""
        part.parent.mkdir(parents=True, exist_ok=True)
        for attempt in range(1, self.attempts + 1):
            try:
                self._transfer(url, part)
                return
            except _Interrupted as err:
                if attempt == self.attempts:
                    raise AllenApiError(
                        f"{url}: {err} after {attempt} attempt(s); {part} keeps "
                        f"{part.stat().st_size if part.exists() else 0} bytes and the next run "
                        "resumes from there"
                    ) from None
                _back_off(attempt)

    def _transfer(self, url: str, part: Path) -> None:
        # resume only when the server can confirm the file is unchanged (If-Range)
        validator_path = part.with_name(part.name + ".validator")
        validator = validator_path.read_text() if validator_path.is_file() else ""
        have = part.stat().st_size if part.exists() and validator else 0
        request = urllib.request.Request(url)
        if have:
            request.add_header("Range", f"bytes={have}-")
            request.add_header("If-Range", validator)
        try:
            response = self._open(request)
        except _HttpStatus as err:
            if err.code != 416:
                raise AllenApiError(str(err)) from None
            part.unlink(missing_ok=True)  # the range is unsatisfiable: fetch the whole file
            validator_path.unlink(missing_ok=True)
            raise _Interrupted("the server refused the resume range; starting over") from None
        with response:
            if not (have and response.status == 206):
                new = response.headers.get("ETag") or response.headers.get("Last-Modified")
                if new:
                    validator_path.write_text(new)
                else:
                    validator_path.unlink(missing_ok=True)
            if have and response.status == 206:
                first = _range_start(response.headers.get("Content-Range", ""))
                if first != have:
                    raise AllenApiError(
                        f"{url}: asked to resume at byte {have}, the server sent "
                        f"Content-Range {response.headers.get('Content-Range')!r}"
                    )
                mode, expected_total = "ab", _range_total(response.headers["Content-Range"])
            else:  # a full answer: start again
                mode, have = "wb", 0
                length = response.headers.get("Content-Length")
                expected_total = int(length) if length is not None else None
            try:
                with part.open(mode) as handle:
                    for block in iter(lambda: response.read(CHUNK_BYTES), b""):
                        handle.write(block)
            except (OSError, TimeoutError, http.client.HTTPException) as err:
                raise _Interrupted(f"transfer interrupted ({err})") from None
        size = part.stat().st_size
        if expected_total is not None and size != expected_total:
            raise _Interrupted(f"transfer incomplete: {size} of {expected_total} bytes")

    # -- checks -----------------------------------------------------------------------------

    @staticmethod
    def _check_table(part: Path) -> None:
        try:
            answer = json.loads(part.read_bytes())
        except (json.JSONDecodeError, UnicodeDecodeError) as err:
            part.unlink()
            raise AllenApiError(f"the API's table answer is not JSON ({err})") from None
        rows = answer.get("msg") if isinstance(answer, dict) else answer
        failed = not isinstance(answer, dict) or answer.get("success") is not True
        if failed or not isinstance(rows, list):
            part.unlink()
            raise AllenApiError(f"the API reports failure: {rows!r}")
        if answer.get("total_rows", len(rows)) != len(rows):
            part.unlink()
            raise AllenApiError(
                f"the API sent {len(rows)} of {answer['total_rows']} rows; the table would be "
                "incomplete"
            )
        # the cache keeps the records themselves, the layout `load_cells` reads
        part.write_text(json.dumps(rows), encoding="utf-8")

    @staticmethod
    def _check_hdf5(part: Path) -> None:
        with part.open("rb") as handle:
            head = handle.read(len(HDF5_SIGNATURE))
        if head != HDF5_SIGNATURE:
            part.unlink()
            raise AllenApiError(
                f"the download for {part.with_suffix('')} is not an HDF5 file (starts with "
                f"{head!r}); the server sent something else, e.g. an error page"
            )


class _Interrupted(Exception):
    """A transfer that stopped early; the next attempt resumes it."""


class _HttpStatus(AllenApiError):
    """An HTTP error status (kept apart so a refused resume range can start over)."""

    def __init__(self, code: int, message: str) -> None:
        super().__init__(message)
        self.code = code


def _back_off(attempt: int) -> None:
    """Wait before the next try: 1, 2, 4 ... s, at most 10 s."""
    time.sleep(min(2.0 ** (attempt - 1), 10.0))


def _range_start(content_range: str) -> int | None:
    # "bytes 100-199/200"
    try:
        return int(content_range.split()[1].split("-")[0])
    except (IndexError, ValueError):
        return None


def _range_total(content_range: str) -> int | None:
    total = content_range.rpartition("/")[2]
    return int(total) if total.isdigit() else None
