"""The dock's track preview off the main thread.

``track_preview`` reads the EXIF header of every photo of the run and of the track
folder, and the GPX files: milliseconds a photo, but minutes for thousands of photos on
a network drive, so the dock never calls it on the main thread.  ``run()`` touches no
Qt widget and no project layer; ``finished()`` (main thread) hands the counts to the
caller.
"""

from __future__ import annotations

from typing import Callable, Optional

from qgis.core import QgsTask

from ..i18n import tr
from .request import TrackRequest
from .tracks import track_preview


class TrackPreviewTask(QgsTask):
    """``counts`` ({"exif", "track", "model"}) and ``warnings`` when it succeeded,
    ``error`` (one line) when the options or the files could not be read."""

    def __init__(self, request: TrackRequest, photos,
                 on_done: Optional[Callable[[TrackPreviewTask], None]] = None):
        photos = list(photos)
        super().__init__(tr("GeoDecoder: reading the times of {n} photo(s)").format(
            n=len(photos)), QgsTask.CanCancel)
        self.request, self.photos, self.on_done = request, photos, on_done
        self.counts: Optional[dict] = None
        self.warnings: list[str] = []
        self.error = ""

    def run(self) -> bool:  # worker thread
        try:
            self.counts, self.warnings = track_preview(self.request, self.photos)
            return True
        except ValueError as exc:  # a zone or offset that does not read (ClockError)
            self.error = str(exc)
        except Exception as exc:  # noqa: BLE001 - shown in the dock, never lost in a thread
            self.error = f"{type(exc).__name__}: {exc}"
        return False

    def finished(self, result: bool) -> None:  # main thread
        if self.on_done is not None:
            self.on_done(self)
