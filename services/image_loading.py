"""Reading photos for display (thumbnails, previews, "Why here?"), upright and bounded.

Qt reads most formats, with scaled decoding for JPEG (a 24 MP photo decodes at 1/8
size for a thumbnail).  HEIC, which Qt cannot read, goes through Pillow and
pillow-heif when they are installed; the engine loads pillow-heif so that its libheif
cannot clash with the one QGIS links (``inference/prediction/heif_loader.py``), and where that is
not possible a HEIC simply has no picture.  A header that claims a huge picture (a
"decompression bomb") is refused before any pixel is allocated: Qt 5 has no
allocation limit, and the dock must survive whatever folder a user drops on it.
"""

from __future__ import annotations

import logging
from typing import Optional

from qgis.PyQt.QtCore import Qt
from qgis.PyQt.QtGui import QImage, QImageReader

log = logging.getLogger(__name__)
MAX_PIXELS = 90_000_000  # full decodes larger than this are refused (JPEG scales down)
SCALABLE = {b"jpeg", b"jpg"}  # Qt formats whose reader decodes straight to a smaller size


def read_qimage(path: str, box: Optional[int] = None, cover: bool = False) -> Optional[QImage]:
    """The upright image, scaled to fit (or, with `cover`, to cover) a `box` x `box`
    square; None when neither Qt nor Pillow can read it."""
    reader = QImageReader(path)
    reader.setAutoTransform(True)
    size = reader.size()
    if size.isValid() and size.width() > 0 and size.height() > 0:
        full = size.width() * size.height()
        if full > MAX_PIXELS and bytes(reader.format()).lower() not in SCALABLE:
            return None
        if box:
            mode = Qt.KeepAspectRatioByExpanding if cover else Qt.KeepAspectRatio
            scaled = size.scaled(box, box, mode)
            if scaled.width() < size.width():
                reader.setScaledSize(scaled)
        image = reader.read()
        if not image.isNull():
            return image
    return _read_with_pillow(path, box, cover)


def _read_with_pillow(path: str, box: Optional[int], cover: bool) -> Optional[QImage]:
    try:
        from PIL import Image, ImageOps

        from ..inference.prediction.photos import PhotoError, refuse_unsafe_heif
    except ImportError:
        return None
    try:
        refuse_unsafe_heif(path)  # loads pillow-heif apart from QGIS's libheif, or refuses
        with Image.open(path) as im:
            if im.width * im.height > MAX_PIXELS:
                return None
            if box:
                im.draft("RGB", (box, box))
            im = ImageOps.exif_transpose(im)
            if box:
                ratio = (max if cover else min)(box / im.width, box / im.height)
                if ratio < 1:
                    im = im.resize((max(1, round(im.width * ratio)),
                                    max(1, round(im.height * ratio))))
            im = im.convert("RGBA")
            data = im.tobytes("raw", "RGBA")
            return QImage(data, im.width, im.height, 4 * im.width,
                          QImage.Format_RGBA8888).copy()
    except PhotoError as exc:
        log.info("no preview for %s: %s", path, exc)
        return None
    except Exception as exc:  # noqa: BLE001 - any unreadable file just has no picture
        log.debug("no preview for %s: %s", path, exc)
        return None
