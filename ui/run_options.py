"""Model and run options of the dock: which model, device, top-k, batch size, output file.

The model is a choice (services/run/model_choice.py): "Best available" (GeoCLIP once it
is downloaded, else the offline default model), GeoCLIP, the default model, or a bundle
folder; browsing to a folder picks "A model bundle folder".  The line under it says which
model will answer and, on the CPU, about how long a photo takes with it.
"""

from __future__ import annotations

import json
import os
from typing import Optional

from qgis.gui import QgsFileWidget
from qgis.PyQt.QtWidgets import (
    QCheckBox,
    QComboBox,
    QFormLayout,
    QLabel,
    QSpinBox,
    QVBoxLayout,
    QWidget,
)

from ..services.i18n import tr
from ..services.run.params import DEVICES, device_labels
from ..services.run.estimate import GEOCLIP as GEOCLIP_RATE
from ..services.run.estimate import GEODECODER, stored_seconds_per_photo

from ..services.run.model_choice import (AUTO, BUNDLE, CHOICES, DEFAULT, GEOCLIP,
                                         choice_labels, effective_choice, is_geoclip)
from ..services.run.pipeline import default_bundle_path, geoclip_store, no_model_message
from ..services.run.runs_folder import default_runs_dir
from ..services.settings import DockSettings

GEOCLIP_RATE_S = stored_seconds_per_photo(GEOCLIP_RATE, "cpu")


def bundle_label(path: str) -> str:
    """"name (version)" from a bundle's config.json, read as JSON (no torch import)."""
    if is_geoclip(path):
        return tr("GeoCLIP (uncalibrated)")
    try:
        with open(os.path.join(path, "config.json"), encoding="utf-8") as fh:
            doc = json.load(fh)
    except (OSError, ValueError):
        return tr("not a model bundle (no readable config.json): {path}").format(path=path)
    name = str(doc.get("name", os.path.basename(path)))
    if doc.get("untrained", False):
        return tr("{name} (UNTRAINED: its answers are meaningless)").format(name=name)
    return tr("{name} v{version}").format(name=name, version=doc.get("model_version", "?"))


def _caption(text: str, buddy: QWidget) -> QLabel:
    label = QLabel(text)
    label.setBuddy(buddy)
    return label


class RunOptions(QWidget):
    def __init__(self, parent: Optional[QWidget] = None):
        super().__init__(parent)
        self.choice = QComboBox()
        self.choice.setObjectName("geodecoderModelChoice")
        for key, text in choice_labels().items():
            self.choice.addItem(text, key)
        self.choice.setSizeAdjustPolicy(QComboBox.AdjustToMinimumContentsLengthWithIcon)
        self.choice.setMinimumContentsLength(8)
        self.choice.currentIndexChanged.connect(self.update_model_status)
        self.model = QgsFileWidget()
        self.model.setObjectName("geodecoderModelPath")
        self.model.setStorageMode(QgsFileWidget.GetDirectory)
        self.model.setDialogTitle(tr("Choose a GeoDecoder model bundle folder"))
        self.model.fileChanged.connect(self._folder_changed)
        self.model_status = QLabel()
        self.model_status.setObjectName("geodecoderModelStatus")
        self.model_status.setWordWrap(True)
        self.device = QComboBox()
        self.device.setObjectName("geodecoderDevice")
        for key, text in zip(DEVICES, device_labels(short=True)):
            self.device.addItem(text, key)
        self.device.setSizeAdjustPolicy(QComboBox.AdjustToMinimumContentsLengthWithIcon)
        self.device.setMinimumContentsLength(8)  # long labels elide: the dock is narrow
        self.device.setToolTip(tr("GPU means whichever GPU PyTorch sees here: CUDA, else "
                                  "Apple MPS. The device a run really used is shown below."))
        self.device_used = QLabel(tr("Device used: —"))
        self.device_used.setObjectName("geodecoderDeviceUsed")
        self.top_k = QSpinBox()
        self.top_k.setObjectName("geodecoderTopK")
        self.top_k.setRange(1, 50)
        self.batch_size = QSpinBox()
        self.batch_size.setObjectName("geodecoderBatchSize")
        self.batch_size.setRange(1, 512)
        self.attention = QCheckBox(tr("Keep \"Why here?\" maps"))
        self.attention.setToolTip(tr("Keep the model's attention maps of every photo, to "
                                     "show where it looked (Result tab, \"Why here?\")."))
        self.attention.setObjectName("geodecoderKeepAttention")
        self.output = QgsFileWidget()
        self.output.setObjectName("geodecoderOutputPath")
        self.output.setStorageMode(QgsFileWidget.SaveFile)
        self.output.setFilter(tr("GeoPackage (*.gpkg)"))
        self.output.setToolTip(tr("One GeoPackage for the next run. Leave empty to save "
                                  "each run in a new GeoPackage in the runs folder."))
        self.runs_folder = QgsFileWidget()
        self.runs_folder.setObjectName("geodecoderRunsFolder")
        self.runs_folder.setStorageMode(QgsFileWidget.GetDirectory)
        self.runs_folder.lineEdit().setPlaceholderText(str(default_runs_dir()))
        self.runs_folder.setToolTip(tr("Where each run is saved as a new GeoPackage (empty: "
                                       "{folder}). \"Open run…\" starts in the folder of "
                                       "the last run saved or opened.").format(
            folder=default_runs_dir()))
        # labels above the wide fields, a small form for the numbers: reads at any
        # dock width (QGIS opens docks about 290 px wide)
        numbers = QFormLayout()
        numbers.setContentsMargins(0, 0, 0, 0)
        numbers.addRow(tr("Top-k candidates"), self.top_k)
        numbers.addRow(tr("Batch size"), self.batch_size)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        for widget in (_caption(tr("Model"), self.choice), self.choice, self.model,
                       self.model_status,
                       _caption(tr("Device"), self.device), self.device, self.device_used):
            layout.addWidget(widget)
        layout.addLayout(numbers)
        for widget in (self.attention, _caption(tr("Runs folder"), self.runs_folder),
                       self.runs_folder, _caption(tr("Save run to (optional)"),
                                                  self.output), self.output):
            layout.addWidget(widget)
        self.update_model_status()

    def _folder_changed(self, *_args) -> None:
        if self.model.filePath().strip():  # browsing to a bundle means using it
            self.set_choice(BUNDLE)
        self.update_model_status()

    def set_choice(self, key: str) -> None:
        self.choice.setCurrentIndex(max(0, self.choice.findData(key)))

    def choice_key(self) -> str:
        return self.choice.currentData()

    def folder(self) -> Optional[str]:
        text = self.model.filePath().strip()
        return os.path.abspath(text) if text else None

    def effective(self) -> str:
        """GEOCLIP, DEFAULT or BUNDLE: what "Best available" stands for right now."""
        return effective_choice(self.choice_key(), self.folder()
                                if self.choice_key() == BUNDLE else None)

    def model_path(self) -> Optional[str]:
        """The model folder the next run loads (a bundle or the GeoCLIP store); None
        when that model is not there (``has_model`` is then False)."""
        chosen = self.effective()
        if chosen == BUNDLE:
            return self.folder()
        if chosen == GEOCLIP:
            return geoclip_store()
        return default_bundle_path()

    def has_model(self) -> bool:
        return self.model_path() is not None

    def is_geoclip(self) -> bool:
        path = self.model_path()
        return path is not None and is_geoclip(path)

    def seconds_per_photo(self) -> Optional[float]:
        """The stored CPU rate of the chosen model (services/run/estimate.py)."""
        if not self.has_model():
            return None
        return stored_seconds_per_photo(GEOCLIP_RATE if self.is_geoclip() else GEODECODER,
                                        self.device_key())

    def update_model_status(self, *_args) -> None:
        installed = geoclip_store() is not None
        item = self.choice.model().item(self.choice.findData(GEOCLIP))
        item.setText(tr("GeoCLIP (strong, downloaded)") if installed
                     else tr("GeoCLIP (not downloaded: Download below)"))
        self.model.setEnabled(self.choice_key() == BUNDLE)
        path, chosen = self.model_path(), self.effective()
        if path is None:
            self.model_status.setText(
                tr("Choose a bundle folder above.") if chosen == BUNDLE else
                tr("GeoCLIP is not downloaded: Download it below (about 1.75 GB), or "
                   "choose the default model.") if chosen == GEOCLIP else
                no_model_message())
            return
        text = bundle_label(path)
        if chosen == DEFAULT:
            text = tr("Default model: {label}").format(label=text)
        elif chosen == GEOCLIP:
            text = tr("{label}: about {s:.0f} s per photo on a 2-core CPU (GPU not "
                      "measured)").format(label=text, s=GEOCLIP_RATE_S)
        if self.choice_key() == AUTO:
            text = tr("Answers: {text}").format(text=text)
        self.model_status.setText(text)

    def device_key(self) -> str:
        return self.device.currentData()

    def set_device_used(self, text: str) -> None:
        self.device_used.setText(tr("Device used: {device}").format(device=text or "—"))

    def load(self, s: DockSettings) -> None:
        self.model.setFilePath(s.bundle_path)  # a remembered folder picks BUNDLE...
        if s.model_choice in CHOICES and (s.model_choice != AUTO or not s.bundle_path):
            self.set_choice(s.model_choice)  # ...unless another choice was remembered
        index = self.device.findData(s.device)
        self.device.setCurrentIndex(max(index, 0))
        self.top_k.setValue(s.top_k)
        self.batch_size.setValue(s.batch_size)
        self.attention.setChecked(s.attention)
        self.output.setFilePath(s.output_path)
        self.runs_folder.setFilePath(s.runs_dir)
        self.update_model_status()

    def store(self, s: DockSettings) -> None:
        s.bundle_path = self.model.filePath().strip()
        s.model_choice = self.choice_key()
        s.device = self.device_key()
        s.top_k = self.top_k.value()
        s.batch_size = self.batch_size.value()
        s.attention = self.attention.isChecked()
        s.output_path = self.output.filePath().strip()
        s.runs_dir = self.runs_folder.filePath().strip()

    def runs_dir(self) -> str:
        """The runs folder the user chose ("" = the default)."""
        return self.runs_folder.filePath().strip()
