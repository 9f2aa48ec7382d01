""""Why here?": the photo as the model saw it, with its attention as a heat map.

The engine returns, per hierarchy level, the decoder's cross-attention over the
backbone's spatial grid (``Prediction.attention``, shape (levels, rows, cols), each map
summing to 1).  The model looked at the centre square of the upright photo, so the map
is drawn over that square: a semi-transparent heat image, scaled smoothly, composited
with QPainter.  Pure Qt + numpy: no torch needed to show a map.
"""

from __future__ import annotations

from typing import Optional

import numpy as np
from qgis.PyQt.QtCore import QRect, Qt
from qgis.PyQt.QtGui import QColor, QImage, QPainter, QPixmap
from qgis.PyQt.QtWidgets import QHBoxLayout, QLabel, QTabWidget, QVBoxLayout, QWidget

from ..services.i18n import tr
from .image_loading import read_qimage

# a perceptual-ish ramp (dark purple -> red -> yellow), as in "inferno"
_STOPS = np.array([[0, 0, 4], [87, 16, 110], [188, 55, 84], [249, 142, 9], [252, 255, 164]],
                  dtype=np.float32)
OVERLAY_OPACITY = 0.6
VIEW_SIZE = 224  # fits a dock about 300 px wide
LEGEND_SIZE = (90, 12)


def model_view(path: str, size: int = VIEW_SIZE) -> Optional[QImage]:
    """The upright photo, shorter side `size`, centre square: what the network saw (so
    the maps show the centre square of a photo, not all of it)."""
    image = read_qimage(path, size, cover=True)
    if image is None:
        return None
    image = image.scaled(size, size, Qt.KeepAspectRatioByExpanding, Qt.SmoothTransformation)
    left, top = (image.width() - size) // 2, (image.height() - size) // 2
    return image.copy(QRect(left, top, size, size)).convertToFormat(QImage.Format_RGB32)


def heat_rgba(grid: np.ndarray, opacity: float = OVERLAY_OPACITY) -> np.ndarray:
    """(rows, cols) attention -> (rows, cols, 4) uint8 RGBA; stronger = hotter and more
    opaque.  Min-max scaled per map: each level's map shows where *it* looked most."""
    g = np.asarray(grid, dtype=np.float32)
    span = float(g.max() - g.min())
    v = (g - g.min()) / span if span > 0 else np.zeros_like(g)
    pos = v * (len(_STOPS) - 1)
    lo = np.clip(np.floor(pos).astype(int), 0, len(_STOPS) - 2)
    frac = (pos - lo)[..., None]
    rgb = _STOPS[lo] * (1 - frac) + _STOPS[lo + 1] * frac
    alpha = (255 * opacity * np.sqrt(v))[..., None]
    return np.ascontiguousarray(np.concatenate([rgb, alpha], axis=-1).astype(np.uint8))


def attention_overlay(photo: QImage, grid: np.ndarray,
                      opacity: float = OVERLAY_OPACITY) -> QImage:
    """`photo` with `grid` (rows, cols) drawn over it as a heat map, same size."""
    rgba = heat_rgba(grid, opacity)
    rows, cols = rgba.shape[:2]
    heat = QImage(rgba.data, cols, rows, 4 * cols, QImage.Format_RGBA8888).copy()
    heat = heat.scaled(photo.width(), photo.height(), Qt.IgnoreAspectRatio,
                       Qt.SmoothTransformation)
    out = photo.convertToFormat(QImage.Format_ARGB32)
    painter = QPainter(out)
    painter.drawImage(0, 0, heat)
    painter.end()
    return out


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


def legend_image(width: int = LEGEND_SIZE[0], height: int = LEGEND_SIZE[1]) -> QImage:
    """The heat ramp from no attention (left) to the most (right), over mid grey as a
    photo would be under it."""
    ramp = np.tile(np.linspace(0.0, 1.0, width, dtype=np.float32), (height, 1))
    base = QImage(width, height, QImage.Format_RGB32)
    base.fill(QColor(128, 128, 128))
    return attention_overlay(base, ramp)


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
        """Show the maps of one photo; returns the number of level tabs made."""
        self.tabs.clear()
        self.images = []
        photo = model_view(path) if attention is not None else None
        if attention is None or photo is None:
            why = (tr("No attention maps were kept for this photo (run again with \"Keep "
                      "'Why here?' maps\" checked, Model tab).") if attention is None
                   else tr("The photo cannot be shown (moved, or a format Qt cannot read)."))
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
