"""The engine's transport over QGIS's network access manager, so a download from the
dock goes through the proxy, SSL and authentication settings of QGIS (Settings >
Options > Network), as the rest of QGIS does.

Why not ``QgsBlockingNetworkRequest`` or ``QgsFileDownloader``: the first keeps the
whole answer in memory (1.7 GB here), the second always writes its file from the start
and cannot resume.  This is the loop ``QgsBlockingNetworkRequest`` runs, with the bytes
handed to the engine's sink as they arrive and a ``Range: bytes=N-`` header to resume a
cut download.  It runs in the QgsTask's thread, where ``QgsNetworkAccessManager
.instance()`` is that thread's manager set up from the main one's settings.
"""

from __future__ import annotations

from typing import Callable, Optional

from qgis.core import QgsNetworkAccessManager
from qgis.PyQt.QtCore import QEventLoop, QTimer, QUrl
from qgis.PyQt.QtNetwork import QNetworkReply, QNetworkRequest

from ...inference.models.transport import Cancelled, TransportError, range_header

# no answer at all: the server, the name or the proxy cannot be reached
UNREACHABLE = {QNetworkReply.ConnectionRefusedError, QNetworkReply.HostNotFoundError,
               QNetworkReply.TimeoutError, QNetworkReply.TemporaryNetworkFailureError,
               QNetworkReply.NetworkSessionFailedError, QNetworkReply.UnknownNetworkError,
               QNetworkReply.ProxyConnectionRefusedError, QNetworkReply.ProxyNotFoundError,
               QNetworkReply.ProxyTimeoutError, QNetworkReply.ProxyConnectionClosedError,
               QNetworkReply.SslHandshakeFailedError}
REDIRECTS = {301, 302, 303, 307, 308}


class QgsTransport:
    """``get_text`` and ``stream`` as the engine's ``Transport`` wants them; `cancelled`
    (the task's ``isCanceled``) is polled so Cancel stops a download within a moment."""

    def __init__(self, cancelled: Optional[Callable[[], bool]] = None):
        self.cancelled = cancelled or (lambda: False)

    def get_text(self, url: str) -> str:
        chunks = []
        self._get(url, 0, lambda _resumed, _length: None, chunks.append)
        return b"".join(chunks).decode("utf-8", "replace")

    def stream(self, url: str, offset: int, sink) -> None:
        self._get(url, offset, lambda resumed, length: sink.begin(resumed, length),
                  sink.write)

    def _get(self, url: str, offset: int, on_start, on_data) -> None:
        request = QNetworkRequest(QUrl(url))
        request.setAttribute(QNetworkRequest.FollowRedirectsAttribute, True)  # the Hub's CDN
        # the User-Agent is QGIS's own: the manager sets it on every request
        rng = range_header(offset)
        if rng:
            request.setRawHeader(b"Range", rng.encode())
        reply = QgsNetworkAccessManager.instance().get(request)
        loop = QEventLoop()
        state = {"started": False, "error": None}

        def status() -> int:
            return int(reply.attribute(QNetworkRequest.HttpStatusCodeAttribute) or 0)

        def ready() -> None:
            if state["error"] is not None:
                return
            try:
                code = status()
                if code in REDIRECTS or not 200 <= code < 300:
                    return  # a redirect's body, or an error said at the end
                if not state["started"]:
                    length = reply.header(QNetworkRequest.ContentLengthHeader)
                    on_start(code == 206, int(length) if length is not None else None)
                    state["started"] = True
                data = bytes(reply.readAll())
                if data:
                    on_data(data)
            except BaseException as exc:  # noqa: BLE001 - carried out of the Qt slot
                state["error"] = exc
                reply.abort()

        def poll() -> None:
            if state["error"] is None and self.cancelled():
                state["error"] = Cancelled("stopped; the next download resumes")
                reply.abort()

        reply.readyRead.connect(ready)
        reply.finished.connect(loop.quit)
        timer = QTimer()
        timer.timeout.connect(poll)
        timer.start(100)
        if not reply.isFinished():
            loop.exec_()
        timer.stop()
        ready()  # whatever arrived with the end
        error, code, text = reply.error(), status(), reply.errorString()
        reply.deleteLater()
        if state["error"] is not None:
            raise state["error"]
        if code >= 400:
            raise TransportError(f"{url}: HTTP {code}")
        if error in UNREACHABLE:
            raise TransportError(f"{QUrl(url).adjusted(QUrl.RemovePath).toString()} cannot "
                                 f"be reached ({text})", reachable=False)
        if error != QNetworkReply.NoError:
            raise TransportError(f"the download from {url} broke off ({text}); run it "
                                 "again to resume")
