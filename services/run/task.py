"""The background run: a QgsTask that predicts and writes the run's GeoPackage.

``run()`` (worker thread) touches no project layer: it runs the engine and writes a
GeoPackage file with OGR, which is safe off the main thread.  Predictions are written
chunk by chunk as they arrive (``run_pipeline.predict_to_geopackage``) and only a
``PhotoSummary`` per photo (plus its attention maps when asked for) is kept, so memory
does not grow with the number of photos.  ``finished()`` (main thread) hands the
outcome to a callback that builds the layers.

A run that fails says why: an expected error (``errors.expected_errors``: no model, a
broken bundle, a device that is not there, no photo, a file that cannot be written)
with its own message; anything else (a torch error, a bug) with its type, and its
traceback goes to the QGIS log.

"Stop and keep" (``stop_and_keep``) stops the same way but commits the photos done so far:
the run's file says how many of how many (run_info ``stopped_by_user``).

Cancel is checked between batches by the Predictor (``should_stop=self.isCanceled``)
and while writing, so a cancelled run stops within one batch and leaves no file and no
layer behind.  A cancelled run ends as a *completed* task whose description says it was
cancelled: QGIS reports a task that returns False as "Task failed", which a cancel the
user asked for is not.  Once the GeoPackage is committed (moved onto its destination, replacing
any previous file there) the run is complete: a cancel arriving after that is ignored
and the run finishes normally, so the dock never says "nothing was added" about a file
that was written.
"""

from __future__ import annotations

import logging
import os
from dataclasses import dataclass, field
from typing import Callable, Optional

from qgis.core import QgsTask
from qgis.PyQt.QtCore import pyqtSignal

from ..errors import error_message, expected_errors, report_unexpected
from ..i18n import tr
from .params import GeolocateParams
from .pipeline import PhotoSummary, PredictionStream, predict_to_geopackage

log = logging.getLogger(__name__)
PREDICT_SHARE = 95.0  # percent of the progress bar for predicting + writing chunks;
# the rest for the commit (run_info, styles, checks, the move onto the destination)


def photo_key(path: str) -> str:
    """How photos are looked up across the run (attention maps, list statuses)."""
    return os.path.normcase(os.path.abspath(path))


def percent(p: float) -> str:
    """A probability for a list entry: one decimal under 10 % (a weak model's 0.4 % must not
    read as 0 %)."""
    return f"{p:.1%}" if p < 0.1 else f"{p:.0%}"


@dataclass(frozen=True)
class RunOutcome:
    """What a finished run produced, for the layers and the dock."""

    gpkg_path: str
    predicted: int
    failures: tuple[tuple[str, str], ...]  # (photo path, reason)
    device_used: str
    model_label: str
    untrained: bool
    seconds: float
    num_levels: int
    attention: dict = field(default_factory=dict, compare=False, repr=False)  # key -> array
    photos: tuple[PhotoSummary, ...] = field(default=(), compare=False, repr=False)
    stopped_early: int = 0  # photos left undone by "Stop and keep" (0: the whole run)


class GeolocateTask(QgsTask):
    """Geolocate ``params.photos`` and write ``output_path``; see module docstring."""

    photoDone = pyqtSignal(str, bool, str)  # path, geolocated?, place-less summary/reason
    deviceResolved = pyqtSignal(str)  # Predictor.device_used, as soon as the model is loaded
    countChanged = pyqtSignal(int, int)  # photos done, photos in the run

    def __init__(self, params: GeolocateParams, output_path: str,
                 on_finished: Optional[Callable[[GeolocateTask, bool], None]] = None):
        super().__init__(tr("GeoDecoder: geolocating {n} photo(s)").format(
            n=len(params.photos)), QgsTask.CanCancel)
        self.params = params
        self.output_path = output_path
        self.on_finished = on_finished
        self.outcome: Optional[RunOutcome] = None
        self.error: Optional[str] = None
        self.device_used = ""
        self.committed = False  # the GeoPackage is complete at output_path
        self.cancelled = False  # stopped by a cancel before the commit: nothing written
        self.keep_requested = False  # "Stop and keep": stop, commit the photos done
        self.total = len(params.photos)  # photos in the run, once the engine has counted
        self._photos: list[PhotoSummary] = []
        self._attention: dict = {}

    def run(self) -> bool:  # worker thread
        try:
            return self._run()
        except expected_errors() as exc:  # no model, bad bundle, no such device, no
            # photo, a file that cannot be written: the message says what to do
            log.warning("GeoDecoder run failed: %s", exc)
            self.error = error_message(exc)
            return False
        except Exception as exc:  # noqa: BLE001 - torch (out of memory, shape mismatch)
            # or a bug: the dock says so, the traceback goes to the QGIS log
            self.error = report_unexpected(exc, "GeoDecoder run")
            return False

    def _run(self) -> bool:
        p = self.params
        stream = PredictionStream(p.photos, p.bundle_path, device=p.device,
                                  batch_size=p.batch_size, top_k=p.top_k, attention=p.attention,
                                  constraints=p.constraints, track=p.track_options)
        self.device_used = stream.device_used
        self.deviceResolved.emit(stream.device_used)
        path = predict_to_geopackage(self.output_path, stream, progress=self._progress,
                                     should_stop=self.isCanceled, on_record=self._record,
                                     stop_and_keep=lambda: self.keep_requested)
        if path is None:  # cancelled before the commit: no file written or replaced
            self.cancelled = True
            self.setDescription(tr("GeoDecoder: cancelled, nothing was added"))
            return True  # a cancel is not a failure (QGIS says "Task failed" for False)
        # Committed: the file is complete (and replaced any previous one), so the run is
        # done whatever a late cancel says; returning False now would hide a real file.
        self.committed = True
        bundle = stream.bundle
        self.outcome = RunOutcome(
            gpkg_path=str(path), predicted=stream.n_predicted,
            failures=tuple((s.path, s.reason) for s in self._photos if not s.ok),
            device_used=stream.device_used, model_label=bundle.label,
            untrained=bool(bundle.info.untrained), seconds=stream.seconds,
            num_levels=stream.num_levels, attention=self._attention,
            photos=tuple(self._photos),
            stopped_early=max(0, self.total - len(self._photos)) if self.keep_requested
            else 0)
        self._photos, self._attention = [], {}
        self.setProgress(100.0)
        return True

    def stop_and_keep(self) -> None:
        """Stop after the batch in hand and commit the photos done so far (any thread:
        a flag the run reads between batches)."""
        self.keep_requested = True

    def _progress(self, done: int, total: int) -> None:
        self.total = total
        self.setProgress(PREDICT_SHARE * done / max(total, 1))
        self.countChanged.emit(done, total)

    def _record(self, record) -> None:
        """Per record as it arrives: keep its summary (and attention), tell the dock."""
        self._photos.append(PhotoSummary.of(record))
        attention = getattr(record, "attention", None)
        if attention is not None:
            self._attention[photo_key(record.path)] = attention
        reason = getattr(record, "reason", None)
        if reason is not None:
            self.photoDone.emit(record.path, False, reason)
        else:
            self.photoDone.emit(record.path, True,
                                tr("confidence {c}").format(c=percent(record.confidence)))

    def finished(self, result: bool) -> None:  # main thread
        if self.on_finished is not None:
            self.on_finished(self, bool(result))
