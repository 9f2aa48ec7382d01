"""The dock's "Case report…" in the background: a QgsTask per request, one at a time.

A report takes about 1.5 s per photo (the model again for "why here?", the hashes, the
layout's PDF), so a run of hundreds of photos written on the main thread froze QGIS for
minutes.  The task does all of it in its worker (``write_case_reports``: the layouts
render into private projects made there, never the user's layers), reports "n of N"
written as it goes and stops at a cancel before the next export: the complete PDFs
stay, the one under way is dropped before it is written, nothing half-written is left.
The main thread only hears how it ended (``reportFinished``).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable, Optional, Sequence

from qgis.core import QgsApplication, QgsTask
from qgis.PyQt.QtCore import QObject, pyqtSignal

from .facts import CaseReportError
from ..errors import report_unexpected
from ..i18n import tr


@dataclass(frozen=True)
class ReportOutcome:
    ok: bool  # every report asked for was written (none failed)
    message: str  # one line for the dock's status
    written: tuple = ()  # (photo path as recorded, pdf path), the complete reports
    cancelled: bool = False
    failed: tuple = ()  # (photo path as recorded, why): reports that could not be written


def outcome_notes(result) -> str:
    """What else the dock's status says: the photos whose report failed (the first
    reason), the report names shortened to fit."""
    notes = ""
    if result.failed:
        photo, why = result.failed[0]
        notes += " " + tr("{n} could not be written (first: {photo}: {why}).").format(
            n=len(result.failed), photo=photo, why=why)
    if result.shortened:
        notes += " " + tr("{n} report name(s) shortened to fit a file name.").format(
            n=len(result.shortened))
    return notes


def progress_text(done: int, total: int) -> str:
    return tr("Writing case reports: {done} of {total} written…").format(done=done,
                                                                         total=total)


class CaseReportTask(QgsTask):
    """The reports of `photos` (None: every photo) of the run `gpkg` into `folder`.
    ``progressed(done, total)`` is emitted from the worker (queued to the main thread's
    receivers); ``on_done(outcome)`` runs on the main thread.  A cancel ends as a
    completed task (QGIS would report a False return as "failed")."""

    progressed = pyqtSignal(int, int)

    def __init__(self, gpkg: str, folder: str, photos: Optional[Sequence[str]],
                 on_done: Callable[[ReportOutcome], None], attention: bool = True):
        super().__init__(tr("GeoDecoder: case reports"), QgsTask.CanCancel)
        self.gpkg, self.folder, self.on_done = gpkg, folder, on_done
        self.photos = None if photos is None else list(photos)
        self.attention = attention
        self.done = 0
        self.outcome: Optional[ReportOutcome] = None

    def _progress(self, done: int, total: int) -> None:
        self.done = done
        self.setProgress(100.0 * done / max(total, 1))
        self.progressed.emit(done, total)

    def run(self) -> bool:  # worker thread: files and private layouts only
        from .report import write_case_reports

        try:
            result = write_case_reports(self.gpkg, self.folder, self.photos,
                                        attention=self.attention, progress=self._progress,
                                        should_stop=self.isCanceled)
        except (CaseReportError, OSError, RuntimeError) as exc:
            self.outcome = self._failed(str(exc))
            return False
        except Exception as exc:  # noqa: BLE001 - a bug: the dock says so, the log has more
            self.outcome = self._failed(report_unexpected(exc, "GeoDecoder case report"))
            return False
        written = tuple(result.written)
        notes = outcome_notes(result)
        if self.isCanceled():
            self.outcome = ReportOutcome(False, tr(
                "Case reports cancelled: {n} complete report(s) in {folder}, no partial "
                "one.").format(n=len(written), folder=result.out_dir) + notes, written, True,
                tuple(result.failed))
            return True
        self.outcome = ReportOutcome(not result.failed, tr(
            "{n} case report(s) written to {folder}").format(
            n=len(written), folder=result.out_dir) + notes, written,
            failed=tuple(result.failed))
        return True

    def _failed(self, error: str) -> ReportOutcome:
        if self.done:
            return ReportOutcome(False, tr("Case reports stopped after {n}: {error}").format(
                n=self.done, error=error))
        return ReportOutcome(False, tr("No case report written: {error}").format(error=error))

    def finished(self, result: bool) -> None:  # main thread
        if self.outcome is None:  # cancelled before it started: run() never ran
            self.outcome = ReportOutcome(False, tr("Case reports cancelled: none written."),
                                         cancelled=True) if self.isCanceled() else \
                ReportOutcome(False, tr("Case reports failed."))
        self.on_done(self.outcome)


class CaseReporter(QObject):
    """Starts report tasks, one at a time, and keeps a reference to the running one
    (QGIS would otherwise let Python collect it mid-run)."""

    reportProgress = pyqtSignal(int, int)  # done, total
    reportFinished = pyqtSignal(object)  # ReportOutcome

    def __init__(self, parent: Optional[QObject] = None):
        super().__init__(parent)
        self.task: Optional[CaseReportTask] = None

    def start(self, gpkg: str, folder: str, photos: Optional[Sequence[str]] = None,
              attention: bool = True) -> Optional[CaseReportTask]:
        """Queue the reports; None while others are being written."""
        if self.task is not None:
            return None
        self.task = CaseReportTask(gpkg, folder, photos, self._done, attention)
        self.task.progressed.connect(self.reportProgress)
        QgsApplication.taskManager().addTask(self.task)
        return self.task

    def _done(self, outcome: ReportOutcome) -> None:
        self.task = None
        self.reportFinished.emit(outcome)

    def cancel(self) -> None:
        if self.task is not None:
            self.task.cancel()
