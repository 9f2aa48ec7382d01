"""The two file dialogs of "Export run…": which run (when the project has none) and
where to write it."""

from __future__ import annotations

from typing import Optional

from qgis.PyQt.QtWidgets import QFileDialog, QWidget

from ..services.i18n import tr
from ..services.run.export import file_filters, with_extension


def ask_run_file(parent: QWidget, folder: str) -> Optional[str]:
    path, _ = QFileDialog.getOpenFileName(
        parent, tr("Export which run?"), folder, tr("GeoPackage (*.gpkg);;All files (*)"))
    return path or None


def ask_export_target(parent: QWidget, suggested: str) -> Optional[str]:
    """The file to write, with the extension of the chosen format; None if cancelled.
    The dialog itself asks before replacing an existing file."""
    path, chosen = QFileDialog.getSaveFileName(
        parent, tr("Export run"), suggested, ";;".join(file_filters()))
    return with_extension(path, chosen) if path else None
