"""Getting a model in the background: a QgsTask around the engine's ``get_model``, so
QGIS stays usable during a 1.7 GB download, the task manager shows it, and Cancel
stops it (what arrived stays in the .part file; the next Download resumes)."""

from __future__ import annotations

from pathlib import Path
from typing import Callable, Optional

from qgis.core import QgsTask
from qgis.PyQt.QtCore import pyqtSignal

from ...inference.models.catalog import CatalogError, load_catalog
from ...inference.models.fetch import ModelsError, Progress, get_model, human
from ...inference.models.transport import Cancelled
from .qgis_transport import QgsTransport

STAGES = {"download": "Downloading", "copy": "Copying", "verify": "Checking",
          "extract": "Unpacking"}


def progress_text(p: Progress) -> str:
    return (f"{STAGES.get(p.stage, p.stage)} {p.file}: {human(p.done)} of {human(p.total)}")


class ModelTask(QgsTask):
    """Download (``source`` None) or import from a folder; ``error`` is the engine's
    one-line message when it fails, ``folder`` the installed model when it succeeds."""

    stepChanged = pyqtSignal(str)  # what is being done, for the dock

    def __init__(self, name: str, root: Path, source: Optional[Path] = None,
                 catalog_path: Optional[Path] = None,
                 on_finished: Optional[Callable[[ModelTask, bool], None]] = None):
        verb = "Import" if source else "Download"
        super().__init__(f"{verb} the {name} model", QgsTask.CanCancel)
        self.name, self.root, self.source = name, Path(root), source
        self.catalog_path = catalog_path
        self.on_finished = on_finished
        self.error = ""
        self.folder: Optional[Path] = None
        self._last_text = ""

    def run(self) -> bool:  # worker thread
        try:
            catalog = load_catalog(self.catalog_path)
            transport = None if self.source else QgsTransport(self.isCanceled)
            self.folder = get_model(self.name, root=self.root, catalog=catalog,
                                    transport=transport, source=self.source,
                                    progress=self._progress, should_stop=self.isCanceled)
            return True
        except Cancelled:
            self.error = "Stopped. What was downloaded is kept: Download resumes it."
        except (ModelsError, CatalogError) as exc:
            self.error = str(exc)
        except Exception as exc:  # noqa: BLE001 - shown in the dock, never lost in a thread
            self.error = f"{type(exc).__name__}: {exc}"
        return False

    def _progress(self, p: Progress) -> None:
        if p.overall_total:
            self.setProgress(min(100.0, 100.0 * p.overall_done / p.overall_total))
        text = progress_text(p)
        if text != self._last_text:
            self._last_text = text
            self.stepChanged.emit(text)

    def finished(self, result: bool) -> None:  # main thread
        if self.on_finished is not None:
            self.on_finished(self, bool(result))
