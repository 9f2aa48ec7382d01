"""The background run: a QgsTask that predicts and writes the run's GeoPackage.

``run()`` (worker thread) touches no project layer: it runs the engine and writes a
GeoPackage file with OGR, which is safe off the main thread.  ``finished()`` (main
thread) hands the outcome to a callback that builds the layers.  Cancel is checked
between batches by the Predictor (``should_stop=self.isCanceled``) and while writing,
so a cancelled run stops within one batch and leaves no file and no layer behind.
"""

from __future__ import annotations

import logging
import os
from dataclasses import dataclass, field
from typing import Callable, Optional

from qgis.core import QgsTask
from qgis.PyQt.QtCore import pyqtSignal

from .i18n import tr
from .params import GeolocateParams
from .run_pipeline import predict_photos, write_run

log = logging.getLogger(__name__)
PREDICT_SHARE = 90.0  # percent of the progress bar for predicting; the rest for writing


def photo_key(path: str) -> str:
    """How photos are looked up across the run (attention maps, list statuses)."""
    return os.path.normcase(os.path.abspath(path))


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


class GeolocateTask(QgsTask):
    """Geolocate ``params.photos`` and write ``output_path``; see module docstring."""

    photoDone = pyqtSignal(str, bool, str)  # path, geolocated?, place-less summary/reason

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

    def run(self) -> bool:  # worker thread
        try:
            return self._run()
        except RuntimeError as exc:  # no model, bad bundle, no GPU: the message says why
            log.warning("GeoDecoder run failed: %s", exc)
            self.error = str(exc) or type(exc).__name__
            return False
        except Exception as exc:  # noqa: BLE001 - the message goes to the dock, not a crash
            log.exception("GeoDecoder run failed")
            self.error = f"{type(exc).__name__}: {exc}"
            return False

    def _run(self) -> bool:
        p = self.params
        run = predict_photos(p.photos, p.bundle_path, device=p.device, batch_size=p.batch_size,
                             top_k=p.top_k, attention=p.attention, progress=self._progress,
                             should_stop=self.isCanceled, on_record=self._record)
        if run is None or self.isCanceled():
            return False
        self.device_used = run.device_used
        self.setProgress(PREDICT_SHARE)
        path = write_run(self.output_path, run, is_cancelled=self.isCanceled)
        attention = {photo_key(r.path): r.attention for r in run.predictions
                     if r.attention is not None}
        self.outcome = RunOutcome(
            gpkg_path=str(path), predicted=len(run.predictions),
            failures=tuple((f.path, f.reason) for f in run.failures),
            device_used=run.device_used, model_label=run.bundle.label,
            untrained=bool(run.bundle.info.untrained), seconds=run.seconds,
            num_levels=run.bundle.cells.num_levels, attention=attention)
        self.setProgress(100.0)
        return not self.isCanceled()

    def _progress(self, done: int, total: int) -> None:
        self.setProgress(PREDICT_SHARE * done / max(total, 1))

    def _record(self, record) -> None:
        reason = getattr(record, "reason", None)
        if reason is not None:
            self.photoDone.emit(record.path, False, reason)
        else:
            self.photoDone.emit(record.path, True,
                                tr("confidence {c:.0%}").format(c=record.confidence))

    def finished(self, result: bool) -> None:  # main thread
        if self.on_finished is not None:
            self.on_finished(self, bool(result))
