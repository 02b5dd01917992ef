"""A local HTTP server on 127.0.0.1 that plays the Allen RMA API, for the download tests."""

from __future__ import annotations

import hashlib
import json
import socket
import threading
import urllib.parse
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from fitting.allen_api import FEATURE_CRITERIA, NWB_CRITERIA, QUERY_PATH, SPECIMEN_CRITERIA

FEATURES = [
    {"specimen_id": 11, "adaptation": 0.05, "avg_isi": 80.0, "latency": 0.03,
     "f_i_curve_slope": 0.2, "threshold_i_long_square": 110.0, "tau": 20.0, "ri": 150.0,
     "vrest": -70.0},
    {"specimen_id": 12, "adaptation": None, "avg_isi": None, "latency": 0.05,
     "f_i_curve_slope": 0.1, "threshold_i_long_square": 70.0, "tau": 12.0, "ri": 200.0,
     "vrest": -66.0},
]  # fmt: skip
SPECIMENS = [
    {"specimen__id": 11, "donor__species": "Mus musculus", "structure__layer": "5",
     "tag__dendrite_type": "spiny", "line_name": "Rbp4-Cre_KL100",
     "structure_parent__acronym": "VISp"},
    {"specimen__id": 12, "donor__species": "Homo Sapiens", "structure__layer": "3",
     "tag__dendrite_type": "aspiny", "line_name": None, "structure_parent__acronym": "MTG"},
]  # fmt: skip
NWB_LINK = "/api/v2/well_known_file_download/4711"


def answer(rows, total=None):
    return {"success": True, "num_rows": len(rows), "total_rows": total or len(rows), "msg": rows}


class FakeAllenApi(ThreadingHTTPServer):
    """Serves RMA query answers and files; can cut a transfer short once to test resuming."""

    def __init__(self, nwb_bytes: bytes):
        super().__init__(("127.0.0.1", 0), _Handler)
        self.queries = {
            FEATURE_CRITERIA: answer(FEATURES),
            SPECIMEN_CRITERIA: answer(SPECIMENS),
            NWB_CRITERIA.format(specimen=11): answer(
                [{"id": 11, "ephys_result": {"well_known_files": [{"download_link": NWB_LINK}]}}]
            ),
            NWB_CRITERIA.format(specimen=12): answer([{"id": 12, "ephys_result": None}]),
        }
        self.files = {NWB_LINK: nwb_bytes}
        self.cut_after: dict[str, int] = {}  # path -> bytes sent before the connection drops
        self.requests: list[tuple[str, str | None]] = []

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}"


class _Handler(BaseHTTPRequestHandler):
    server: FakeAllenApi

    def log_message(self, *args):  # keep pytest's output clean
        pass

    def do_GET(self):
        url = urllib.parse.urlsplit(self.path)
        self.server.requests.append((url.path, self.headers.get("Range")))
        if url.path == QUERY_PATH:
            criteria = urllib.parse.parse_qs(url.query)["criteria"][0]
            answer = self.server.queries.get(criteria, {"success": False, "msg": "bad query"})
            self._send(200, json.dumps(answer).encode(), {"Content-Type": "application/json"})
        elif url.path in self.server.files:
            data = self.server.files[url.path]
            tag = f'"{hashlib.sha256(data).hexdigest()[:16]}"'
            status, headers = 200, {"ETag": tag}
            wanted = self.headers.get("Range")
            if wanted and self.headers.get("If-Range") == tag:  # else: the whole, current file
                first = int(wanted.removeprefix("bytes=").rstrip("-"))
                headers["Content-Range"] = f"bytes {first}-{len(data) - 1}/{len(data)}"
                data, status = data[first:], 206
            cut = self.server.cut_after.pop(url.path, None)
            self._send(status, data, headers, cut)
        else:
            self._send(404, b"not found", {})

    def _send(self, status, body, headers, cut=None):
        self.send_response(status)
        for name, value in headers.items():
            self.send_header(name, value)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body if cut is None else body[:cut])
        if cut is not None:
            self.wfile.flush()
            self.close_connection = True
            self.connection.shutdown(socket.SHUT_RDWR)


@contextmanager
def serving(nwb_bytes: bytes) -> Iterator[FakeAllenApi]:
    """Run a `FakeAllenApi` in a thread for the duration of the block."""
    server = FakeAllenApi(nwb_bytes)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield server
    finally:
        server.shutdown()
        server.server_close()
