"""What every GeoDecoder Processing algorithm shares, so that each one is its parameters
(``initAlgorithm``) and its run (``process``).

* Names: ``ALGORITHM_ID`` (``geodecoder:<id>`` in ``qgis_process``), ``DISPLAY_NAME`` and
  ``HELP`` in English, translated when QGIS asks (``services.i18n.tr``, the plugin's one
  translation helper: no second one here); one group, "Geolocation".
* ``createInstance`` makes another of the same class (QGIS calls it for every run).
* The plugin's icon beside each algorithm in the Processing toolbox, as beside the
  provider.
* ``prepareAlgorithm`` loads shapely and pyproj with their own GEOS/PROJ on the main
  thread before Processing starts the worker that runs ``process``
  (``services.native_libs`` says why a worker must not be the first to import them).
  The case report needs it as the others do: with ATTENTION it runs the model, whose
  cell areas are shapely's.
* Errors: the ones a user can act on (``expected()``: by default the plugin's own, the
  engine's and OSError, ``services.errors.expected_errors``) become a
  QgsProcessingException with their message and nothing else; anything else (a torch
  error, a bug) goes up as it is, and Processing shows it with its traceback.
"""

from __future__ import annotations

from pathlib import Path

from qgis.core import QgsProcessingAlgorithm, QgsProcessingException
from qgis.PyQt.QtGui import QIcon

from ..services.errors import error_message, expected_errors
from ..services.i18n import tr
from ..services.native_libs import ensure_own_libraries

ICON_PATH = Path(__file__).resolve().parent.parent / "resources" / "icon.svg"


class GeoDecoderAlgorithm(QgsProcessingAlgorithm):
    """The base of the provider's algorithms; a subclass sets the names and writes
    ``initAlgorithm`` and ``process``."""

    ALGORITHM_ID = ""
    DISPLAY_NAME = ""  # English; shown translated
    HELP = ""  # English; shown translated

    def name(self) -> str:
        return self.ALGORITHM_ID

    def displayName(self) -> str:  # noqa: N802 - QGIS's names
        return tr(self.DISPLAY_NAME)

    def group(self) -> str:
        return tr("Geolocation")

    def groupId(self) -> str:  # noqa: N802
        return "geolocation"

    def shortHelpString(self) -> str:  # noqa: N802
        return tr(self.HELP)

    def createInstance(self):  # noqa: N802
        return type(self)()

    def icon(self) -> QIcon:
        return QIcon(str(ICON_PATH))

    def prepareAlgorithm(self, parameters, context, feedback):  # noqa: N802
        ensure_own_libraries()  # main thread for GUI runs; processAlgorithm may not be
        return True

    def expected(self) -> tuple[type[BaseException], ...]:
        """The errors whose message is enough for the user (looked up when one is
        raised: the engine's error classes exist once their modules are imported)."""
        return expected_errors()

    def processAlgorithm(self, parameters, context, feedback):  # noqa: N802
        try:
            return self.process(parameters, context, feedback)
        except self.expected() as exc:
            raise QgsProcessingException(error_message(exc)) from exc

    def process(self, parameters, context, feedback) -> dict:
        """The algorithm's run: its outputs by key, as processAlgorithm returns them."""
        raise NotImplementedError
