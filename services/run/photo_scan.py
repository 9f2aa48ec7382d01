"""Which files of a folder are photos: the engine's rules
(``inference.prediction.photos.find_photos``), walked in a background task so that a
large folder never freezes the dock.

A folder lists exactly what a run on that folder would geolocate: the engine's photo
extensions (any case), hidden folders, NAS thumbnail caches and macOS ``._`` forks
skipped.  Files named one by one are taken as given, whatever their extension, as the
engine takes them (a run then names the problem of a file it cannot read).

The engine's rules need its packages (Pillow, numpy).  Without them nothing could decode
a photo anyway, so no folder is walked by other rules: the scan says to install the
packages first; files named one by one are still listed.
"""

from __future__ import annotations

import logging
import os
from typing import Callable, Iterable, Optional

from qgis.core import QgsTask

from ..errors import MissingPackagesError
from ..i18n import tr

log = logging.getLogger(__name__)
Finder = Callable[[list], list]  # paths -> absolute photo paths


def photo_finder() -> Finder:
    """What expands files and folders into photos.  Resolved on the main thread (the
    engine's photo module is imported there), then safe to call from a worker."""
    try:
        from ...inference.prediction.photos import find_photos
    except ImportError as exc:  # Pillow or numpy missing: the install panel says so
        return _finder_without_engine(exc)

    def find(paths) -> list[str]:
        photos, _missing = find_photos([p for p in paths if os.path.exists(p)])
        return [os.path.abspath(p) for p in photos]

    return find


def _finder_without_engine(problem: ImportError) -> Finder:
    missing = getattr(problem, "name", None) or str(problem)

    def find(paths) -> list[str]:
        if any(os.path.isdir(p) for p in paths):
            raise MissingPackagesError(
                tr("Photos in folders are found by the engine, which needs {name}: install "
                   "the missing packages (Install, above), then add the folder again.")
                .format(name=missing))
        return [os.path.abspath(p) for p in paths if os.path.exists(p)]

    return find


def expand_paths(paths: Iterable[str]) -> list[str]:
    """Files as given, folders walked recursively for photos, on the calling thread
    (the dock walks folders with ``PhotoScanTask`` instead)."""
    return photo_finder()(list(paths))


class PhotoScanTask(QgsTask):
    """Walks files and folders for photos off the main thread.

    ``run()`` only lists paths (no Qt widget, no project); ``finished()`` (main thread)
    hands the result to ``on_done``.  Cancel is checked between the given paths: one
    huge folder is walked to its end, but its result is then dropped.
    """

    def __init__(self, paths: Iterable[str], finder: Finder,
                 on_done: Optional[Callable[[PhotoScanTask, bool], None]] = None):
        paths = list(paths)
        super().__init__(tr("GeoDecoder: looking for photos in {n} folder(s)").format(
            n=len(paths)), QgsTask.CanCancel)
        self.paths = paths
        self.finder = finder
        self.on_done = on_done
        self.found: list[str] = []
        self.error: Optional[str] = None
        self.dropped = False  # set on the main thread: the result is no longer wanted

    def run(self) -> bool:  # worker thread
        try:
            for i, path in enumerate(self.paths):
                if self.isCanceled():
                    return False
                self.found += self.finder([path])
                self.setProgress(100.0 * (i + 1) / len(self.paths))
        except MissingPackagesError as exc:  # the message says what to install
            self.error = str(exc)
            return False
        except Exception as exc:  # noqa: BLE001 - reported in the dock, not a crash
            log.exception("GeoDecoder: looking for photos failed")
            self.error = f"{type(exc).__name__}: {exc}"
            return False
        return not self.isCanceled()

    def finished(self, result: bool) -> None:  # main thread
        if self.on_done is not None:
            self.on_done(self, bool(result))
