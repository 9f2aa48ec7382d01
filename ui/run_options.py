"""Model and run options of the dock: bundle, device, top-k, batch size, output file."""

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
from ..services.run.pipeline import default_bundle_path, no_model_message
from ..services.settings import DockSettings


def bundle_label(path: str) -> str:
    """"name (version)" from a bundle's config.json, read as JSON (no torch import)."""
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
        self.model = QgsFileWidget()
        self.model.setObjectName("geodecoderModelPath")
        self.model.setStorageMode(QgsFileWidget.GetDirectory)
        self.model.setDialogTitle(tr("Choose a GeoDecoder model bundle folder"))
        self.model.fileChanged.connect(self.update_model_status)
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
        self.output.setToolTip(tr("Leave empty to save each run in a new GeoPackage in the "
                                  "plugin's runs folder."))
        # labels above the wide fields, a small form for the numbers: reads at any
        # dock width (QGIS opens docks about 290 px wide)
        numbers = QFormLayout()
        numbers.setContentsMargins(0, 0, 0, 0)
        numbers.addRow(tr("Top-k candidates"), self.top_k)
        numbers.addRow(tr("Batch size"), self.batch_size)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        for widget in (_caption(tr("Model bundle"), self.model), self.model, self.model_status,
                       _caption(tr("Device"), self.device), self.device, self.device_used):
            layout.addWidget(widget)
        layout.addLayout(numbers)
        for widget in (self.attention, _caption(tr("Save run to"), self.output), self.output):
            layout.addWidget(widget)
        self.update_model_status()

    def model_path(self) -> Optional[str]:
        text = self.model.filePath().strip()
        return os.path.abspath(text) if text else None

    def has_model(self) -> bool:
        return self.model_path() is not None or default_bundle_path() is not None

    def update_model_status(self, *_args) -> None:
        path = self.model_path()
        if path is not None:
            self.model_status.setText(bundle_label(path))
            return
        default = default_bundle_path()
        if default is None:
            self.model_status.setText(no_model_message())
        else:
            self.model_status.setText(tr("Default model: {label}").format(
                label=bundle_label(default)))

    def device_key(self) -> str:
        return self.device.currentData()

    def set_device_used(self, text: str) -> None:
        self.device_used.setText(tr("Device used: {device}").format(device=text or "—"))

    def load(self, s: DockSettings) -> None:
        self.model.setFilePath(s.bundle_path)
        index = self.device.findData(s.device)
        self.device.setCurrentIndex(max(index, 0))
        self.top_k.setValue(s.top_k)
        self.batch_size.setValue(s.batch_size)
        self.attention.setChecked(s.attention)
        self.output.setFilePath(s.output_path)
        self.update_model_status()

    def store(self, s: DockSettings) -> None:
        s.bundle_path = self.model.filePath().strip()
        s.device = self.device_key()
        s.top_k = self.top_k.value()
        s.batch_size = self.batch_size.value()
        s.attention = self.attention.isChecked()
        s.output_path = self.output.filePath().strip()
