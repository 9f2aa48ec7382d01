"""The Model tab's downloaded models: the models folder, and a row per catalog model with
its size, licence and state, and Download / Remove / Import folder….

Nothing is fetched until Download is clicked, and then only after a question that shows
what will come from where (files, sizes, sources), the licence and the model card's
limits.  The work runs in a ``ModelTask`` (background, cancellable, through QGIS's
network settings); the engine's store checks every SHA-256 and puts the files in place,
as ``python -m inference models get`` does.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Optional

from qgis.core import QgsApplication
from qgis.gui import QgsFileWidget
from qgis.PyQt.QtCore import pyqtSignal
from qgis.PyQt.QtWidgets import (
    QFileDialog,
    QFrame,
    QGridLayout,
    QLabel,
    QMessageBox,
    QProgressBar,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from ..services.i18n import tr
from ..services.models.folder import apply_models_dir, effective_models_dir
from ..services.models.store import (CatalogError, ModelEntry, describe, human,
                                     load_catalog, model_state, plan_get, remove_model)

if TYPE_CHECKING:
    from ..services.models.task import ModelTask

STATE_TEXT = {"installed": "installed", "partial": "partly downloaded (Download resumes)",
              "missing": "not downloaded"}


class ModelRow(QFrame):
    """One catalog model: what it is, its state, its buttons, its progress."""

    def __init__(self, entry: ModelEntry, panel: ModelsPanel):
        super().__init__()
        self.entry, self.panel = entry, panel
        self.setObjectName(f"geodecoderModelRow_{entry.name}")
        self.setFrameShape(QFrame.StyledPanel)
        self.task: Optional[ModelTask] = None
        self.title = QLabel(f"<b>{entry.title}</b>")
        self.info = QLabel()
        self.info.setObjectName("geodecoderModelInfo")
        self.info.setWordWrap(True)
        self.download_button = self._button(tr("Download"), "geodecoderModelDownload",
                                            self.download)
        self.remove_button = self._button(tr("Remove"), "geodecoderModelRemove", self.remove)
        self.import_button = self._button(tr("Import folder…"), "geodecoderModelImport",
                                          self.import_folder)
        self.import_button.setToolTip(tr("Take the same files copied from another machine "
                                         "(e.g. model.safetensors and the geoclip wheel) from "
                                         "a folder; they are checked the same way"))
        self.cancel_button = self._button(tr("Cancel"), "geodecoderModelCancel", self.cancel)
        self.progress = QProgressBar()
        self.progress.setObjectName("geodecoderModelProgress")
        self.message = QLabel()
        self.message.setObjectName("geodecoderModelMessage")
        self.message.setWordWrap(True)
        grid = QGridLayout()
        grid.addWidget(self.download_button, 0, 0)
        grid.addWidget(self.remove_button, 0, 1)
        grid.addWidget(self.import_button, 1, 0)
        grid.addWidget(self.cancel_button, 1, 1)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(4, 4, 4, 4)
        for widget in (self.title, self.info):
            layout.addWidget(widget)
        layout.addLayout(grid)
        layout.addWidget(self.progress)
        layout.addWidget(self.message)
        self.refresh()

    def _button(self, text: str, name: str, slot) -> QPushButton:
        button = QPushButton(text)
        button.setObjectName(name)
        button.clicked.connect(slot)
        return button

    def state(self) -> str:
        return model_state(self.entry, self.panel.root(), self.panel.catalog)

    def refresh(self) -> None:
        busy = self.task is not None
        state = self.state()
        self.info.setText(tr("{size} · {licence} · {state}").format(
            size=human(self.entry.download_bytes), licence=self.entry.licence,
            state=tr(STATE_TEXT[state])))
        self.info.setToolTip("\n".join(describe(plan_get(self.entry.name, self.panel.root(),
                                                         self.panel.catalog))))
        self.download_button.setEnabled(not busy and state != "installed")
        self.import_button.setEnabled(not busy and state != "installed")
        self.remove_button.setEnabled(not busy and state != "missing")
        self.cancel_button.setEnabled(busy)
        self.progress.setVisible(busy)

    # ------------------------------------------------------------------ actions
    def confirm(self, title: str, lines: list[str]) -> bool:
        """The question before anything is fetched or copied: files, sizes, sources,
        licence, limits."""
        answer = QMessageBox.question(self, title, "\n\n".join(lines),
                                      QMessageBox.Yes | QMessageBox.No, QMessageBox.No)
        return answer == QMessageBox.Yes

    def download(self) -> Optional[ModelTask]:
        plan = plan_get(self.entry.name, self.panel.root(), self.panel.catalog)
        lines = describe(plan) + [tr("Download {size} now?").format(
            size=human(plan.fetch_bytes))]
        if not self.confirm(tr("Download {title}?").format(title=self.entry.title), lines):
            return None
        return self.start(None)

    def import_folder(self) -> Optional[ModelTask]:
        folder = QFileDialog.getExistingDirectory(
            self, tr("Folder holding the model's files"), str(Path.home()))
        if not folder:
            return None
        return self.import_from(Path(folder))

    def import_from(self, folder: Path) -> Optional[ModelTask]:
        plan = plan_get(self.entry.name, self.panel.root(), self.panel.catalog)
        lines = describe(plan) + [tr("Copy and check these files from {folder}?").format(
            folder=folder)]
        if not self.confirm(tr("Import {title}?").format(title=self.entry.title), lines):
            return None
        return self.start(folder)

    def start(self, source: Optional[Path]) -> ModelTask:
        from ..services.models.task import ModelTask  # the network code, on the click

        task = ModelTask(self.entry.name, self.panel.root(), source=source,
                         catalog_path=self.panel.catalog.path, on_finished=self.finished)
        task.stepChanged.connect(self.message.setText)
        task.progressChanged.connect(self._progress)
        self.task = task
        self.progress.setValue(0)
        self.message.setText(tr("Starting…"))
        self.refresh()
        QgsApplication.taskManager().addTask(task)
        return task

    def _progress(self, percent: float) -> None:
        self.progress.setValue(int(percent))

    def cancel(self) -> None:
        if self.task is not None:
            self.task.cancel()

    def detach(self) -> None:
        """Stop the running task and forget it: it reports to no widget any more."""
        task, self.task = self.task, None
        if task is None:
            return
        task.on_finished = None
        task.stepChanged.disconnect(self.message.setText)
        task.progressChanged.disconnect(self._progress)
        task.cancel()

    def finished(self, task: ModelTask, ok: bool) -> None:
        self.task = None
        if ok:
            self.message.setText(tr("Installed and verified in {folder}").format(
                folder=task.folder))
        else:
            self.message.setText(task.error or tr("Stopped."))
        self.refresh()
        self.panel.modelsChanged()

    def remove(self) -> None:
        answer = QMessageBox.question(
            self, tr("Remove {title}?").format(title=self.entry.title),
            tr("Delete {folder} and any unfinished download of it?").format(
                folder=self.panel.root() / self.entry.name),
            QMessageBox.Yes | QMessageBox.No, QMessageBox.No)
        if answer != QMessageBox.Yes:
            return
        freed = remove_model(self.entry.name, self.panel.root())
        self.message.setText(tr("Removed ({size} freed).").format(size=human(freed)))
        self.refresh()
        self.panel.modelsChanged()


class ModelsPanel(QWidget):
    """The models folder and one ``ModelRow`` per catalog model."""

    folderChanged = pyqtSignal(str)  # the folder setting ("" = the default), to remember
    storeChanged = pyqtSignal()  # a model came, went or the folder changed: the model
    # choice above says again which model answers

    def __init__(self, folder_setting: str = "", parent: Optional[QWidget] = None):
        super().__init__(parent)
        self.setObjectName("geodecoderModelsPanel")
        self.folder = QgsFileWidget()
        self.folder.setObjectName("geodecoderModelsFolder")
        self.folder.setStorageMode(QgsFileWidget.GetDirectory)
        self.folder.setDialogTitle(tr("Folder for downloaded models"))
        self.folder.setToolTip(tr("Where downloaded models are kept (empty: the default, "
                                  "shown below); the command line's GEODECODER_MODELS_DIR"))
        self.folder.setFilePath(folder_setting)
        self.folder_label = QLabel()
        self.folder_label.setObjectName("geodecoderModelsFolderLabel")
        self.folder_label.setWordWrap(True)
        self.rows: dict[str, ModelRow] = {}
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        caption = QLabel(tr("Downloaded models folder"))
        caption.setBuddy(self.folder)
        layout.addWidget(caption)
        layout.addWidget(self.folder)
        layout.addWidget(self.folder_label)
        try:
            self.catalog = load_catalog()
        except CatalogError as exc:
            self.catalog = None
            layout.addWidget(QLabel(str(exc)))
        apply_models_dir(folder_setting)
        self._show_folder()
        if self.catalog is not None:
            for name, entry in sorted(self.catalog.models.items()):
                row = ModelRow(entry, self)
                self.rows[name] = row
                layout.addWidget(row)
        self.folder.fileChanged.connect(self._folder_changed)

    def folder_setting(self) -> str:
        return self.folder.filePath().strip()

    def root(self) -> Path:
        return effective_models_dir(self.folder_setting())

    def _show_folder(self) -> None:
        self.folder_label.setText(tr("Models are kept in {folder}").format(folder=self.root()))

    def _folder_changed(self, *_args) -> None:
        if any(row.task is not None for row in self.rows.values()):
            return  # a running task keeps the folder it started in
        apply_models_dir(self.folder_setting())
        self._show_folder()
        self.modelsChanged()
        self.folderChanged.emit(self.folder_setting())

    def shutdown(self) -> None:
        """The plugin unloads: running downloads stop (their .part files stay for the
        next Download) and report to no widget."""
        for row in self.rows.values():
            row.detach()

    def modelsChanged(self) -> None:  # noqa: N802 - reads like the Qt notifications
        for row in self.rows.values():
            if row.task is None:
                row.refresh()
        self.storeChanged.emit()
