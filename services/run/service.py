"""Starts and follows runs: the glue between the dock's request and the engine's task.

The dock emits a ``GeolocateParams``; this service makes the ``GeolocateTask``, keeps a
Python reference to it while it runs (QGIS would otherwise let Python garbage-collect
it mid-run) and, when it ends, hands the finished run to ``results`` (a
``ProjectRuns``, project_runs.py), which adds its layers on the main thread and shows
what is picked.  Controlling tasks and managing a project's runs are two jobs: this
module does the first only.
"""

from __future__ import annotations

import dataclasses
import os
from datetime import datetime
from pathlib import Path
from typing import Optional

from qgis.core import QgsApplication, QgsProject
from qgis.PyQt.QtCore import QObject, pyqtSignal

from ..clues.constraints import build_constraints
from ..clues.tracks import track_options
from ..i18n import tr
from ..native_libs import ensure_own_libraries
from .params import GeolocateParams
from .project_runs import ProjectRuns
from .runs_folder import default_runs_dir, runs_dir
from .task import GeolocateTask, RunOutcome


def new_run_file(folder: Path, now: Optional[datetime] = None) -> str:
    """``geodecoder-YYYYMMDD-HHMMSS.gpkg`` in ``folder``, ``-2``, ``-3``... when a run of
    the same second is there: short enough for the dock to show whole (saved_run_label),
    sorted by time in any file manager, never an existing file."""
    stamp = (now or datetime.now()).strftime("%Y%m%d-%H%M%S")
    base = os.path.join(os.path.abspath(folder), f"geodecoder-{stamp}")
    path, n = f"{base}.gpkg", 1
    while os.path.exists(path):
        n += 1
        path = f"{base}-{n}.gpkg"
    return path


class GeolocateService(QObject):
    runStarted = pyqtSignal(object)  # GeolocateTask
    progressChanged = pyqtSignal(float)
    countChanged = pyqtSignal(int, int)  # photos done, photos in the run
    deviceResolved = pyqtSignal(str)  # the device the running task uses (Predictor.device_used)
    photoDone = pyqtSignal(str, bool, str)
    runFinished = pyqtSignal(object, object)  # RunOutcome, RunLayers
    runFailed = pyqtSignal(str)
    runCancelled = pyqtSignal()

    def __init__(self, iface=None, project: Optional[QgsProject] = None,
                 runs_dir: Optional[Path] = None, parent: Optional[QObject] = None):
        super().__init__(parent)
        self.project = project or QgsProject.instance()
        self.results = ProjectRuns(iface, self.project, self)
        self.runs_dir = Path(runs_dir) if runs_dir else default_runs_dir()
        self.task: Optional[GeolocateTask] = None
        self.last_outcome: Optional[RunOutcome] = None  # without its attention maps
        self.project.cleared.connect(self._project_cleared)

    def output_path_for(self, params: GeolocateParams) -> str:
        """The file a run writes: the one the user named, else a new one in the runs
        folder the user chose (``params.runs_dir``), else in this service's."""
        if params.output_path:
            return os.path.abspath(params.output_path)
        folder = runs_dir(params.runs_dir) if params.runs_dir else self.runs_dir
        folder.mkdir(parents=True, exist_ok=True)  # OSError: start() says why
        return new_run_file(folder)

    def start(self, params: GeolocateParams) -> Optional[GeolocateTask]:
        """Queue a run in QGIS's task manager; None if one is already running."""
        if self.task is not None:
            return None
        # shapely/pyproj with their own GEOS/PROJ: here on the main thread, before any
        # worker runs (sys.setdlopenflags is process-wide); once per session
        ensure_own_libraries()
        if params.clues:  # layers are read here, on the main thread; a bad clue: no run
            try:
                params = dataclasses.replace(params, constraints=build_constraints(
                    params.clues, self.project))
            except ValueError as exc:  # the engine's ConstraintError
                self.runFailed.emit(tr("Not run: {error}").format(error=exc))
                return None
        if params.track.wanted:  # a zone or offset that cannot be read: no run
            try:
                params = dataclasses.replace(params,
                                             track_options=track_options(params.track))
            except ValueError as exc:  # the engine's ClockError
                self.runFailed.emit(tr("Not run: {error}").format(error=exc))
                return None
        try:
            output_path = self.output_path_for(params)
        except OSError as exc:  # a read-only place, a file where the folder should be
            self.runFailed.emit(tr("Not run: the runs folder {folder} cannot be made "
                                   "({reason}). Choose another Runs folder in the Model "
                                   "tab.").format(folder=exc.filename or params.runs_dir,
                                                  reason=exc.strerror or exc))
            return None
        task = GeolocateTask(params, output_path, self._task_finished)
        task.progressChanged.connect(self.progressChanged)
        task.countChanged.connect(self.countChanged)
        task.photoDone.connect(self.photoDone)
        task.deviceResolved.connect(self.deviceResolved)
        self.task = task
        self.runStarted.emit(task)  # before it runs: listeners may connect to the task
        QgsApplication.taskManager().addTask(task)
        return task

    def cancel(self) -> None:
        if self.task is not None:
            self.task.cancel()

    def stop_and_keep(self) -> None:
        """Stop the running run and keep the photos done so far (a committed run of them)."""
        if self.task is not None:
            self.task.stop_and_keep()

    def _task_finished(self, task: GeolocateTask, ok: bool) -> None:
        """Main thread.  Layers are added for every committed run, even when a cancel
        came after the commit (the file is complete; the task then returns True)."""
        self.task = None
        if not ok or task.outcome is None:  # cancelled (ok, no outcome) or failed
            if task.error and not task.isCanceled():
                self.runFailed.emit(task.error)
            else:
                self.runCancelled.emit()
            return
        outcome = task.outcome
        self.last_outcome = dataclasses.replace(outcome, attention={})
        self.runFinished.emit(outcome, self.results.add_finished(outcome))

    def _project_cleared(self) -> None:
        self.last_outcome = None

    def shutdown(self) -> None:
        """Plugin unload: stop a running task and let go of the project."""
        self.cancel()
        try:
            self.project.cleared.disconnect(self._project_cleared)
        except TypeError:
            pass
        self.results.shutdown()


def describe_outcome(outcome: RunOutcome) -> str:
    """One line for the dock's status label."""
    from .estimate import rate_text

    done = outcome.predicted + len(outcome.failures)
    text = tr("{n} photo(s) geolocated, {f} failed, in {s:.1f} s on {device}").format(
        n=outcome.predicted, f=len(outcome.failures), s=outcome.seconds,
        device=outcome.device_used)
    if done and outcome.seconds > 0:
        text += f" ({rate_text(done / outcome.seconds)})"
    if outcome.stopped_early:
        text += tr(" — stopped: {n} photo(s) not geolocated").format(n=outcome.stopped_early)
    if outcome.untrained:
        text += tr(" — the model is UNTRAINED: its locations are meaningless")
    return text
