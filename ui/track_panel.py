"""The Clues tab's "Track" section: photos placed by time (issue 18).

A photo without GPS whose time falls on a track (GPX files, the run's own GPS photos, or
a folder of GPS photos used only as a track) is placed on it instead of by the model.
The section only gathers a ``TrackRequest``; the run service checks it (a zone or an
offset that does not read refuses the run) and the engine places the photos.

"Preview" says how many photos each way would place before anything runs.  It reads
every photo's EXIF, which takes minutes for thousands of photos on a network drive, so
it runs as a ``TrackPreviewTask`` and the dock stays usable; a newer preview replaces an
older one that has not come back yet.

"From a clock photo…" computes the camera offset: the user picks a photo of a clock or
a GPS screen and types the time it shows; the offset is the photo's EXIF time minus
that time.
"""

from __future__ import annotations

import os
from typing import Callable, Optional

from qgis.core import QgsApplication
from qgis.gui import QgsFileWidget
from qgis.PyQt.QtCore import pyqtSignal
from qgis.PyQt.QtWidgets import (
    QAbstractItemView,
    QCheckBox,
    QFileDialog,
    QFormLayout,
    QGroupBox,
    QHBoxLayout,
    QInputDialog,
    QLabel,
    QLineEdit,
    QListWidget,
    QPushButton,
    QSpinBox,
    QVBoxLayout,
)

from ..services.clues.request import TrackRequest
from ..services.clues.track_task import TrackPreviewTask
from ..services.clues.tracks import offset_from_clock_photo
from ..services.i18n import tr

DEFAULT_GAP_MIN = 30  # the engine's DEFAULT_MAX_GAP_S (1800 s), in the dock's minutes


def _button(text: str, name: str, slot) -> QPushButton:
    button = QPushButton(text)
    button.setObjectName(name)
    button.clicked.connect(slot)
    return button


def _wrapped(text: str) -> QLabel:
    label = QLabel(text)
    label.setWordWrap(True)  # the dock is about 290 px wide
    return label


def preview_text(counts: dict, warnings: list[str]) -> str:
    """"Of 10 photos: 4 by their GPS, 3 by the track, 3 by the model." and the first
    warning: what the user reads before running."""
    total = sum(counts.values())
    text = tr("Of {n} photo(s): {exif} by their own GPS, {track} by the track, {model} by "
              "the model.").format(n=total, exif=counts.get("exif", 0),
                                   track=counts.get("track", 0),
                                   model=counts.get("model", 0))
    if warnings:
        text += "\n" + warnings[0] + (tr(" (+{n} more)").format(n=len(warnings) - 1)
                                      if len(warnings) > 1 else "")
    return text


class TrackPanel(QGroupBox):
    """``request()`` is what the next run asks for; ``changed`` when any of it changes."""

    changed = pyqtSignal()
    previewFinished = pyqtSignal(str)  # the preview's text (tests and the dock wait on it)

    def __init__(self, photos: Callable[[], list], selected_photo: Callable[[], Optional[str]],
                 last_folder: Callable[[], str] = lambda: "", parent=None):
        """``photos()``: the dock's listed photos; ``selected_photo()``: the row the user
        selected (the clock photo, when it is among them)."""
        super().__init__(tr("Track"), parent)
        self.setObjectName("geodecoderTrackGroup")
        self.photos = photos
        self.selected_photo = selected_photo
        self.last_folder = last_folder
        self._task: Optional[TrackPreviewTask] = None
        self.gpx = QListWidget()
        self.gpx.setObjectName("geodecoderTrackGpx")
        self.gpx.setSelectionMode(QAbstractItemView.ExtendedSelection)
        self.gpx.setMaximumHeight(70)
        self.own_photos = QCheckBox(tr("the run's GPS photos,"))
        self.own_photos.setObjectName("geodecoderTrackOwnPhotos")
        self.own_photos.setToolTip(tr("Use the run's own GPS photos as a track: photos with "
                                      "GPS and a time place the photos without GPS taken "
                                      "between them"))
        self.folder = QgsFileWidget()
        self.folder.setObjectName("geodecoderTrackFolder")
        self.folder.setStorageMode(QgsFileWidget.GetDirectory)
        self.folder.setToolTip(tr("Optional: a folder of GPS photos (a phone's) used only as "
                                  "a track, not geolocated"))
        self.max_gap = QSpinBox()
        self.max_gap.setObjectName("geodecoderTrackMaxGap")
        self.max_gap.setRange(1, 24 * 60)
        self.max_gap.setValue(DEFAULT_GAP_MIN)
        self.max_gap.setSuffix(tr(" min"))
        self.max_gap.setToolTip(tr("A photo farther in time than this from the track keeps "
                                   "the model's answer"))
        self.zone = QLineEdit()
        self.zone.setObjectName("geodecoderTrackZone")
        self.zone.setPlaceholderText(tr("from the photo, or e.g. +02:00"))
        self.zone.setToolTip(tr("The zone of photo times that do not say theirs (most "
                                "cameras): a UTC offset or a name such as Europe/Zurich"))
        self.offset = QLineEdit()
        self.offset.setObjectName("geodecoderTrackOffset")
        self.offset.setPlaceholderText(tr("none, or ±HH:MM:SS"))
        self.offset.setToolTip(tr("How far the camera's clock is ahead (+) or behind (-)"))
        self.status = QLabel(tr("No track: photos are placed by their GPS or the model."))
        self.status.setObjectName("geodecoderTrackStatus")
        self.status.setWordWrap(True)
        self._layout()
        for signal in (self.own_photos.toggled, self.folder.fileChanged,
                       self.max_gap.valueChanged, self.zone.textChanged,
                       self.offset.textChanged):
            signal.connect(lambda *_args: self._changed())

    def _layout(self) -> None:
        gpx_row = QHBoxLayout()
        gpx_row.addWidget(_button(tr("Add GPX…"), "geodecoderTrackAddGpx", self.choose_gpx))
        gpx_row.addWidget(_button(tr("Remove"), "geodecoderTrackRemoveGpx", self.remove_gpx))
        form = QFormLayout()
        form.setContentsMargins(0, 0, 0, 0)
        form.setRowWrapPolicy(QFormLayout.WrapLongRows)
        form.addRow(tr("Max gap"), self.max_gap)
        form.addRow(tr("Photo zone"), self.zone)
        form.addRow(tr("Camera offset"), self.offset)
        clock = _button(tr("Offset from a clock…"), "geodecoderTrackOffsetFromPhoto",
                        self.offset_from_photo)
        clock.setToolTip(tr("A photo of a clock or a GPS screen, and the time it shows, give "
                            "how far the camera's clock is off"))
        preview = _button(tr("Preview"), "geodecoderTrackPreview", self.preview)
        preview.setToolTip(tr("Count how the listed photos would be placed (reads their "
                              "EXIF in the background)"))
        layout = QVBoxLayout(self)
        layout.setContentsMargins(4, 4, 4, 4)  # a narrow dock: Qt's 9-11 px cost width
        layout.addWidget(_wrapped(tr("Photos without GPS placed by their time on a track "
                                     "from GPX files,")))
        layout.addWidget(self.gpx)
        layout.addLayout(gpx_row)
        layout.addWidget(self.own_photos)
        layout.addWidget(_wrapped(tr("or a folder of GPS photos:")))
        layout.addWidget(self.folder)
        layout.addLayout(form)
        layout.addWidget(clock)
        layout.addWidget(preview)
        layout.addWidget(self.status)

    # ----------------------------------------------------------------- request
    def gpx_paths(self) -> list[str]:
        return [self.gpx.item(i).text() for i in range(self.gpx.count())]

    def add_gpx(self, paths) -> None:
        known = set(self.gpx_paths())
        for path in map(os.path.abspath, paths):
            if path not in known:
                self.gpx.addItem(path)
                known.add(path)
        self._changed()

    def choose_gpx(self) -> None:
        files, _ = QFileDialog.getOpenFileNames(self, tr("Add GPX tracks"), self.last_folder(),
                                                tr("GPX tracks (*.gpx);;All files (*)"))
        if files:
            self.add_gpx(files)

    def remove_gpx(self) -> None:
        for item in self.gpx.selectedItems():
            self.gpx.takeItem(self.gpx.row(item))
        self._changed()

    def request(self) -> TrackRequest:
        folder = self.folder.filePath().strip()
        return TrackRequest(gpx=tuple(self.gpx_paths()),
                            photos_as_track=self.own_photos.isChecked(),
                            track_photos=(os.path.abspath(folder),) if folder else (),
                            camera_offset=self.offset.text().strip(),
                            photo_tz=self.zone.text().strip(),
                            max_gap_s=60.0 * self.max_gap.value())

    def summary(self) -> str:
        """One line for the clues summary under Run; "" when no track is asked for."""
        r = self.request()
        if not r.wanted:
            return ""
        parts = [tr("{n} GPX").format(n=len(r.gpx))] if r.gpx else []
        if r.photos_as_track:
            parts.append(tr("own GPS photos"))
        if r.track_photos:
            parts.append(tr("a photo folder"))
        return tr("track ({what})").format(what=", ".join(parts))

    def _changed(self) -> None:
        self.status.setText(tr("Preview: how many photos the track would place.")
                            if self.request().wanted else
                            tr("No track: photos are placed by their GPS or the model."))
        self.changed.emit()

    # ----------------------------------------------------------------- preview
    def preview(self) -> Optional[TrackPreviewTask]:
        """Count in the background how the listed photos would be placed; None when
        there is nothing to count."""
        request, photos = self.request(), list(self.photos())
        if not request.wanted:
            self.status.setText(tr("Add a GPX file or tick \"Use the run's own GPS photos\" "
                                   "first."))
            return None
        if not photos:
            self.status.setText(tr("Add photos first (Photos tab)."))
            return None
        task = TrackPreviewTask(request, photos, self._preview_done)
        self._task = task  # Python keeps it alive; a later preview replaces it
        self.status.setText(tr("Reading the times of {n} photo(s)…").format(n=len(photos)))
        QgsApplication.taskManager().addTask(task)
        return task

    def _preview_done(self, task: TrackPreviewTask) -> None:
        if task is not self._task:  # an older preview, overtaken by a newer one
            return
        self._task = None
        if task.counts is None:
            text = tr("Preview failed: {error}").format(error=task.error or tr("cancelled"))
        else:
            text = preview_text(task.counts, task.warnings)
        self.status.setText(text)
        self.previewFinished.emit(text)

    def busy(self) -> bool:
        return self._task is not None

    # ------------------------------------------------------------ clock photo
    def offset_from_photo(self) -> bool:
        """Ask for a photo of a clock (the selected photo, else a file) and the time it
        shows; fill the camera offset.  Returns whether the offset was set."""
        path = self.selected_photo()
        if not path:
            path, _ = QFileDialog.getOpenFileName(
                self, tr("A photo of a clock or a GPS screen"), self.last_folder(),
                tr("Photos (*.jpg *.jpeg *.heic *.heif *.tif *.tiff *.png);;All files (*)"))
        if not path:
            return False
        text, ok = QInputDialog.getText(
            self, tr("Camera clock offset"),
            tr("{name}\nThe time the clock or GPS screen in this photo shows, in the zone the "
               "camera is set to (HH:MM:SS, or YYYY-MM-DD HH:MM:SS):").format(
                name=os.path.basename(path)))
        if not ok:
            return False
        return self.set_offset_from(path, text)

    def set_offset_from(self, path: str, true_time: str) -> bool:
        """The dialog's work without the dialog: the offset from ``path`` and the time
        read on it; a problem is said in the status line."""
        try:
            offset = offset_from_clock_photo(path, true_time)
        except ValueError as exc:
            self.status.setText(str(exc))
            return False
        self.offset.setText(offset)
        self.status.setText(tr("Camera offset {offset}: the camera's clock minus the time in "
                               "{name}.").format(offset=offset, name=os.path.basename(path)))
        return True
