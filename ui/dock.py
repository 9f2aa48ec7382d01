"""The "Geolocate photos" dock: photos in, a run request out, results shown.

The dock only builds a ``GeolocateParams`` and emits it (``runRequested``); the run
service starts the task and calls the slots below as the run goes.  It never imports
the engine, so it builds (and says what is missing) even without torch.

Laid out for a narrow dock (QGIS opens it about 290 px wide): three tabs (Photos, Model,
Result), each scrolling vertically only, with Run / Cancel, the progress and the status
always in view below them.  Spin and combo boxes take the mouse wheel only once
clicked, so scrolling the dock never changes a setting.
"""

from __future__ import annotations

import dataclasses
import os
from typing import Callable, Optional

from qgis.core import QgsProject
from qgis.gui import QgsDockWidget
from qgis.PyQt.QtCore import QCoreApplication, QEvent, QObject, Qt, pyqtSignal
from qgis.PyQt.QtWidgets import (
    QAbstractScrollArea,
    QAbstractSpinBox,
    QCheckBox,
    QComboBox,
    QFileDialog,
    QFrame,
    QGridLayout,
    QHBoxLayout,
    QLabel,
    QMessageBox,
    QProgressBar,
    QPushButton,
    QScrollArea,
    QTabWidget,
    QVBoxLayout,
    QWidget,
)

from ..services.run.basemap import OSM, WORLD
from ..services.clues.constraints import country_choices, photo_time
from ..services.i18n import tr
from ..services.clues.request import ConstraintRequest
from ..services.run.estimate import WORTH_SAYING_S
from ..services.run.params import GeolocateParams
from ..services.run.photo_scan import expand_paths
from ..services.run.runs_folder import open_run_start
from ..services.settings import DockSettings
from .clue_summary import clue_names, run_button_text, summary_text
from .clues_panel import CluesPanel
from .install_panel import InstallPanel
from .models_panel import ModelsPanel
from .photo_list import PATH_ROLE, PhotoListWidget
from .result_view import ResultView
from .run_options import RunOptions
from .run_progress import RunClock, duration_text
from .saved_run_label import SavedRunLabel
from .track_panel import TrackPanel

TAB_PHOTOS, TAB_CLUES, TAB_MODEL, TAB_RESULT = 0, 1, 2, 3
PAGE_MARGINS = (4, 4, 4, 4)  # Qt's default 9-11 px per level cost a narrow dock 40 px


class WheelGuard(QObject):
    """Spin and combo boxes take the wheel only when focused (clicked or tabbed to);
    otherwise the wheel scrolls the page under them, as the user meant."""

    def eventFilter(self, obj, event):  # noqa: N802 - Qt's name
        if event.type() == QEvent.Wheel and not obj.hasFocus():
            area = obj.parentWidget()
            while area is not None and not isinstance(area, QAbstractScrollArea):
                area = area.parentWidget()
            if area is not None:  # Qt does not pass a wheel event on to the parents itself
                QCoreApplication.sendEvent(area.viewport(), event)
            return True
        return False


def guard_wheel(widgets, guard: WheelGuard) -> None:
    for widget in widgets:
        widget.setFocusPolicy(Qt.StrongFocus)
        widget.installEventFilter(guard)


def _scrolling(page: QWidget) -> QScrollArea:
    """`page` in a scroll area that scrolls vertically only: its content narrows with
    the dock instead of growing a horizontal scrollbar."""
    scroll = QScrollArea()
    scroll.setWidgetResizable(True)
    scroll.setFrameShape(QFrame.NoFrame)
    scroll.setHorizontalScrollBarPolicy(Qt.ScrollBarAlwaysOff)
    scroll.setWidget(page)
    return scroll


def layers_reading(path: str, project: Optional[QgsProject] = None) -> list:
    """The layers of `project` whose source is the file `path`."""
    project = project or QgsProject.instance()
    target = os.path.normcase(os.path.abspath(path))
    return [layer for layer in project.mapLayers().values()
            if os.path.normcase(os.path.abspath(layer.source().split("|")[0])) == target]


def _button(text: str, name: str, slot) -> QPushButton:
    button = QPushButton(text)
    button.setObjectName(name)
    button.clicked.connect(slot)
    return button


class GeolocateDock(QgsDockWidget):
    runRequested = pyqtSignal(object)  # GeolocateParams
    cancelRequested = pyqtSignal()
    keepRequested = pyqtSignal()  # "Stop, keep": stop the run, keep the photos done
    basemapRequested = pyqtSignal(str)  # basemap.WORLD or basemap.OSM
    pickRequested = pyqtSignal(bool)  # the "pick a result on the map" tool on/off
    openRunRequested = pyqtSignal(str)  # a saved run's GeoPackage to add to the map
    exportRunRequested = pyqtSignal()  # Export run…: the current run as KML/KMZ/GeoJSON
    photoChosen = pyqtSignal(str)  # a photo row activated: show its result, if it has one
    caseReportRequested = pyqtSignal(str)  # a folder for the PDF case reports

    def __init__(self, parent: Optional[QWidget] = None,
                 attention_lookup: Optional[Callable[[str], object]] = None,
                 canvas=None):
        super().__init__(tr("Geolocate photos"), parent)
        self.setObjectName("GeoDecoderDock")
        self.settings = DockSettings.load()
        self.clock = RunClock()
        self.install_panel = InstallPanel()
        self.install_panel.installFinished.connect(lambda _ok: self.update_run_enabled())
        self.photos = PhotoListWidget()
        self.photos.setHorizontalScrollBarPolicy(Qt.ScrollBarAlwaysOff)
        self.photos.setWordWrap(True)
        self.photos.pathsDropped.connect(self.add_paths)
        self.photos.scanFinished.connect(self._scan_finished)
        # double-click (or Enter): a single click selects rows for Remove, and jumping to
        # the Result tab on it would break a Ctrl/Shift selection
        self.photos.itemActivated.connect(
            lambda item: self.photoChosen.emit(str(item.data(PATH_ROLE) or "")))
        self.photos.setToolTip(tr("Double-click a photo to see its result"))
        self.options = RunOptions()
        self.options.load(self.settings)
        self.models = ModelsPanel(self.settings.models_dir)
        self.models.folderChanged.connect(lambda _folder: self.save_settings())
        self.models.storeChanged.connect(self.options.update_model_status)
        self.options.update_model_status()  # the models folder is set now (GeoCLIP's)
        self.clues = CluesPanel(list(country_choices()), canvas=canvas,
                                selected_photo=self.selected_photo, photo_time=photo_time)
        self.track = TrackPanel(self.photos.paths, self.selected_photo,
                                lambda: self.settings.last_folder)
        self.run_button = _button(tr("Run"), "geodecoderRunButton", self.request_run)
        self.cancel_button = _button(tr("Cancel"), "geodecoderCancelButton",
                                     self.cancelRequested.emit)
        self.cancel_button.setEnabled(False)
        self.cancel_button.setToolTip(tr("Stop the run and keep nothing"))
        self.keep_button = _button(tr("Stop, keep"), "geodecoderKeepButton",
                                   self.keepRequested.emit)
        self.keep_button.setEnabled(False)
        self.keep_button.setToolTip(tr("Stop the run and keep the photos already done (a "
                                       "run of those photos, saying it was stopped)"))
        self._queued: list[GeolocateParams] = []  # the second run of a split (clues on
        # the selected photos only), started when the first one has finished
        self.selected_only = QCheckBox(tr("Selected photos only"))
        self.selected_only.setObjectName("geodecoderCluesSelectedOnly")
        self.selected_only.setToolTip(tr("The clues apply to the selected photos only: they run "
                                         "with the clues, the other "
                                         "photos in a second run without them"))
        self.run_summary = QLabel()
        self.run_summary.setObjectName("geodecoderRunSummary")
        self.run_summary.setWordWrap(True)
        self.progress = QProgressBar()
        self.progress.setObjectName("geodecoderProgress")
        self.status = QLabel()
        self.status.setObjectName("geodecoderStatus")
        self.status.setWordWrap(True)
        # fixed heights: a line that wraps to more lines when a run starts made the tabs
        # shrink and Run / Cancel jump ~15 px under the mouse (issue 20 item 9)
        lines = self.status.fontMetrics().lineSpacing()
        self.status.setFixedHeight(3 * lines + 2)
        self.run_summary.setFixedHeight(3 * lines + 2)
        self.run_summary.setAlignment(Qt.AlignTop | Qt.AlignLeft)
        self.status.setAlignment(Qt.AlignTop | Qt.AlignLeft)
        self.saved_run = SavedRunLabel()
        self.result_view = ResultView(attention_lookup or (lambda _path: None))
        self.pick_button = _button(tr("Pick on map"), "geodecoderPickButton",
                                   lambda: self.pickRequested.emit(self.pick_button.isChecked()))
        self.pick_button.setCheckable(True)
        self.pick_button.setToolTip(tr("Click a prediction on the map to see it here"))
        self.open_run_button = _button(tr("Open run…"), "geodecoderOpenRunButton",
                                       self.choose_run)
        self.open_run_button.setToolTip(tr("Add a saved run (GeoPackage) to the map as a "
                                           "run: its group, styles and results"))
        self.export_run_button = _button(tr("Export run…"), "geodecoderExportRunButton",
                                         self.exportRunRequested.emit)
        self.export_run_button.setToolTip(tr("Save the current run as KML/KMZ (Google "
                                             "Earth) or GeoJSON for colleagues"))
        self.report_button = _button(tr("Case report…"), "geodecoderCaseReportButton",
                                     self.choose_report_folder)
        self.report_button.setToolTip(tr("Write a PDF case report per selected photo of the "
                                         "shown run (every photo when none is selected)"))
        self.basemap_choice = QComboBox()
        self.basemap_choice.setObjectName("geodecoderBasemapChoice")
        self.basemap_choice.addItem(tr("World map (offline)"), WORLD)
        self.basemap_choice.addItem(tr("OpenStreetMap (web tiles)"), OSM)
        self.basemap_choice.setCurrentIndex(max(0, self.basemap_choice.findData(
            self.settings.basemap)))
        self.basemap_choice.setSizeAdjustPolicy(
            QComboBox.AdjustToMinimumContentsLengthWithIcon)
        self.basemap_choice.setMinimumContentsLength(4)
        self.basemap_button = _button(tr("Add"), "geodecoderBasemapButton",
                                      self._request_basemap)
        self.basemap_button.setToolTip(tr("Add this basemap under the results"))
        self.basemap_choice.setToolTip(tr("Basemap to add under the results"))
        self.wheel_guard = WheelGuard(self)
        guard_wheel([*self.findChildren(QAbstractSpinBox), *self.findChildren(QComboBox),
                     *self.options.findChildren(QAbstractSpinBox),
                     *self.options.findChildren(QComboBox), self.basemap_choice,
                     *self.clues.findChildren(QAbstractSpinBox),
                     *self.clues.findChildren(QComboBox),
                     *self.track.findChildren(QAbstractSpinBox)],
                    self.wheel_guard)
        self.tabs = QTabWidget()
        self.tabs.setObjectName("geodecoderTabs")
        # four tabs in a dock about 290 px wide: tighter tabs, all of them in view (the
        # style's wide padding hid "Result" behind scroll arrows)
        self.tabs.setStyleSheet("QTabBar::tab { padding: 3px 6px; }")
        self.setWidget(self._layout())
        for signal in (self.clues.changed, self.track.changed, self.selected_only.toggled,
                       self.photos.itemSelectionChanged, self.options.choice.currentIndexChanged,
                       self.options.device.currentIndexChanged):
            signal.connect(lambda *_args: self.update_run_summary())
        self.update_run_enabled()

    def _layout(self) -> QWidget:
        buttons = QGridLayout()  # two by two: four in a row do not fit a narrow dock
        for i, (text, name, slot) in enumerate((
                (tr("Add photos…"), "geodecoderAddPhotos", self.choose_photos),
                (tr("Add folder…"), "geodecoderAddFolder", self.choose_folder),
                (tr("Remove"), "geodecoderRemovePhotos", self.photos.remove_selected),
                (tr("Clear"), "geodecoderClearPhotos", self._clear_photos))):
            buttons.addWidget(_button(text, name, slot), i // 2, i % 2)
        photos_page = QWidget()
        photos_layout = QVBoxLayout(photos_page)
        photos_layout.setContentsMargins(*PAGE_MARGINS)
        photos_layout.addLayout(buttons)
        photos_layout.addWidget(self.photos, 1)
        options_page = QWidget()
        options_layout = QVBoxLayout(options_page)
        options_layout.setContentsMargins(*PAGE_MARGINS)
        options_layout.addWidget(self.options)
        options_layout.addWidget(self.models)
        options_layout.addStretch(1)
        basemap_row = QHBoxLayout()
        basemap_row.addWidget(self.basemap_choice, 1)
        basemap_row.addWidget(self.basemap_button)
        result_page = QWidget()
        result_layout = QVBoxLayout(result_page)
        result_layout.setContentsMargins(*PAGE_MARGINS)
        top_row = QHBoxLayout()  # "Why here?" stays in view above the answer
        top_row.addWidget(self.pick_button)
        top_row.addWidget(self.result_view.why_button)
        result_layout.addLayout(top_row)
        run_files_row = QHBoxLayout()
        run_files_row.addWidget(self.open_run_button)
        run_files_row.addWidget(self.export_run_button)
        result_layout.addLayout(run_files_row)
        result_layout.addWidget(self.report_button)
        result_layout.addLayout(basemap_row)
        result_layout.addWidget(self.result_view)
        result_layout.addStretch(1)
        self.tabs.addTab(photos_page, tr("Photos"))  # the list scrolls itself
        clues_page = QWidget()
        clues_layout = QVBoxLayout(clues_page)
        clues_layout.setContentsMargins(*PAGE_MARGINS)
        clues_layout.addWidget(self.selected_only)
        clues_layout.addWidget(self.clues)
        clues_layout.addWidget(self.track)
        clues_layout.addStretch(1)
        self.tabs.addTab(_scrolling(clues_page), tr("Clues"))
        self.tabs.setTabToolTip(TAB_CLUES, tr("What you know (countries, an area, the sun) "
                                              "narrows the answer"))
        self.tabs.addTab(_scrolling(options_page), tr("Model"))
        self.tabs.addTab(_scrolling(result_page), tr("Result"))
        run_row = QHBoxLayout()
        run_row.addWidget(self.run_button, 1)
        run_row.addWidget(self.keep_button)
        run_row.addWidget(self.cancel_button)
        body = QWidget()
        layout = QVBoxLayout(body)
        layout.setContentsMargins(*PAGE_MARGINS)
        layout.addWidget(self.install_panel)
        layout.addWidget(self.tabs, 1)
        layout.addLayout(run_row)
        layout.addWidget(self.run_summary)
        layout.addWidget(self.progress)
        layout.addWidget(self.status)
        layout.addWidget(self.saved_run)
        return body

    # ------------------------------------------------------------------ photos
    def add_paths(self, paths) -> int:
        """Add files at once and look for photos in folders (recursively) in the
        background: the list fills when that walk ends (``photos.scanFinished``) and the
        dock stays usable meanwhile.  Returns the number of files added now."""
        paths = list(paths)
        folders = [p for p in paths if os.path.isdir(p)]
        files = [p for p in paths if not os.path.isdir(p)]
        added = self.photos.add_paths(expand_paths(files)) if files else 0
        if folders:
            self.photos.scan_paths(folders)
            self.status.setText(tr("Looking for photos in {n} folder(s)…").format(
                n=len(folders)))
        self.update_run_enabled()
        return added

    def _scan_finished(self, added: int, error: str) -> None:
        if error:
            self.status.setText(tr("Looking for photos failed: {error}").format(error=error))
        elif not self.photos.is_scanning():
            self.status.setText(tr("{n} photo(s) added from the folder(s).").format(n=added))
        self.update_run_enabled()

    def selected_photo(self) -> Optional[str]:
        """The photo row the user selected (or the only photo): "Time from the photo"."""
        rows = self.photos.selectedItems()
        if rows:
            return str(rows[0].data(PATH_ROLE) or "") or None
        paths = self.photos.paths()
        return paths[0] if len(paths) == 1 else None

    def choose_photos(self) -> None:
        files, _ = QFileDialog.getOpenFileNames(
            self, tr("Add photos"), self.settings.last_folder,
            tr("Photos (*.jpg *.jpeg *.png *.webp *.heic *.heif *.tif *.tiff *.bmp *.gif);;"
               "All files (*)"))
        if files:
            self.settings.last_folder = os.path.dirname(files[0])
            self.add_paths(files)

    def choose_folder(self) -> None:
        folder = QFileDialog.getExistingDirectory(self, tr("Add a folder of photos"),
                                                  self.settings.last_folder)
        if folder:
            self.settings.last_folder = folder
            self.add_paths([folder])

    def _clear_photos(self) -> None:
        self.photos.clear_photos()
        self.update_run_enabled()

    # --------------------------------------------------------------------- run
    def update_run_enabled(self) -> None:
        missing = self.install_panel.refresh()
        self.run_button.setEnabled(not missing and self.photos.count() > 0
                                   and not self.cancel_button.isEnabled()
                                   and not self.photos.is_scanning())
        self.update_run_summary()

    def _selected_paths(self) -> list[str]:
        return [str(item.data(PATH_ROLE)) for item in self.photos.selectedItems()]

    def expected_time(self, n_photos: int) -> str:
        """"about 2 h 10 min on the CPU with GeoCLIP" from the stored rate, or "" when
        the run is short or nothing was measured for this model and device."""
        rate = self.options.seconds_per_photo()
        if rate is None or n_photos * rate < WORTH_SAYING_S:
            return ""
        model = tr("GeoCLIP") if self.options.is_geoclip() else tr("this model")
        return tr("{time} on the CPU with {model} ({s:.2g} s per photo, measured on a "
                  "2-core machine)").format(time=duration_text(n_photos * rate), model=model,
                                            s=rate)

    def update_run_summary(self) -> None:
        """Run's label and the lines under it: the clues on, whom they apply to, the
        track, and the expected time of a long CPU run (issue 20 items 1 and 10)."""
        request = self.clues.request()
        names = clue_names(request, self._layer_name)
        self.run_button.setText(run_button_text(len(names)))
        n = self.photos.count()
        text = summary_text(names, self.track.request(), n, len(self._selected_paths()),
                            self.selected_only.isChecked(), self.track.summary())
        expected = self.expected_time(n)
        if expected:
            text += "\n" + tr("Expected: {time}").format(time=expected)
        self.run_summary.setText(text)
        self.run_summary.setToolTip(text)

    @staticmethod
    def _layer_name(layer_id: str) -> Optional[str]:
        layer = QgsProject.instance().mapLayer(layer_id)
        return layer.name() if layer is not None else None

    def split_runs(self, params: GeolocateParams) -> list[GeolocateParams]:
        """The runs a request makes: one, or with "selected photos only" two: the
        selected photos with the clues, the others without (each run's file records
        exactly the clues it used, so no answer is ever shown as narrowed when it was
        not).  A "Save run to" file becomes two: ``-clues`` and ``-others``."""
        if not params.clues or not self.selected_only.isChecked():
            return [params]
        chosen = set(self._selected_paths())
        with_clues = tuple(p for p in params.photos if p in chosen)
        without = tuple(p for p in params.photos if p not in chosen)
        out = params.output_path
        stem = os.path.splitext(out)[0] if out else None
        runs = [dataclasses.replace(params, photos=with_clues,
                                    output_path=f"{stem}-clues.gpkg" if stem and without
                                    else out)]
        if without:
            runs.append(dataclasses.replace(params, photos=without, clues=ConstraintRequest(),
                                            output_path=f"{stem}-others.gpkg" if stem
                                            else None))
        return runs

    def params(self) -> GeolocateParams:
        o = self.options
        return GeolocateParams(photos=tuple(self.photos.paths()), bundle_path=o.model_path(),
                               device=o.device_key(), top_k=o.top_k.value(),
                               batch_size=o.batch_size.value(),
                               attention=o.attention.isChecked(),
                               output_path=o.output.filePath().strip() or None,
                               runs_dir=o.runs_dir() or None,
                               clues=self.clues.request(), track=self.track.request())

    def save_settings(self) -> None:
        self.options.store(self.settings)
        self.settings.models_dir = self.models.folder_setting()
        self.settings.basemap = self.basemap_choice.currentData()
        self.settings.save()

    def request_run(self) -> Optional[GeolocateParams]:
        """Check the request, remember the settings and emit it; None if refused."""
        if self.photos.is_scanning():
            self.status.setText(tr("Still looking for photos in the folder(s): run when "
                                   "the list is complete."))
            return None
        if self.photos.count() == 0:
            self.status.setText(tr("Add photos or a folder first."))
            return None
        if not self.options.has_model():
            self.status.setText(self.options.model_status.text())
            self.tabs.setCurrentIndex(TAB_MODEL)
            return None
        params = self.params()
        if params.clues and self.selected_only.isChecked() and not self._selected_paths():
            self.status.setText(tr("Not run: \"Selected photos only\" is "
                                   "ticked and no photo is selected. Select the photos the "
                                   "clues are about in the Photos tab."))
            return None
        runs = self.split_runs(params)
        if params.clues.sun is not None and len(runs[0].photos) > 1:
            # one time, one sun: photos taken at other times would be weighted wrongly
            self.status.setText(tr("Not run: the sun clue holds for one photo's time, and "
                                   "{n} photos are listed. Run that photo alone, select it "
                                   "and tick \"Selected photos only\", "
                                   "or untick \"Sun and shadow\" in Clues.").format(
                n=len(runs[0].photos)))
            self.tabs.setCurrentIndex(TAB_CLUES)
            return None
        for run in runs:
            if run.output_path and os.path.exists(run.output_path) \
                    and not self.confirm_overwrite(run.output_path):
                self.status.setText(tr("Not run: {path} is kept. Choose another file under "
                                       "\"Save run to\" (Model tab), or leave it empty for "
                                       "a new file per run.").format(path=run.output_path))
                self.tabs.setCurrentIndex(TAB_MODEL)
                return None
        self.save_settings()
        self.photos.reset_statuses()
        self._queued = runs[1:]
        self.runRequested.emit(runs[0])
        return runs[0]

    def confirm_overwrite(self, path: str) -> bool:
        """Ask before a run replaces an existing file (a "Save run to" remembered from an
        earlier session may name a GeoPackage the user still works with)."""
        open_layers = layers_reading(path)
        text = tr("{path} already exists. Replace it with this run?").format(path=path)
        if open_layers:
            text += "\n\n" + tr("{n} layer(s) of this project read it: {names}. They will "
                                 "show the new run.").format(
                n=len(open_layers), names=", ".join(lyr.name() for lyr in open_layers[:5]))
        answer = QMessageBox.question(self, tr("Replace the GeoPackage?"), text,
                                      QMessageBox.Yes | QMessageBox.No, QMessageBox.No)
        return answer == QMessageBox.Yes

    def runs_start_folder(self) -> str:
        """Where "Open run…" (and "Export run…"'s choice of a run) starts: the folder of
        the run saved or opened last, else the runs folder (services/run/runs_folder)."""
        return open_run_start(self.settings.last_run_folder, self.options.runs_dir())

    def choose_run(self) -> None:
        path, _ = QFileDialog.getOpenFileName(
            self, tr("Open a saved run"), self.runs_start_folder(),
            tr("GeoPackage (*.gpkg);;All files (*)"))
        if path:
            self.remember_run_folder(path)
            self.openRunRequested.emit(path)

    def remember_run_folder(self, path: str) -> None:
        self.settings.last_run_folder = os.path.dirname(os.path.abspath(path))
        self.settings.save()

    def run_saved(self, path: str) -> None:
        """A run was committed to ``path``: say where, and start "Open run…" there."""
        self.saved_run.show_saved(path)
        self.remember_run_folder(path)

    def run_opened(self, path: str) -> None:
        """A saved run was added to the map (Open run…, a drop): say which file."""
        self.saved_run.show_saved(path, opened=True)
        self.remember_run_folder(path)

    def choose_report_folder(self) -> None:
        folder = QFileDialog.getExistingDirectory(self, tr("Folder for the case reports"),
                                                  self.settings.last_folder)
        if folder:
            self.caseReportRequested.emit(folder)

    def _request_basemap(self) -> None:
        self.save_settings()
        self.basemapRequested.emit(self.basemap_choice.currentData())

    # ------------------------------------------- slots called by the run service
    def run_started(self, task=None) -> None:
        self.progress.setValue(0)
        self.cancel_button.setEnabled(True)
        self.keep_button.setEnabled(False)  # until a photo is done: nothing to keep yet
        self.run_button.setEnabled(False)
        total = len(task.params.photos) if task is not None and hasattr(task, "params") \
            else self.photos.count()
        self.clock.start(total)
        text = tr("Loading the model… ({n} photo(s) to geolocate)").format(n=total)
        expected = self.expected_time(total)
        if expected:
            text += "\n" + tr("Expected: {time}").format(time=expected)
        self.status.setText(text)

    def set_progress(self, percent: float) -> None:
        self.progress.setValue(int(percent))

    def set_count(self, done: int, total: int) -> None:
        """Photos done so far, with an estimate of the time left."""
        self.clock.update(done, total)
        self.status.setText(self.clock.text())
        self.keep_button.setEnabled(done > 0 and self.cancel_button.isEnabled())

    def photo_done(self, path: str, ok: bool, text: str) -> None:
        self.photos.set_status(path, text if ok else tr("failed: {reason}").format(reason=text),
                               failed=not ok)

    def run_ended(self, message: str, device_used: str = "", finished: bool = False) -> None:
        """``finished``: the run committed its file (else it failed or was cancelled:
        the bar goes back to 0 and a queued second run is dropped)."""
        self.cancel_button.setEnabled(False)
        self.keep_button.setEnabled(False)
        if not finished:
            self.progress.setValue(0)
            self._queued = []
        self.status.setText(message)
        if device_used:
            self.options.set_device_used(device_used)
        self.update_run_enabled()
        if finished and self._queued:
            params = self._queued.pop(0)
            self.status.setText(message + "\n" + tr("Next: the {n} photo(s) without the "
                                                     "clues.").format(n=len(params.photos)))
            self.runRequested.emit(params)

    def show_result(self, details) -> None:
        """A clicked result: shown in the Result tab, which comes to the front."""
        self.result_view.show_details(details)
        self.tabs.setCurrentIndex(TAB_RESULT)

    def clear_result(self) -> None:
        """The shown result is stale (its run left the project, or a new project)."""
        self.result_view.clear()
