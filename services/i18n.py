"""One translation helper for every user-visible string of the plugin."""

from qgis.PyQt.QtCore import QCoreApplication

CONTEXT = "GeoDecoder"


def tr(text: str) -> str:
    """Translate `text` in the plugin's context (a .qm file installed for the locale)."""
    return QCoreApplication.translate(CONTEXT, text)
