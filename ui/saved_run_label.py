"""The dock's line that says where the last run was saved, with a link to its folder.

A run is a GeoPackage the user hands on or reopens later; the dock said nothing about
where it went (issue 20 item 7).  Two lines under the status: the folder's name with
"show folder", and the file's name; which opens the folder in the system's file manager through
Qt (``QDesktopServices``, so whatever opens folders on the user's desktop does it).  The
full path is the tooltip: a long path would widen or wrap a dock about 290 px wide.
"""

from __future__ import annotations

import html
import os

from qgis.PyQt.QtCore import Qt, QUrl
from qgis.PyQt.QtGui import QDesktopServices
from qgis.PyQt.QtWidgets import QLabel, QSizePolicy

from ..services.i18n import tr
from .result_view import elide_middle

# names beyond these are cut in the middle (a dock about 290 px wide); the dock's own run
# files, geodecoder-YYYYMMDD-HHMMSS.gpkg (services/run/service.new_run_file), stay whole
FOLDER_CHARS = 20
FILE_CHARS = 34


class SavedRunLabel(QLabel):
    def __init__(self, parent=None):
        super().__init__(parent)
        self.setObjectName("geodecoderSavedRun")
        self.setTextFormat(Qt.RichText)  # the link
        self.setWordWrap(True)
        # never widens the dock: a name longer than the dock is cut there (the full path
        # is the tooltip)
        self.setSizePolicy(QSizePolicy.Ignored, QSizePolicy.Fixed)
        self.setFixedHeight(2 * self.fontMetrics().lineSpacing() + 2)  # no jump when set
        self.setAlignment(Qt.AlignTop | Qt.AlignLeft)
        self.linkActivated.connect(self.open_folder)
        self.path = ""

    def show_saved(self, path: str, opened: bool = False) -> None:
        """Say where the run at ``path`` was saved, or where the run just opened lies
        (``opened``); an empty path clears the line."""
        self.path = os.path.abspath(path) if path else ""
        if not self.path:
            self.clear()
            self.setToolTip("")
            return
        folder = os.path.dirname(self.path)
        e = html.escape
        where = tr("Opened from {folder}") if opened else tr("Saved in {folder}")
        self.setText("{where} (<a href=\"{url}\">{show}</a>)<br>{file}".format(
            where=e(where.format(folder=elide_middle(os.path.basename(folder) or folder,
                                                     FOLDER_CHARS))),
            url=e(QUrl.fromLocalFile(folder).toString()), show=e(tr("show folder")),
            file=e(elide_middle(os.path.basename(self.path), FILE_CHARS))))
        self.setToolTip(self.path)

    def open_folder(self, url: str = "") -> bool:
        """Open the run's folder in the system's file manager; False if it is gone."""
        folder = QUrl(url).toLocalFile() if url else os.path.dirname(self.path)
        if not folder or not os.path.isdir(folder):
            self.setText(tr("The folder {folder} is gone.").format(folder=html.escape(folder)))
            return False
        return QDesktopServices.openUrl(QUrl.fromLocalFile(folder))
