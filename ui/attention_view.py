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
from qgis.PyQt.QtGui import QImage, QPainter, QPixmap
from qgis.PyQt.QtWidgets import QLabel, QTabWidget, QVBoxLayout, QWidget

from .i18n import tr
from .image_loading import read_qimage

# a perceptual-ish ramp (dark purple -> red -> yellow), as in "inferno"
_STOPS = np.array([[0, 0, 4], [87, 16, 110], [188, 55, 84], [249, 142, 9], [252, 255, 164]],
                  dtype=np.float32)
OVERLAY_OPACITY = 0.6
VIEW_SIZE = 256


def model_view(path: str, size: int = VIEW_SIZE) -> Optional[QImage]:
    """The upright photo, shorter side `size`, centre square: what the network saw."""
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


def level_title(level: int, levels: int) -> str:
    if levels > 1 and level == 0:
        return tr("Level {h} (coarsest)").format(h=level)
    if levels > 1 and level == levels - 1:
        return tr("Level {h} (finest)").format(h=level)
    return tr("Level {h}").format(h=level)


class AttentionView(QTabWidget):
    """One tab per hierarchy level with the overlaid photo."""

    def __init__(self, parent: Optional[QWidget] = None):
        super().__init__(parent)
        self.setObjectName("geodecoderAttentionView")
        self.images: list[QImage] = []

    def show_maps(self, path: str, attention) -> int:
        """Show the maps of one photo; returns the number of level tabs made."""
        self.clear()
        self.images = []
        photo = model_view(path) if attention is not None else None
        if attention is None or photo is None:
            why = (tr("No attention maps were kept for this photo (run again with \"Keep "
                      "attention maps\" checked).") if attention is None
                   else tr("The photo cannot be shown (moved, or a format Qt cannot read)."))
            self._add_message(why)
            return 0
        maps = np.asarray(attention)
        for level in range(maps.shape[0]):
            image = attention_overlay(photo, maps[level])
            self.images.append(image)
            label = QLabel()
            label.setAlignment(Qt.AlignCenter)
            label.setPixmap(QPixmap.fromImage(image))
            self.addTab(label, level_title(level, maps.shape[0]))
        return len(self.images)

    def _add_message(self, text: str) -> None:
        page = QWidget()
        layout = QVBoxLayout(page)
        label = QLabel(text)
        label.setWordWrap(True)
        layout.addWidget(label)
        self.addTab(page, tr("Why here?"))
