"""A saved run's GeoPackage dropped on QGIS opens as a run (group, order, styles, the
dock's result), not as a pile of loose layers.

QGIS asks each registered ``QgsCustomDropHandler`` about a dropped file before it adds
it itself; this one takes only GeoPackages a GeoDecoder run wrote (a Predictions and a
run_info table) and leaves every other file to QGIS.
"""

from __future__ import annotations

from typing import Callable

from qgis.gui import QgsCustomDropHandler

from ..services.run.layers import is_run_file


class RunDropHandler(QgsCustomDropHandler):
    def __init__(self, open_run: Callable[[str], bool]):
        super().__init__()
        self.open_run = open_run

    def handleFileDrop(self, file: str) -> bool:  # noqa: N802 - QGIS's name
        """True (QGIS adds nothing itself) when the file is a run that was opened."""
        return is_run_file(file) and bool(self.open_run(file))
