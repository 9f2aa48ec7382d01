""""Why here?" as pictures: the photo as the model saw it, with its attention as a heat map.

The engine returns, per hierarchy level, the decoder's cross-attention over the
backbone's spatial grid (``Prediction.attention``, shape (levels, rows, cols), each map
summing to 1).  The model looked at the centre square of the upright photo, so the map
is drawn over that square: a semi-transparent heat image, scaled smoothly, composited
with QPainter.  Pure Qt images + numpy, no widget: the dock's "Why here?" and the case
report (a PDF written without a GUI) draw the same pictures.
"""

from __future__ import annotations

from typing import Optional

import numpy as np
from qgis.PyQt.QtCore import QRect, Qt
from qgis.PyQt.QtGui import QColor, QImage, QPainter

from ..image_loading import read_qimage

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


def legend_image(width: int = LEGEND_SIZE[0], height: int = LEGEND_SIZE[1]) -> QImage:
    """The heat ramp from no attention (left) to the most (right), over mid grey as a
    photo would be under it."""
    ramp = np.tile(np.linspace(0.0, 1.0, width, dtype=np.float32), (height, 1))
    base = QImage(width, height, QImage.Format_RGB32)
    base.fill(QColor(128, 128, 128))
    return attention_overlay(base, ramp)
