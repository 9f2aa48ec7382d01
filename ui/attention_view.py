""""Why here?" in the dock: one tab per hierarchy level with the overlaid photo.

The pictures themselves (the model's view of the photo, the heat map over it, the
legend ramp) are drawn by ``services.run.attention_image``, which the case report shares.
"""

from __future__ import annotations

from typing import Optional

import numpy as np
from qgis.PyQt.QtCore import Qt
from qgis.PyQt.QtGui import QImage, QPixmap
from qgis.PyQt.QtWidgets import QHBoxLayout, QLabel, QTabWidget, QVBoxLayout, QWidget

from ..services.run.attention_image import attention_overlay, legend_image, model_view
from ..services.i18n import tr


def header_text(levels: int) -> str:
    if levels <= 1:
        return tr("Where the model looked; brighter = more attention:")
    return tr("Where the model looked, per level (tab 0 = coarsest, {last} = finest); "
              "brighter = more attention:").format(last=levels - 1)


def level_title(level: int, levels: int) -> str:
    if levels > 1 and level == 0:
        return tr("Level {h} (coarsest)").format(h=level)
    if levels > 1 and level == levels - 1:
        return tr("Level {h} (finest)").format(h=level)
    return tr("Level {h}").format(h=level)


class AttentionView(QWidget):
    """A header, one tab per hierarchy level with the overlaid photo, and a legend."""

    def __init__(self, parent: Optional[QWidget] = None):
        super().__init__(parent)
        self.setObjectName("geodecoderAttentionView")
        self.images: list[QImage] = []
        self.header = QLabel()
        self.header.setObjectName("geodecoderAttentionHeader")
        self.header.setWordWrap(True)
        self.tabs = QTabWidget()
        self.tabs.setObjectName("geodecoderAttentionTabs")
        self.tabs.setUsesScrollButtons(True)
        self.legend = QWidget()
        self.legend.setObjectName("geodecoderAttentionLegend")
        bar = QLabel()
        bar.setPixmap(QPixmap.fromImage(legend_image()))
        row = QHBoxLayout(self.legend)
        row.setContentsMargins(0, 0, 0, 0)
        row.addWidget(QLabel(tr("less")))
        row.addWidget(bar)
        row.addWidget(QLabel(tr("more")))
        self.legend.setToolTip(tr("Colour of the attention: the brighter and more opaque, the "
                                  "more the model looked there."))
        row.addStretch(1)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.header)
        layout.addWidget(self.tabs)
        layout.addWidget(self.legend)

    def count(self) -> int:
        return self.tabs.count()

    def tabText(self, index: int) -> str:  # noqa: N802 - as QTabWidget
        return self.tabs.tabText(index)

    def show_maps(self, path: str, attention) -> int:
        """Show the maps of one photo; returns the number of level tabs made.
        ``attention``: the maps, or a sentence saying why there are none (a reopened
        run's file: services/run/kept_maps.py), or None (nothing known)."""
        self.tabs.clear()
        self.images = []
        reason = attention if isinstance(attention, str) else None
        if reason is not None:
            attention = None
        photo = model_view(path) if attention is not None else None
        if attention is None or photo is None:
            why = reason or (tr("No attention maps were kept for this photo (run again with "
                                "\"Keep 'Why here?' maps\" checked, Model tab).")
                             if attention is None else
                             tr("The photo cannot be shown (moved, or a format Qt cannot "
                                "read)."))
            self.header.setText(tr("Where the model looked:"))
            self._add_message(why)
            self.legend.setVisible(False)
            return 0
        self.legend.setVisible(True)
        maps = np.asarray(attention)
        self.header.setText(header_text(maps.shape[0]))
        for level in range(maps.shape[0]):
            image = attention_overlay(photo, maps[level])
            self.images.append(image)
            label = QLabel()
            label.setAlignment(Qt.AlignCenter)
            label.setPixmap(QPixmap.fromImage(image))
            self.tabs.addTab(label, str(level))  # short: seven levels fit a narrow dock
            self.tabs.setTabToolTip(level, level_title(level, maps.shape[0]))
        return len(self.images)

    def _add_message(self, text: str) -> None:
        page = QWidget()
        layout = QVBoxLayout(page)
        label = QLabel(text)
        label.setWordWrap(True)
        layout.addWidget(label)
        self.tabs.addTab(page, tr("Why here?"))
