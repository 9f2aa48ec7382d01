"""The dock's photo list: files and folders in, one row per photo with its status.

Folders are walked in a background ``QgsTask`` (``services.run.photo_scan.PhotoScanTask``,
by the engine's rules for what is a photo): a large folder on a NAS can take minutes to
list, and the dock stays usable meanwhile; the photos found are added when the walk
ends (``scanFinished``).  Files named one by one are added at once.

Thumbnails are made lazily: a timer reads them with ``QImageReader`` scaled reads (a
JPEG decodes at 1/8 size directly), so adding a folder of 5000 photos returns at once
and the dock never freezes.  Each tick makes thumbnails for at most ``TICK_BUDGET_S``
(and at least one): a 12 MP JPEG takes about 50 ms, so a fixed six per tick held QGIS's
event loop for 300 ms at a time over a folder of phone photos.  EXIF orientation is
applied (``setAutoTransform``).

A list of more than ``UNIFORM_ROWS_ABOVE`` photos gives every row the first row's height
(``uniformItemSizes``): with rows of their own heights (wrapped text), every status or
thumbnail change made Qt lay out every row again on the next event-loop pass, 125 ms for
10,000 rows, once per photo done during a run.  A status longer than the row then shows
in full in the row's tooltip.
"""

from __future__ import annotations

import os
import time
from collections import deque
from typing import Iterable, Optional

from qgis.core import QgsApplication
from qgis.PyQt import sip
from qgis.PyQt.QtCore import QSize, Qt, QTimer, pyqtSignal
from qgis.PyQt.QtGui import QIcon, QPixmap
from qgis.PyQt.QtWidgets import QAbstractItemView, QListWidget, QListWidgetItem

from ..services.i18n import tr
from ..services.image_loading import read_qimage
from ..services.run.photo_scan import PhotoScanTask, photo_finder

PATH_ROLE = Qt.UserRole
STATUS_ROLE = Qt.UserRole + 1
THUMB_ROLE = Qt.UserRole + 2  # True once a thumbnail was attempted
THUMB_SIZE = 48
TICK_BUDGET_S = 0.02  # thumbnails per timer tick: until this is spent, at least one
UNIFORM_ROWS_ABOVE = 500  # longer lists lay out in constant time per row


def make_thumbnail(path: str, size: int = THUMB_SIZE) -> Optional[QPixmap]:
    """A small upright preview, or None when the file cannot be shown."""
    image = read_qimage(path, size)
    return None if image is None else QPixmap.fromImage(image)


class PhotoListWidget(QListWidget):
    """Rows of photos; accepts dropped files and folders (emitted as ``pathsDropped``)."""

    pathsDropped = pyqtSignal(list)
    scanFinished = pyqtSignal(int, str)  # photos added by a folder scan; error ("" if none)

    def __init__(self, parent=None):
        super().__init__(parent)
        self.setObjectName("geodecoderPhotoList")
        self.setIconSize(QSize(THUMB_SIZE, THUMB_SIZE))
        self.setSelectionMode(QAbstractItemView.ExtendedSelection)
        self.setAcceptDrops(True)
        self.setDragDropMode(QAbstractItemView.DropOnly)
        self._rows: dict[str, QListWidgetItem] = {}
        self._pending: deque[QListWidgetItem] = deque()
        self._timer = QTimer(self)
        self._timer.setInterval(0)
        self._timer.timeout.connect(self._thumbnail_tick)
        self._scans: list[PhotoScanTask] = []  # running: Python must keep a reference

    # ----------------------------------------------------------------- content
    def paths(self) -> list[str]:
        return [self.item(i).data(PATH_ROLE) for i in range(self.count())]

    def add_paths(self, paths: Iterable[str]) -> int:
        """Add photos not already listed; returns how many were added."""
        added = 0
        for path in paths:
            key = os.path.normcase(os.path.abspath(path))
            if key in self._rows:
                continue
            item = QListWidgetItem(os.path.basename(path))
            item.setData(PATH_ROLE, os.path.abspath(path))
            item.setToolTip(path)
            self.addItem(item)
            self._rows[key] = item
            self._pending.append(item)
            self.set_status(path, tr("waiting"))
            added += 1
        if self._pending:
            self._timer.start()
        self._fit_layout()
        return added

    def _fit_layout(self) -> None:
        self.setUniformItemSizes(self.count() > UNIFORM_ROWS_ABOVE)

    def scan_paths(self, paths: Iterable[str]) -> PhotoScanTask:
        """Walk `paths` (folders) in a background task; the photos found are added when
        it ends, then ``scanFinished`` is emitted."""
        task = PhotoScanTask(paths, photo_finder(), self._scan_done)
        self._scans.append(task)
        QgsApplication.taskManager().addTask(task)
        return task

    def is_scanning(self) -> bool:
        return any(not t.dropped for t in self._scans)

    def cancel_scans(self) -> None:
        """Stop the running scans and drop what they find (Clear, plugin unload)."""
        for task in self._scans:
            task.dropped = True
            task.cancel()

    def _scan_done(self, task: PhotoScanTask, ok: bool) -> None:
        if task in self._scans:
            self._scans.remove(task)
        if task.dropped or sip.isdeleted(self):
            return
        added = self.add_paths(task.found) if ok else 0
        self.scanFinished.emit(added, task.error or "")

    def remove_selected(self) -> None:
        for item in self.selectedItems():
            self._rows.pop(os.path.normcase(item.data(PATH_ROLE)), None)
            if item in self._pending:
                self._pending.remove(item)
            self.takeItem(self.row(item))
        self._fit_layout()

    def clear_photos(self) -> None:
        self.cancel_scans()
        self._pending.clear()
        self._rows.clear()
        self.clear()
        self._fit_layout()

    def set_status(self, path: str, status: str, failed: bool = False) -> None:
        item = self._rows.get(os.path.normcase(os.path.abspath(path)))
        if item is None:
            return
        item.setData(STATUS_ROLE, status)
        item.setText(f"{os.path.basename(item.data(PATH_ROLE))} — {status}")
        item.setToolTip(f"{item.data(PATH_ROLE)}\n{status}")
        if failed:
            item.setForeground(Qt.red)

    def reset_statuses(self) -> None:
        for path in self.paths():
            item = self._rows[os.path.normcase(path)]
            item.setData(Qt.ForegroundRole, None)
            self.set_status(path, tr("waiting"))

    def status_of(self, path: str) -> Optional[str]:
        item = self._rows.get(os.path.normcase(os.path.abspath(path)))
        return None if item is None else item.data(STATUS_ROLE)

    # -------------------------------------------------------------- thumbnails
    def _thumbnail_tick(self) -> None:
        deadline = time.perf_counter() + TICK_BUDGET_S
        while self._pending:
            item = self._pending.popleft()
            pixmap = make_thumbnail(item.data(PATH_ROLE))
            item.setData(THUMB_ROLE, True)
            if pixmap is not None:
                item.setIcon(QIcon(pixmap))
            if time.perf_counter() >= deadline:
                break
        if not self._pending:
            self._timer.stop()

    def thumbnails_pending(self) -> int:
        return len(self._pending)

    # --------------------------------------------------------------- drag/drop
    def dragEnterEvent(self, event):  # noqa: N802 - Qt override
        if event.mimeData().hasUrls():
            event.acceptProposedAction()
        else:
            super().dragEnterEvent(event)

    def dragMoveEvent(self, event):  # noqa: N802 - Qt override
        if event.mimeData().hasUrls():
            event.acceptProposedAction()
        else:
            super().dragMoveEvent(event)

    def dropEvent(self, event):  # noqa: N802 - Qt override
        urls = event.mimeData().urls() if event.mimeData().hasUrls() else []
        paths = [u.toLocalFile() for u in urls if u.isLocalFile()]
        if paths:
            event.acceptProposedAction()
            self.pathsDropped.emit(paths)
        else:
            super().dropEvent(event)
