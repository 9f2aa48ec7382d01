"""Export run…: a run's GeoPackage as KML, KMZ or GeoJSON for colleagues without QGIS.

Which run: the one whose result the dock shows, else the run ``result_layer`` would
pick (the active layer's run, else the top run of the layer tree); with no run in the
project the dock asks for a run GeoPackage.  The file itself is written by the
engine's ``outputs.exports`` (the same as ``predict --out x.kml``), atomically: a
failed or cancelled export leaves the chosen file as it was.

The export runs in a ``QgsTask`` that reports its progress (features written, of all):
a big run takes seconds to a minute (4.4 s for the KML of 520 photos, docs/EXPORTS.md),
and the task only reads one file and writes another, touching no project layer.  The
exporter keeps a reference to its task (QGIS would otherwise let Python collect it
mid-run) and runs one at a time.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Optional

from qgis.core import QgsApplication, QgsTask
from qgis.PyQt.QtCore import QObject, pyqtSignal

from ..errors import report_unexpected
from ..i18n import tr

from ...inference.outputs.exports import (EXPORT_FORMATS, FORMAT_NAMES, ExportCancelled,
                                         ExportError, export_run)

DEFAULT_EXTENSION = ".kml"


@dataclass(frozen=True)
class ExportOutcome:
    ok: bool
    message: str  # one line for the dock's status
    path: Optional[str] = None  # the file written


def file_filters() -> list[str]:
    """The save dialog's filters, one per format, KML first."""
    return [f"{FORMAT_NAMES[ext]} (*{ext})" for ext in EXPORT_FORMATS]


def with_extension(path: str, chosen_filter: str = "") -> str:
    """`path` with the extension of the chosen filter when the name has none of the
    export formats (a Qt save dialog does not add it by itself everywhere)."""
    if Path(path).suffix.lower() in EXPORT_FORMATS:
        return path
    for ext in EXPORT_FORMATS:
        if f"(*{ext})" in chosen_filter:
            return path + ext
    return path + DEFAULT_EXTENSION


def run_file_of(layer) -> Optional[str]:
    """The GeoPackage a run's Predictions layer reads, None when it is not a file."""
    if layer is None or layer.providerType() != "ogr":
        return None
    path = layer.source().split("|")[0]
    return path if os.path.isfile(path) else None


def current_run_file(runs) -> Optional[str]:
    """The GeoPackage of the dock's current run (see the module docstring) among `runs`
    (the project's, ``ProjectRuns``), or None."""
    shown = runs.runs.get(runs.shown_run) if runs.shown_run else None
    layer = shown.predictions if shown is not None else runs.result_layer()
    return run_file_of(layer)


def suggested_target(run_path: str, folder: str = "") -> str:
    """Where the save dialog starts: the run's name as a KML, in `folder` (the dock's
    last folder) or else beside the run."""
    folder = folder if folder and os.path.isdir(folder) else os.path.dirname(run_path)
    return os.path.join(folder, Path(run_path).stem + DEFAULT_EXTENSION)


def export_run_file(run_path: str, target: str,
                    is_cancelled: Optional[Callable[[], bool]] = None,
                    progress: Optional[Callable[[int, int], None]] = None) -> ExportOutcome:
    """Write the export; the outcome says what happened in one line.
    ``progress(done, total)``: features written so far, of all."""
    try:
        out = export_run(run_path, target, is_cancelled=is_cancelled, progress=progress)
    except ExportCancelled:
        return ExportOutcome(False, tr("Export cancelled: {path} was left as it was.").format(
            path=target))
    except ExportError as exc:
        return ExportOutcome(False, tr("Export failed, nothing was written: {error}").format(
            error=exc))
    except Exception as exc:  # noqa: BLE001 - a bug: the dock says so, the log has more
        return ExportOutcome(False, tr("Export failed: {error}").format(
            error=report_unexpected(exc, "GeoDecoder export")))
    return ExportOutcome(True, tr("Exported {run} to {path}").format(
        run=Path(run_path).name, path=out), str(out))


class ExportTask(QgsTask):
    """One export in the background; ``on_done(outcome)`` runs on the main thread.
    A cancel ends as a completed task (QGIS would report a False return as "failed")."""

    def __init__(self, run_path: str, target: str,
                 on_done: Callable[[ExportOutcome], None]):
        super().__init__(tr("GeoDecoder: export to {name}").format(name=Path(target).name),
                         QgsTask.CanCancel)
        self.run_path, self.target, self.on_done = run_path, target, on_done
        self.outcome: Optional[ExportOutcome] = None

    def run(self) -> bool:  # worker thread: files only
        self.outcome = export_run_file(self.run_path, self.target, self.isCanceled,
                                       self._progress)
        return self.outcome.ok or self.isCanceled()

    def _progress(self, done: int, total: int) -> None:
        """QGIS's task list shows it (setProgress is safe from the worker thread)."""
        self.setProgress(100.0 * done / max(total, 1))

    def finished(self, result: bool) -> None:  # main thread
        self.on_done(self.outcome or ExportOutcome(False, tr("Export failed.")))


class RunExporter(QObject):
    """Starts exports and tells how they ended (``exportFinished``)."""

    exportFinished = pyqtSignal(object)  # ExportOutcome

    def __init__(self, parent: Optional[QObject] = None):
        super().__init__(parent)
        self.task: Optional[ExportTask] = None

    def start(self, run_path: str, target: str) -> Optional[ExportTask]:
        """Queue an export; None while another one runs."""
        if self.task is not None:
            return None
        self.task = ExportTask(run_path, target, self._done)
        QgsApplication.taskManager().addTask(self.task)
        return self.task

    def _done(self, outcome: ExportOutcome) -> None:
        self.task = None
        self.exportFinished.emit(outcome)

    def cancel(self) -> None:
        if self.task is not None:
            self.task.cancel()
