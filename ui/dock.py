"""The "Geolocate photos" dock: photos in, a run request out, results shown.

The dock only builds a ``GeolocateParams`` and emits it (``runRequested``); the run
service starts the task and calls the slots below as the run goes.  It never imports
the engine, so it builds (and says what is missing) even without torch.
"""

from __future__ import annotations

import os
from typing import Callable, Optional

from qgis.gui import QgsDockWidget
from qgis.PyQt.QtCore import pyqtSignal
from qgis.PyQt.QtWidgets import (
    QComboBox,
    QFileDialog,
    QGroupBox,
    QHBoxLayout,
    QLabel,
    QProgressBar,
    QPushButton,
    QScrollArea,
    QVBoxLayout,
    QWidget,
)

from .basemap import OSM, WORLD
from .i18n import tr
from .install_panel import InstallPanel
from .params import GeolocateParams
from .photo_list import PhotoListWidget, expand_paths
from .result_view import ResultView
from .run_options import RunOptions
from .settings import DockSettings


def _button(text: str, name: str, slot) -> QPushButton:
    button = QPushButton(text)
    button.setObjectName(name)
    button.clicked.connect(slot)
    return button


class GeolocateDock(QgsDockWidget):
    runRequested = pyqtSignal(object)  # GeolocateParams
    cancelRequested = pyqtSignal()
    basemapRequested = pyqtSignal(str)  # basemap.WORLD or basemap.OSM
    pickRequested = pyqtSignal(bool)  # the "pick a result on the map" tool on/off

    def __init__(self, parent: Optional[QWidget] = None,
                 attention_lookup: Optional[Callable[[str], object]] = None):
        super().__init__(tr("Geolocate photos"), parent)
        self.setObjectName("GeoDecoderDock")
        self.settings = DockSettings.load()
        self.install_panel = InstallPanel()
        self.install_panel.installFinished.connect(lambda _ok: self.update_run_enabled())
        self.photos = PhotoListWidget()
        self.photos.pathsDropped.connect(self.add_paths)
        self.photos.scanFinished.connect(self._scan_finished)
        self.options = RunOptions()
        self.options.load(self.settings)
        self.run_button = _button(tr("Run"), "geodecoderRunButton", self.request_run)
        self.cancel_button = _button(tr("Cancel"), "geodecoderCancelButton",
                                     self.cancelRequested.emit)
        self.cancel_button.setEnabled(False)
        self.progress = QProgressBar()
        self.progress.setObjectName("geodecoderProgress")
        self.status = QLabel()
        self.status.setObjectName("geodecoderStatus")
        self.status.setWordWrap(True)
        self.result_view = ResultView(attention_lookup or (lambda _path: None))
        self.pick_button = _button(tr("Pick a result on the map"), "geodecoderPickButton",
                                   lambda: self.pickRequested.emit(self.pick_button.isChecked()))
        self.pick_button.setCheckable(True)
        self.basemap_choice = QComboBox()
        self.basemap_choice.setObjectName("geodecoderBasemapChoice")
        self.basemap_choice.addItem(tr("World map (offline)"), WORLD)
        self.basemap_choice.addItem(tr("OpenStreetMap (web tiles)"), OSM)
        self.basemap_choice.setCurrentIndex(max(0, self.basemap_choice.findData(
            self.settings.basemap)))
        self.basemap_button = _button(tr("Add basemap"), "geodecoderBasemapButton",
                                      self._request_basemap)
        self.setWidget(self._layout())
        self.update_run_enabled()

    def _layout(self) -> QWidget:
        photos_box = QGroupBox(tr("Photos"))
        buttons = QHBoxLayout()
        for text, name, slot in ((tr("Add photos…"), "geodecoderAddPhotos", self.choose_photos),
                                 (tr("Add folder…"), "geodecoderAddFolder", self.choose_folder),
                                 (tr("Remove"), "geodecoderRemovePhotos",
                                  self.photos.remove_selected),
                                 (tr("Clear"), "geodecoderClearPhotos", self._clear_photos)):
            buttons.addWidget(_button(text, name, slot))
        box_layout = QVBoxLayout(photos_box)
        box_layout.addLayout(buttons)
        box_layout.addWidget(self.photos)
        options_box = QGroupBox(tr("Model and run"))
        QVBoxLayout(options_box).addWidget(self.options)
        run_row = QHBoxLayout()
        run_row.addWidget(self.run_button)
        run_row.addWidget(self.cancel_button)
        result_box = QGroupBox(tr("Result"))
        result_layout = QVBoxLayout(result_box)
        result_layout.addWidget(self.pick_button)
        result_layout.addWidget(self.result_view)
        basemap_row = QHBoxLayout()
        basemap_row.addWidget(self.basemap_choice, 1)
        basemap_row.addWidget(self.basemap_button)
        body = QWidget()
        layout = QVBoxLayout(body)
        layout.addWidget(self.install_panel)
        layout.addWidget(photos_box, 2)
        layout.addWidget(options_box)
        layout.addLayout(run_row)
        layout.addWidget(self.progress)
        layout.addWidget(self.status)
        layout.addWidget(result_box, 3)
        layout.addLayout(basemap_row)
        scroll = QScrollArea()
        scroll.setWidgetResizable(True)
        scroll.setWidget(body)
        return scroll

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

    def params(self) -> GeolocateParams:
        o = self.options
        return GeolocateParams(photos=tuple(self.photos.paths()), bundle_path=o.model_path(),
                               device=o.device_key(), top_k=o.top_k.value(),
                               batch_size=o.batch_size.value(),
                               attention=o.attention.isChecked(),
                               output_path=o.output.filePath().strip() or None)

    def save_settings(self) -> None:
        self.options.store(self.settings)
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
            return None
        params = self.params()
        self.save_settings()
        self.photos.reset_statuses()
        self.runRequested.emit(params)
        return params

    def _request_basemap(self) -> None:
        self.save_settings()
        self.basemapRequested.emit(self.basemap_choice.currentData())

    # ------------------------------------------- slots called by the run service
    def run_started(self, _task=None) -> None:
        self.progress.setValue(0)
        self.cancel_button.setEnabled(True)
        self.run_button.setEnabled(False)
        self.status.setText(tr("Running…"))

    def set_progress(self, percent: float) -> None:
        self.progress.setValue(int(percent))

    def photo_done(self, path: str, ok: bool, text: str) -> None:
        self.photos.set_status(path, text if ok else tr("failed: {reason}").format(reason=text),
                               failed=not ok)

    def run_ended(self, message: str, device_used: str = "") -> None:
        self.cancel_button.setEnabled(False)
        self.status.setText(message)
        if device_used:
            self.options.set_device_used(device_used)
        self.update_run_enabled()
