"""The Processing provider; registered from the plugin's ``initProcessing``."""

from __future__ import annotations

from qgis.core import QgsProcessingProvider
from qgis.PyQt.QtGui import QIcon

from .base_algorithm import ICON_PATH
from .case_report_algorithm import CaseReportAlgorithm
from .geolocate_algorithm import GeolocatePhotosAlgorithm
from .train_algorithm import TrainModelAlgorithm


class GeoDecoderProvider(QgsProcessingProvider):
    def id(self) -> str:  # noqa: A003 - QGIS's name
        return "geodecoder"

    def name(self) -> str:
        return "GeoDecoder"

    def longName(self) -> str:  # noqa: N802
        return "GeoDecoder: photo geolocation"

    def icon(self) -> QIcon:
        return QIcon(str(ICON_PATH))

    def loadAlgorithms(self) -> None:  # noqa: N802
        self.addAlgorithm(GeolocatePhotosAlgorithm())
        self.addAlgorithm(TrainModelAlgorithm())
        self.addAlgorithm(CaseReportAlgorithm())
