"""How bytes come from a server: the one thing the command line and the dock do
differently.  The command line uses urllib (standard library, honours the usual
HTTPS_PROXY variables); the dock passes a transport built on QGIS's network access
manager, so QGIS's proxy and authentication settings apply.  Everything else (where the
bytes go, resuming, free space, SHA-256, placement) is the store's, the same for both.

A transport streams a URL from a byte offset into a ``Sink``: it says first whether the
server resumed at that offset (HTTP 206 to our ``Range`` request) or sends the whole
file (200: the sink starts over), then hands over the bytes as they arrive.
"""

from __future__ import annotations

from typing import Optional, Protocol

USER_AGENT = "GeoDecoder-models/1"
CHUNK = 1 << 20


class TransportError(RuntimeError):
    """The server could not be reached or answered with an error; `reachable` is False
    when no answer came at all (no network, DNS, refused, proxy), which the store turns
    into the "copy the files and use --from" advice."""

    def __init__(self, message: str, reachable: bool = True):
        super().__init__(message)
        self.reachable = reachable


class Cancelled(RuntimeError):
    """The user stopped the download; what arrived stays in the .part file."""


class Sink(Protocol):
    def begin(self, resumed: bool, length: Optional[int]) -> None:
        """Before the first byte: `resumed` True when the body starts at the offset asked
        for; `length` the body's length when the server said it."""

    def write(self, data: bytes) -> None:
        """Some bytes; raises Cancelled when the user stopped."""


class Transport(Protocol):
    def get_text(self, url: str) -> str: ...

    def stream(self, url: str, offset: int, sink: Sink) -> None: ...


def range_header(offset: int) -> Optional[str]:
    return f"bytes={offset}-" if offset > 0 else None


class UrlTransport:
    """urllib, with a timeout so a silent server ends in an error instead of a hang.
    (urllib is imported when used: the dock reads the store at QGIS start-up and never
    uses this transport.)"""

    def __init__(self, timeout: float = 60.0):
        self.timeout = timeout

    def _open(self, url: str, headers: dict):
        import http.client
        import urllib.error
        import urllib.request

        if not url.lower().startswith(("http://", "https://")):
            raise TransportError(f"{url}: only http(s) URLs are fetched")
        request = urllib.request.Request(url, headers={"User-Agent": USER_AGENT, **headers})
        try:  # the scheme is checked above: no file:// or custom handlers
            return urllib.request.urlopen(request, timeout=self.timeout)  # nosec B310
        except urllib.error.HTTPError as exc:
            raise TransportError(f"{url}: HTTP {exc.code} {exc.reason}") from exc
        except urllib.error.URLError as exc:
            raise TransportError(f"{_host(url)} cannot be reached ({exc.reason})",
                                 reachable=False) from exc
        except (OSError, http.client.HTTPException) as exc:
            raise TransportError(f"{_host(url)} cannot be reached ({exc})",
                                 reachable=False) from exc

    def get_text(self, url: str) -> str:
        import http.client

        response = self._open(url, {"Accept": "text/html"})
        with response:
            try:
                return response.read().decode("utf-8", "replace")
            except (OSError, http.client.HTTPException) as exc:
                raise TransportError(f"{url}: the answer broke off ({exc})") from exc

    def stream(self, url: str, offset: int, sink: Sink) -> None:
        import http.client
        import socket

        rng = range_header(offset)
        response = self._open(url, {"Range": rng} if rng else {})
        with response:
            status = response.getcode()
            length = response.headers.get("Content-Length")
            sink.begin(resumed=status == 206, length=int(length) if length else None)
            try:
                for block in iter(lambda: response.read(CHUNK), b""):
                    sink.write(block)
            except (OSError, socket.timeout, http.client.HTTPException) as exc:
                raise TransportError(f"the download from {_host(url)} broke off ({exc}); "
                                     "run it again to resume") from exc


def _host(url: str) -> str:
    from urllib.parse import urlsplit

    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}" if parts.netloc else url
