"""The dock's line that says where the last run was saved, with a link to its folder.

A run is a GeoPackage the user hands on or reopens later; the dock said nothing about
where it went (issue 20 item 7).  Two lines under the status: the file's name, the
folder's, and "Show folder", which opens the folder in the system's file manager through
Qt (``QDesktopServices``, so whatever opens folders on the user's desktop does it).  The
full path is the tooltip: a long path would widen or wrap a dock about 290 px wide.
"""

from __future__ import annotations

import html
import os

from qgis.PyQt.QtCore import Qt, QUrl
from qgis.PyQt.QtGui import QDesktopServices
from qgis.PyQt.QtWidgets import QLabel

from ..services.i18n import tr
from .result_view import elide_middle

NAME_CHARS = 26  # file and folder names beyond this are cut in the middle


class SavedRunLabel(QLabel):
    def __init__(self, parent=None):
        super().__init__(parent)
        self.setObjectName("geodecoderSavedRun")
        self.setTextFormat(Qt.RichText)  # the link
        self.setWordWrap(True)  # never wider than the dock: wraps instead
        self.setFixedHeight(2 * self.fontMetrics().lineSpacing() + 2)  # no jump when set
        self.setAlignment(Qt.AlignTop | Qt.AlignLeft)
        self.linkActivated.connect(self.open_folder)
        self.path = ""

    def show_saved(self, path: str) -> None:
        """Say where the run at ``path`` was saved (an empty path clears the line)."""
        self.path = os.path.abspath(path) if path else ""
        if not self.path:
            self.clear()
            self.setToolTip("")
            return
        folder = os.path.dirname(self.path)
        e = html.escape
        self.setText(tr("Saved: {file} in {folder} (<a href=\"{url}\">show folder</a>)").format(
            file=e(elide_middle(os.path.basename(self.path), NAME_CHARS)),
            folder=e(elide_middle(os.path.basename(folder) or folder, NAME_CHARS)),
            url=e(QUrl.fromLocalFile(folder).toString())))
        self.setToolTip(tr("This run is saved as {path}").format(path=self.path))

    def open_folder(self, url: str = "") -> bool:
        """Open the run's folder in the system's file manager; False if it is gone."""
        folder = QUrl(url).toLocalFile() if url else os.path.dirname(self.path)
        if not folder or not os.path.isdir(folder):
            self.setText(tr("The folder {folder} is gone.").format(folder=html.escape(folder)))
            return False
        return QDesktopServices.openUrl(QUrl.fromLocalFile(folder))
