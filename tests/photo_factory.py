"""Generator of test photos: ordinary phone-like JPEGs and the hostile files users drop.

Images carry texture (seeded gradients and noise, not flat colours) so that JPEG
encoding, draft decoding and resizing do real work, and stay small (<= 640 px, except
the panorama) so the tests stay fast.  EXIF is real: GPS rationals with their refs and
the Orientation tag, written through Pillow's ``Image.Exif`` or, for the malformed
variants phones produce, by ``raw_gps_exif``.
"""

from __future__ import annotations

import os
import struct
import zlib
from pathlib import Path

import numpy as np
from PIL import Image, TiffImagePlugin, features

UNICODE_NAME = "Straße_東京_😀.jpg"


def textured(size: tuple[int, int], color=(120, 60, 200), seed: int = 0) -> Image.Image:
    """An RGB image of ``size`` with a gradient and noise around ``color``."""
    w, h = size
    rng = np.random.default_rng(seed)
    x = np.linspace(-1.0, 1.0, w, dtype=np.float32)[None, :, None]
    y = np.linspace(-1.0, 1.0, h, dtype=np.float32)[:, None, None]
    base = np.asarray(color, dtype=np.float32)[None, None, :]
    noise = rng.normal(0.0, 10.0, (h, w, 3)).astype(np.float32)
    pixels = base * (1.0 + 0.25 * x) + 40.0 * y * np.float32(1 - 2 * (seed % 2)) + noise
    return Image.fromarray(np.clip(pixels, 0, 255).astype(np.uint8), "RGB")


def _dms(value: float) -> tuple[TiffImagePlugin.IFDRational, ...]:
    """Degrees, minutes and seconds (to 1e-4 s, i.e. 3e-8 deg) as EXIF rationals."""
    value = abs(value)
    degrees = int(value)
    minutes = int((value - degrees) * 60)
    seconds = round(((value - degrees) * 60 - minutes) * 60 * 10000)
    if seconds >= 600000:  # rounding carried into the next minute
        seconds -= 600000
        minutes += 1
    if minutes >= 60:
        minutes -= 60
        degrees += 1
    R = TiffImagePlugin.IFDRational
    return R(degrees, 1), R(minutes, 1), R(seconds, 10000)


def exif_bytes(
    gps: tuple[float, float] | None = None, orientation: int | None = None,
    taken: str | None = None, offset: str | None = None,
) -> bytes:
    """An EXIF block (for ``save(exif=...)``) with GPSInfo and/or Orientation, and the
    time taken (``taken`` "YYYY:MM:DD HH:MM:SS" as DateTimeOriginal, ``offset`` "+02:00"
    as OffsetTimeOriginal) as a camera or phone writes them."""
    exif = Image.Exif()
    exif[0x0110] = "GeoDecoder test camera"  # Model
    if taken is not None:
        sub = exif.get_ifd(0x8769)
        sub[0x9003] = taken
        if offset is not None:
            sub[0x9011] = offset
    if orientation is not None:
        exif[0x0112] = orientation
    if gps is not None:
        lat, lon = gps
        exif.get_ifd(0x8825).update(
            {
                0: b"\x02\x02\x00\x00",  # GPSVersionID
                1: "N" if lat >= 0 else "S",
                2: _dms(lat),
                3: "E" if lon >= 0 else "W",
                4: _dms(lon),
            }
        )
    return exif.tobytes()


def raw_gps_exif(entries: dict[int, tuple[int, int, bytes]]) -> bytes:
    """An EXIF block whose GPS IFD holds hand-made entries: tag -> (type, count, data).

    Pillow only writes well-formed GPS tags, while phones in the wild write degrees
    as ASCII strings, zero denominators and so on; this writes whatever it is given.
    Types: 2 ASCII, 5 RATIONAL (see ``ascii_entry`` and ``rational_entry``).
    """
    gps_offset = 8 + 2 + 12 + 4  # header, IFD0 with its single GPSInfo pointer
    data_offset = gps_offset + 2 + 12 * len(entries) + 4
    ifd, data = b"", b""
    for tag, (kind, count, payload) in sorted(entries.items()):
        if len(payload) <= 4:
            ifd += struct.pack("<HHI", tag, kind, count) + payload.ljust(4, b"\x00")
        else:
            ifd += struct.pack("<HHII", tag, kind, count, data_offset + len(data))
            data += payload + b"\x00" * (len(payload) % 2)
    tiff = b"II*\x00" + struct.pack("<I", 8)
    tiff += struct.pack("<H", 1) + struct.pack("<HHII", 0x8825, 4, 1, gps_offset)
    tiff += struct.pack("<I", 0) + struct.pack("<H", len(entries)) + ifd
    tiff += struct.pack("<I", 0) + data
    return b"Exif\x00\x00" + tiff


def ascii_entry(text: str) -> tuple[int, int, bytes]:
    raw = text.encode("ascii") + b"\x00"
    return 2, len(raw), raw


def rational_entry(*pairs: tuple[int, int]) -> tuple[int, int, bytes]:
    return 5, len(pairs), b"".join(struct.pack("<II", n, d) for n, d in pairs)


def make_jpeg(
    path,
    size=(640, 480),
    color=(120, 60, 200),
    gps: tuple[float, float] | None = None,
    orientation: int | None = None,
    quality=85,
    taken: str | None = None,
    offset: str | None = None,
) -> Path:
    """A textured JPEG with real EXIF (GPSInfo rationals with refs, Orientation, the
    time taken and its offset)."""
    path = Path(path)
    seed = (size[0] * 31 + size[1]) * 7 + sum(c * 13**i for i, c in enumerate(color))
    image = textured(size, color, seed)
    image.save(path, "JPEG", quality=quality,
               exif=exif_bytes(gps, orientation, taken, offset))
    return path


def make_heic(
    path,
    size=(320, 240),
    color=(60, 150, 90),
    gps: tuple[float, float] | None = None,
    orientation: int | None = None,
) -> Path:
    """A textured HEIC with real EXIF, encoded by pillow-heif (ImportError without it;
    RuntimeError/ValueError/OSError from a wheel built without an encoder)."""
    import pillow_heif

    path = Path(path)
    heif = pillow_heif.from_pillow(textured(size, color))
    heif.save(path, quality=80, exif=exif_bytes(gps, orientation))
    return path


def make_bomb_png(path, width: int = 60000, height: int = 60000) -> Path:
    """A valid PNG header claiming width x height, with a tiny IDAT behind it."""

    def chunk(kind: bytes, body: bytes) -> bytes:
        crc = zlib.crc32(kind + body) & 0xFFFFFFFF
        return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", crc)

    path = Path(path)
    ihdr = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    idat = zlib.compress(b"\x00" * 4096)
    path.write_bytes(
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", ihdr)
        + chunk(b"IDAT", idat)
        + chunk(b"IEND", b"")
    )
    return path


def make_claiming_jpeg(path, width: int = 13000, height: int = 13000) -> Path:
    """A tiny (~630 bytes) but well-formed baseline JPEG whose frame header claims
    width x height: libjpeg pads the missing data with grey instead of failing."""
    import io

    buf = io.BytesIO()
    Image.new("RGB", (8, 8), (120, 120, 120)).save(buf, "JPEG", quality=50)
    data = bytearray(buf.getvalue())
    sof = data.index(b"\xff\xc0")  # SOF0: length (2), precision (1), height, width
    struct.pack_into(">HH", data, sof + 5, height, width)
    path = Path(path)
    path.write_bytes(bytes(data))
    return path


def _garbage_exif_jpeg(path: Path, rng: np.random.Generator) -> None:
    """A JPEG whose APP1 keeps its length and TIFF header but holds random IFDs."""
    make_jpeg(path, (320, 240), (40, 140, 90), gps=(10.0, 20.0), orientation=6)
    data = bytearray(path.read_bytes())
    start = data.index(b"Exif\x00\x00") + 6  # TIFF header
    length = struct.unpack(">H", data[start - 8 : start - 6])[0] - 8
    data[start + 8 : start + length] = rng.integers(
        0, 256, length - 8, dtype=np.uint8
    ).tobytes()
    path.write_bytes(bytes(data))


def _write_odd(kind: str, folder: Path, index: int, rng: np.random.Generator):
    """Write one odd file; return (path, None) if readable or (path, reason)."""
    stem = f"odd_{index:03d}_{kind}"
    path = folder / f"{stem}.jpg"
    if kind == "truncated":
        make_jpeg(path, (480, 360), (200, 120, 40))
        data = path.read_bytes()
        path.write_bytes(data[: len(data) // 2])
        return path, "truncated or corrupt image"
    if kind == "empty":
        path.write_bytes(b"")
        return path, "empty file (0 bytes)"
    if kind == "text":
        path.write_text(
            "This is not a photo, it is a shopping list.\n- bread\n", "utf-8"
        )
        return path, "not an image (text file)"
    if kind == "random":
        path.write_bytes(b"\x00" + rng.integers(0, 256, 5000, dtype=np.uint8).tobytes())
        return path, "not an image"
    if kind == "bomb_png":
        path = folder / f"{stem}.png"
        make_bomb_png(path)
        return path, "60000x60000"
    if kind == "dangling_symlink":
        os.symlink(folder / f"{stem}_missing_target.jpg", path)
        return path, "broken symbolic link"
    if kind == "folder_named_jpg":
        path.mkdir()
        make_jpeg(path / "inside.jpg", (300, 200), (90, 90, 160), gps=(-12.5, 130.8))
        return path, "is a directory"
    if kind == "garbage_exif":
        _garbage_exif_jpeg(path, rng)
        return path, None
    if kind == "cmyk":
        textured((320, 240), (30, 160, 220), index).convert("CMYK").save(path, "JPEG")
        return path, None
    if kind == "png16":
        path = folder / f"{stem}.png"
        ramp = np.linspace(0, 65535, 256 * 192).reshape(192, 256).astype(np.uint16)
        Image.fromarray(ramp).save(path)  # mode I;16 -> 16-bit greyscale PNG
        return path, None
    if kind == "webp":
        path = folder / f"{stem}.webp"
        textured((320, 240), (180, 180, 60), index).save(path, "WEBP", quality=80)
        return path, None
    if kind == "panorama":
        # texture at 1/8 scale, enlarged: 12000x3000 of noise would cost seconds
        textured((1500, 375), (70, 130, 200), index).resize((12000, 3000)).save(
            path, quality=80
        )
        return path, None
    if kind == "unicode_name":
        path = folder / f"{index:03d}_{UNICODE_NAME}"
        make_jpeg(path, (400, 300), (220, 80, 80), gps=(35.6586, 139.7454))
        return path, None
    raise ValueError(kind)


ODD_KINDS = (
    "truncated",
    "empty",
    "text",
    "random",
    "bomb_png",
    "dangling_symlink",
    "folder_named_jpg",
    "garbage_exif",
    "cmyk",
    "png16",
    "webp",
    "panorama",
    "unicode_name",
)


def make_hostile_folder(root: Path, n_good: int = 90, seed: int = 0) -> dict:
    """A folder tree like a user's: ordinary JPEGs and hostile or odd files among them.

    ``n_good`` ordinary JPEGs (varied sizes and colours, a third with GPS, some with
    EXIF orientation 6 or 8, some as .JPG/.jpeg, spread over subfolders) plus about
    one odd file per nine good ones, cycling through ``ODD_KINDS`` -- but every kind
    at least once, so that a default folder covers them all.  Kinds the platform
    cannot make (symlinks, WebP) are left out.

    Returns ``{"readable": {path, ...}, "unreadable": {path: reason substring},
    "gps": {path: (lat, lon)}}`` so that tests can check every file's fate.
    """
    root = Path(root)
    rng = np.random.default_rng(seed)
    readable: set[str] = set()
    unreadable: dict[str, str] = {}
    gps_of: dict[str, tuple[float, float]] = {}
    folders = [root, root / "2023 trip", root / "2023 trip" / "day 2", root / "phone"]
    for folder in folders:
        folder.mkdir(parents=True, exist_ok=True)
    for i in range(n_good):
        folder = folders[i % len(folders)]
        ext = (".jpg", ".JPG", ".jpeg")[i % 3]
        size = (int(rng.integers(160, 641)), int(rng.integers(120, 641)))
        color = tuple(int(c) for c in rng.integers(20, 236, 3))
        gps = None
        if i % 3 == 0:
            gps = (float(rng.uniform(-89, 89)), float(rng.uniform(-179, 179)))
        orientation = {0: 6, 3: 8}.get(i % 5)
        path = make_jpeg(folder / f"IMG_{i:04d}{ext}", size, color, gps, orientation)
        readable.add(str(path))
        if gps is not None:
            gps_of[str(path)] = gps
    n_odd = max(len(ODD_KINDS), round(n_good / 9))
    for j in range(n_odd):
        kind = ODD_KINDS[j % len(ODD_KINDS)]
        if kind == "webp" and not features.check("webp"):
            continue
        folder = folders[j % len(folders)]
        try:
            path, reason = _write_odd(kind, folder, j, rng)
        except (OSError, NotImplementedError):  # no symlinks, or no unicode names
            continue
        if reason is None:
            readable.add(str(path))
        else:
            unreadable[str(path)] = reason
        if kind == "folder_named_jpg":
            readable.add(str(path / "inside.jpg"))
            gps_of[str(path / "inside.jpg")] = (-12.5, 130.8)
        if kind == "unicode_name":
            gps_of[str(path)] = (35.6586, 139.7454)
    (root / "notes.txt").write_text("not a photo extension: find_photos skips this\n")
    return {"readable": readable, "unreadable": unreadable, "gps": gps_of}
