"""Reading photos safely.

Users drop folders of thousands of photos (phone JPEGs, HEIC, PNG, odd files) on the
plugin, so one broken file must never stop a batch: every way a file can fail becomes
a ``PhotoError`` whose message a person can act on.  Decoding is the hidden cost of a
batch, so JPEGs are decoded with DCT scaling (draft mode) straight to about the size
the model needs, several times faster than a full decode followed by a resize.
"""

from __future__ import annotations

import hashlib
import io
import math
import os
import re
import stat
import struct
import threading
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from PIL import Image, UnidentifiedImageError

from .heif_loader import UnsafeHeif, load_pillow_heif
from ..records import GeoPoint

PathLike = str | os.PathLike

#: Pillow's own hard limit (twice its warning limit): a 12000x3000 panorama passes, a
#: header claiming 60000x60000 is refused before a single pixel is allocated.
MAX_PIXELS = 2 * 89_478_485
#: Past this aspect ratio, resizing the short side to ``size`` allocates a huge strip.
MAX_ASPECT = 100
MAX_FILE_BYTES = 1 << 30  # no photo is this big; a huge file is refused, not read
_PHOTO = ".jpg .jpeg .png .webp .heic .heif .tif .tiff .bmp .gif"
PHOTO_EXTENSIONS = frozenset(_PHOTO.split())
_SKIP_DIRS = frozenset({"@eaDir", "__MACOSX"})  # NAS thumbnail caches, zip forks
_HEIF_BRANDS = {b"heic", b"heix", b"hevc", b"hevx", b"heim", b"heis", b"mif1", b"msf1"}
_ALPHA_MODES = {"RGBA", "RGBa", "LA", "La", "PA"}
_IMAGE_MAGIC = (b"\xff\xd8\xff", b"\x89PNG", b"GIF8", b"II*\x00", b"MM\x00*", b"BM")
# EXIF orientation -> transpose that shows the stored pixels upright (EXIF 2.3, 4.6.4)
_T = Image.Transpose
_TRANSPOSE = {
    2: _T.FLIP_LEFT_RIGHT,
    3: _T.ROTATE_180,
    4: _T.FLIP_TOP_BOTTOM,
    5: _T.TRANSPOSE,
    6: _T.ROTATE_270,
    7: _T.TRANSVERSE,
    8: _T.ROTATE_90,
}


class PhotoError(Exception):
    """A photo that cannot be read; ``str(error)`` is a short reason to act on."""


@dataclass(frozen=True)
class PhotoInfo:
    path: str
    width: int  # original size, after EXIF orientation
    height: int
    exif_gps: GeoPoint | None
    orientation: int  # EXIF orientation tag value, 1 if none
    sha256: str = ""  # of the file's bytes, the very bytes that were decoded


_heif_lock = threading.Lock()
_heif_available: bool | None = None
_heif_problem: str | None = None  # why HEIC must not be decoded in this process


def register_heif() -> bool:
    """Register pillow-heif's opener once; return whether HEIC/HEIF can be decoded.

    pillow-heif is optional (QGIS's bundled Python often lacks it), so its absence
    only turns HEIC files into a PhotoError that says how to install it.  Inside a
    program that links its own libheif (QGIS) it is loaded apart from that one, or
    not at all (``heif_loader``): then HEIC files fail with the reason.
    """
    global _heif_available, _heif_problem
    with _heif_lock:
        if _heif_available is None:
            try:
                load_pillow_heif()
                from pillow_heif import register_heif_opener

                register_heif_opener()
                _heif_available, _heif_problem = True, None
            except UnsafeHeif as exc:
                _heif_problem = str(exc)
                if exc.final:  # otherwise the main thread may still load it
                    _heif_available = False
                return False
            except Exception:  # noqa: BLE001  not installed, or a broken binary wheel
                _heif_available = False
        return _heif_available


def refuse_unsafe_heif(path: PathLike) -> None:
    """PhotoError for a HEIF file when decoding HEIC could crash this process; nothing
    else is touched: Pillow may hold an opener someone else registered."""
    if register_heif() or _heif_problem is None:
        return
    try:
        with open(path, "rb") as f:
            head = f.read(12)
    except OSError:
        return  # the decoder names the problem
    if head[4:8] == b"ftyp" and head[8:12] in _HEIF_BRANDS:
        raise PhotoError(f"HEIC cannot be decoded here: {_heif_problem}")


def find_photos(
    inputs: PathLike | Iterable[PathLike],
) -> tuple[list[Path], list[tuple[str, str]]]:
    """Expand files and folders into photo paths, plus (path, reason) for the missing.

    Files named explicitly are always returned, whatever their extension, so that
    ``read_photo`` can name their problem.  Folders are walked recursively in sorted,
    deterministic order taking only ``PHOTO_EXTENSIONS`` (any case); a folder named
    ``x.jpg`` is walked, not returned.  Hidden folders, NAS thumbnail caches and macOS
    ``._`` resource forks are skipped: they hold thumbnails or junk, not the user's
    photos.  Dangling symlinks with a photo extension and missing explicit paths go
    to the second list.  A file named twice is returned once.
    """
    if isinstance(inputs, (str, os.PathLike)):
        inputs = [inputs]
    photos: list[Path] = []
    problems: list[tuple[str, str]] = []
    seen = set()
    for raw in inputs:
        path = Path(raw)
        if path.is_dir():
            found = _walk(path, problems)
        elif path.exists():
            found = [path]
        else:
            reason = "broken symbolic link" if path.is_symlink() else "file not found"
            problems.append((str(path), reason))
            continue
        for photo in found:
            key = os.path.normcase(os.path.abspath(photo))
            if key not in seen:
                seen.add(key)
                photos.append(photo)
    return photos, problems


def _walk(root: Path, problems: list[tuple[str, str]]) -> list[Path]:
    found: list[Path] = []
    visited = set()  # (device, inode) of folders walked: symlinked folders may loop

    def unreadable(err: OSError) -> None:
        problems.append((str(err.filename), f"cannot read folder: {err.strerror}"))

    for folder, dirs, files in os.walk(root, onerror=unreadable, followlinks=True):
        try:
            st = os.stat(folder)
        except OSError:
            st = None
        if st is None or (st.st_dev, st.st_ino) in visited:
            dirs[:] = []
            continue
        visited.add((st.st_dev, st.st_ino))
        # sorted: which of two routes to a symlinked folder is kept must not vary
        dirs[:] = sorted(d for d in dirs if d[0] != "." and d not in _SKIP_DIRS)
        for name in files:
            ext = os.path.splitext(name)[1].lower()
            if name.startswith("._") or ext not in PHOTO_EXTENSIONS:
                continue
            path = Path(folder, name)
            if path.exists():
                found.append(path)
            elif path.is_symlink():
                problems.append((str(path), "broken symbolic link"))
    return sorted(found, key=lambda p: p.parts)


def read_photo(path: PathLike, size: int = 224, *, exact: bool = False
               ) -> tuple[Image.Image, PhotoInfo]:
    """Decode a photo to RGB, upright, with its shorter side resized to ``size``.

    JPEGs are decoded in draft mode at the smallest DCT scale (1/8 .. 1) that still
    leaves both sides >= ``size``, then resized bicubically.  The pixel count is
    checked on the lazily opened header, before any pixel is decoded.  Raises
    PhotoError, and only PhotoError, with the reason for anything unreadable.

    ``exact``: the pixels CLIP's own image processor makes (the GeoCLIP predictor,
    inference/geoclip/): a full decode (no draft), one bicubic resize without Pillow's
    reducing gap, the longer side truncated as ``int(size * long / short)``.  Slower for
    large JPEGs, but a model trained on those pixels sees those pixels.
    """
    _check_file(Path(path))
    refuse_unsafe_heif(path)
    try:
        return _decode(path, size, exact)
    except PhotoError:
        raise
    except (Image.DecompressionBombError, Image.DecompressionBombWarning) as exc:
        raise PhotoError(_too_large(_claimed_size(path, exc))) from None
    except UnidentifiedImageError:
        raise PhotoError(_not_an_image(path)) from None
    except MemoryError:
        raise PhotoError("not enough memory to decode this image") from None
    except PermissionError:
        raise PhotoError("permission denied") from None
    except Exception as exc:  # noqa: BLE001  whatever hostile bytes make decoders raise
        detail = str(exc) or type(exc).__name__
        raise PhotoError(f"truncated or corrupt image: {detail}") from None


def _decode(path: PathLike, size: int, exact: bool = False) -> tuple[Image.Image, PhotoInfo]:
    # the file is read once: these bytes are decoded and hashed, so the evidence hash in
    # the outputs is the hash of exactly what the model analysed
    data = Path(path).read_bytes()
    digest = hashlib.sha256(data).hexdigest()
    with Image.open(io.BytesIO(data)) as img:
        width, height = img.size
        if width * height > MAX_PIXELS:  # Pillow's own check may be switched off
            raise PhotoError(_too_large(f"{width}x{height}"))
        short = min(width, height)
        if short < 1 or max(width, height) > MAX_ASPECT * short:
            raise PhotoError(f"unusable image shape: {width}x{height} px")
        if img.format in ("JPEG", "MPO"):
            _check_jpeg_payload(data, img)
        if img.format in ("JPEG", "MPO") and not exact:
            img.draft("RGB", (size, size))
        img.load()  # the first frame of an animation
        exif = _exif(img)
        rgb = _to_rgb(img)
    orientation = _orientation(exif)
    rgb = _resize_short_side(rgb, size, exact)
    if orientation in _TRANSPOSE:  # after the resize: fewer pixels to move
        rgb = rgb.transpose(_TRANSPOSE[orientation])
    if orientation >= 5:
        width, height = height, width
    return rgb, PhotoInfo(str(path), width, height, _gps_from_exif(exif), orientation, digest)


_SOF_MARKERS = frozenset(range(0xC0, 0xD0)) - {0xC4, 0xC8, 0xCC}  # DHT, JPG, DAC
_ARITHMETIC_SOF = frozenset({0xC9, 0xCA, 0xCB, 0xCD, 0xCE, 0xCF})


def _frame_marker(data: bytes) -> int | None:
    """The SOFn marker byte of a JPEG (0xC0 baseline .. 0xCF), walking its segments;
    None when the headers cannot be walked (the decoder then names the problem)."""
    i = 2  # after SOI
    while i + 4 <= len(data):
        if data[i] != 0xFF:
            return None
        marker = data[i + 1]
        if marker == 0xFF:  # fill byte
            i += 1
        elif marker == 0x01 or 0xD0 <= marker <= 0xD8:  # TEM, RSTn, SOI: no length
            i += 2
        elif marker in _SOF_MARKERS:
            return marker
        elif marker == 0xDA:  # entropy-coded data before any frame: not walkable
            return None
        else:
            i += 2 + struct.unpack(">H", data[i + 2:i + 4])[0]
    return None


def _check_jpeg_payload(data: bytes, img: Image.Image) -> None:
    """PhotoError for a JPEG whose bytes cannot hold the frame its header claims.

    libjpeg does not fail on missing entropy-coded data that ends at a marker: it
    pads the picture with grey and warns (a warning Pillow does not pass on), so a
    631-byte file claiming 13,000 x 13,000 px decoded to a grey square that the model
    then geolocated (issue 21.12).  With Huffman coding (baseline, extended and
    progressive: every camera) each 8 x 8 block of each component costs at least one
    bit (its DC code, the shortest code a Huffman table can have), so a file of fewer
    bits than blocks is damaged, whatever its content.  A real photo is far above the
    bound (a flat 4000 x 3000 grey, optimised and progressive at quality 1, still takes
    two bits a block; measured).  Arithmetic coding (rare) has no such bound and is
    not checked."""
    marker = _frame_marker(data)
    if marker is None or marker in _ARITHMETIC_SOF:
        return
    width, height = img.size
    layers = list(getattr(img, "layer", None) or [])
    hmax = max((h for _, h, _, _ in layers), default=1) or 1
    vmax = max((v for _, _, v, _ in layers), default=1) or 1
    blocks = sum(math.ceil(math.ceil(width * h / hmax) / 8)
                 * math.ceil(math.ceil(height * v / vmax) / 8)
                 for _, h, v, _ in layers or [(0, 1, 1, 0)])
    if len(data) * 8 < blocks:
        raise PhotoError(f"truncated or corrupt image: {len(data):,} bytes cannot hold the "
                         f"{width}x{height} px its header claims (at least "
                         f"{math.ceil(blocks / 8):,} bytes)")


def _check_file(path: Path) -> None:
    try:
        st = path.stat()
    except FileNotFoundError:
        reason = "broken symbolic link" if path.is_symlink() else "file not found"
        raise PhotoError(reason) from None
    except PermissionError:
        raise PhotoError("permission denied") from None
    except OSError as exc:
        raise PhotoError(f"cannot read file: {exc.strerror or exc}") from None
    if stat.S_ISDIR(st.st_mode):
        raise PhotoError("is a directory")
    if not stat.S_ISREG(st.st_mode):  # opening a FIFO would block the batch forever
        raise PhotoError("not a regular file")
    if st.st_size == 0:
        raise PhotoError("empty file (0 bytes)")
    if st.st_size > MAX_FILE_BYTES:  # read whole into memory to decode and hash it
        raise PhotoError(f"file too large: {st.st_size / 2**20:,.0f} MiB (the limit is "
                         f"{MAX_FILE_BYTES // 2**20} MiB)")


def _to_rgb(img: Image.Image) -> Image.Image:
    """RGB for the model: 16-bit scaled down (not clipped to white), alpha on white."""
    mode = img.mode
    if mode.startswith("I") or mode == "F":
        a = np.asarray(img).astype(np.float64)
        top = float(a.max()) if a.size else 0.0
        if mode.startswith("I;16") or 255 < top <= 65535:
            a = a / 257.0
        elif top > 65535:
            a = a * (255.0 / top)
        elif mode == "F" and top <= 1.0:
            a = a * 255.0
        gray = np.clip(np.rint(a), 0, 255).astype(np.uint8)
        return Image.fromarray(gray).convert("RGB")
    if mode in _ALPHA_MODES or "transparency" in img.info:
        rgba = img.convert("RGBA")
        background = Image.new("RGBA", rgba.size, (255, 255, 255, 255))
        background.alpha_composite(rgba)
        return background.convert("RGB")
    return img if mode == "RGB" else img.convert("RGB")


def _resize_short_side(img: Image.Image, size: int, exact: bool = False) -> Image.Image:
    w, h = img.size
    long_side = (lambda n: int(n)) if exact else round  # CLIP's processor truncates
    if w <= h:
        new = (size, max(1, long_side(h * size / w)))
    else:
        new = (max(1, long_side(w * size / h)), size)
    if new == img.size:
        return img
    return img.resize(new, Image.Resampling.BICUBIC, reducing_gap=None if exact else 3.0)


def _too_large(claimed: str) -> str:
    return f"image too large: {claimed} px (limit {MAX_PIXELS} px)"


def _claimed_size(path: PathLike, exc: Exception) -> str:
    """WxH from a PNG header (Pillow only reports the product), else the product."""
    try:
        with open(path, "rb") as f:
            head = f.read(24)
        if head[:8] == b"\x89PNG\r\n\x1a\n" and head[12:16] == b"IHDR":
            return "{}x{}".format(*struct.unpack(">II", head[16:24]))
    except OSError:
        pass
    match = re.search(r"\((\d+) pixels\)", str(exc))
    return match.group(1) if match else "unknown size"


def _not_an_image(path: PathLike) -> str:
    """Say what the file is instead, so people know whether to care."""
    try:
        with open(path, "rb") as f:
            head = f.read(4096)
    except OSError as exc:
        return f"cannot read file: {exc.strerror or exc}"
    if head[4:8] == b"ftyp":  # ISO media: HEIF stills, or phone videos
        if head[8:12] not in _HEIF_BRANDS:
            return "not an image (video or other media file)"
        if not register_heif():
            if _heif_problem is not None:
                return f"HEIC cannot be decoded here: {_heif_problem}"
            return "HEIC needs pillow-heif: pip install pillow-heif"
        return "truncated or corrupt image: HEIC could not be decoded"
    if head.startswith(b"%PDF"):
        return "not an image (PDF document)"
    if any(head.startswith(magic) for magic in _IMAGE_MAGIC):  # header, then rubbish
        return "truncated or corrupt image: unreadable after the header"
    # no NUL and valid UTF-8 (one replacement allowed for a character cut at 4096)
    if b"\x00" not in head and head.decode("utf-8", "replace").count("\ufffd") <= 1:
        return "not an image (text file)"
    return "not an image (unrecognised file format)"


def read_exif_gps(path: PathLike) -> GeoPoint | None:
    """GPS position from EXIF, reading only the header; None when absent or unusable.

    Never raises: garbage EXIF is common (editors, messengers, broken phones) and
    must not cost the photo its prediction.  PNGs whose eXIf chunk follows the
    pixels are the exception to "header only": Pillow reads through the image.
    """
    try:
        if not os.path.isfile(path):
            return None
        refuse_unsafe_heif(path)
        with Image.open(path) as img:
            return _gps_from_exif(_exif(img))
    except Exception:  # noqa: BLE001  garbage EXIF must never cost the photo
        return None


def _exif(img: Image.Image) -> Image.Exif | None:
    try:
        return img.getexif()
    except Exception:  # noqa: BLE001  garbage EXIF must never cost the photo
        return None


def _orientation(exif: Image.Exif | None) -> int:
    try:
        value = int(exif.get(0x0112, 1)) if exif is not None else 1
    except Exception:  # noqa: BLE001
        return 1
    return value if 1 <= value <= 8 else 1


def _gps_from_exif(exif: Image.Exif | None) -> GeoPoint | None:
    """Decimal degrees from the GPSInfo IFD (0x8825); None for anything implausible.

    (0, 0) is refused too: cameras without a fix write zeros; nobody shoots there.
    """
    try:
        gps = exif.get_ifd(0x8825) if exif is not None else None
        if not gps:
            return None
        lat, lon = _degrees(gps.get(2)), _degrees(gps.get(4))
        lat_ref, lon_ref = _ref(gps.get(1), "NS"), _ref(gps.get(3), "EW")
        if lat is None or lon is None or lat_ref is None or lon_ref is None:
            return None
        if lat_ref == "S":
            lat = -abs(lat)
        if lon_ref == "W":
            lon = -abs(lon)
        if abs(lat) > 90 or abs(lon) > 180 or (lat == 0 and lon == 0):
            return None
        return GeoPoint(lat, lon)
    except Exception:  # noqa: BLE001  garbage EXIF must never cost the photo
        return None


def _ref(value: object, letters: str) -> str | None:
    """A GPS reference (GPSLatitudeRef, GPSLongitudeRef) as one of ``letters``; "" when
    absent or blank (degrees as recorded: phones that omit it are common); None when it is
    anything else.  EXIF 2.3 allows exactly "N"/"S" and "E"/"W": padding (NULs,
    spaces) and case are forgiven, but 5,000 "N"s, "<E&>" or a longitude letter for a
    latitude say the tag is garbage, and then the sign of the position is unknown
    (issue 21.13: such a header was read as lat 10, lon 10)."""
    if value is None:
        return ""
    if isinstance(value, bytes):
        value = value.decode("latin-1")
    text = str(value).strip("\x00 ").upper()
    return text if len(text) <= 1 and text in letters else None


def _degrees(value: object) -> float | None:
    """Degrees from (d, m, s) rationals, one value, or the strings some phones write.

    "52,00000,50,00000,34,01180" (an HTC in a decimal-comma locale) is 52deg 50'
    34.0118", as goexif, which ships that sample, documents.
    """
    if isinstance(value, bytes):
        value = value.decode("latin-1")
    if isinstance(value, str):
        text = value.strip("\x00 ")
        fields = [f for f in re.split(r"[,;\s]+", text) if f]
        if len(fields) in (2, 6) and "," in text and "." not in text:  # decimal commas
            fields = [f"{a}.{b}" for a, b in zip(fields[::2], fields[1::2])]
        parts = [_number(f) for f in fields]
    elif isinstance(value, (tuple, list)):
        parts = [_number(v) for v in value]
    else:
        parts = [_number(value)]
    if not 1 <= len(parts) <= 3 or not all(math.isfinite(p) for p in parts):
        return None
    if any(not 0 <= p <= 60 for p in parts[1:]):
        return None
    magnitude = abs(parts[0]) + sum(p / 60**i for i, p in enumerate(parts[1:], 1))
    return -magnitude if parts[0] < 0 else magnitude


def _number(value: object) -> float:
    """A float from an IFDRational (x/0 gives NaN), "num/den" or "12.5"; else NaN."""
    try:
        if isinstance(value, str):
            num, _, den = value.partition("/")
            return float(num) / float(den) if den else float(num)
        return float(value)  # type: ignore[arg-type]
    except (TypeError, ValueError, ZeroDivisionError, OverflowError):
        return math.nan
