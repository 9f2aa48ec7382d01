"""Tests of inference.prediction.photos: safe decoding, EXIF orientation and GPS, folder walks."""

from __future__ import annotations

import csv
import importlib.util
import os
from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st
from PIL import Image, ImageFile, JpegImagePlugin, features

from inference.prediction import photos
from inference.prediction.photos import (
    MAX_PIXELS,
    PHOTO_EXTENSIONS,
    PhotoError,
    find_photos,
    read_exif_gps,
    read_photo,
    register_heif,
)
from inference.records import GeoPoint
from tests.photo_factory import (
    ODD_KINDS,
    UNICODE_NAME,
    ascii_entry,
    exif_bytes,
    make_bomb_png,
    make_claiming_jpeg,
    make_hostile_folder,
    make_jpeg,
    rational_entry,
    raw_gps_exif,
    textured,
)

REPO = Path(__file__).resolve().parents[1]
SAMPLES = REPO.parent / "shared" / "data" / "exif-gps-samples"
HAVE_HEIF = importlib.util.find_spec("pillow_heif") is not None
needs_webp = pytest.mark.skipif(not features.check("webp"), reason="Pillow lacks WebP")
needs_symlinks = pytest.mark.skipif(os.name == "nt", reason="symlinks need privileges")

RED, BLUE, GREY = (230, 20, 20), (20, 20, 230), (128, 128, 128)


def _is(pixel, color, tol=70) -> bool:
    return all(abs(int(p) - c) <= tol for p, c in zip(pixel, color))


# --- EXIF orientation ---------------------------------------------------------------

# Where the stored top-left (red) and top-right (blue) corners are displayed, derived
# from the EXIF definition of each value (which side row 0 and column 0 belong on),
# not from Pillow's transpose table.
CORNERS = {
    1: ("TL", "TR"),  # row 0 top,    column 0 left
    2: ("TR", "TL"),  # row 0 top,    column 0 right
    3: ("BR", "BL"),  # row 0 bottom, column 0 right
    4: ("BL", "BR"),  # row 0 bottom, column 0 left
    5: ("TL", "BL"),  # row 0 left,   column 0 top
    6: ("TR", "BR"),  # row 0 right,  column 0 top
    7: ("BR", "TR"),  # row 0 right,  column 0 bottom
    8: ("BL", "TL"),  # row 0 left,   column 0 bottom
}


def _corner(img: Image.Image, where: str):
    w, h = img.size
    x = 4 if where[1] == "L" else w - 5
    y = 4 if where[0] == "T" else h - 5
    return img.getpixel((x, y))


@pytest.mark.parametrize("orientation", range(1, 9))
def test_orientation_turns_content_upright(tmp_path, orientation):
    stored = Image.new("RGB", (320, 160), GREY)
    stored.paste(RED, (0, 0, 48, 48))
    stored.paste(BLUE, (272, 0, 320, 48))
    path = tmp_path / f"o{orientation}.jpg"
    stored.save(path, quality=95, exif=exif_bytes(orientation=orientation))

    img, info = read_photo(path, size=80)

    swapped = orientation >= 5
    assert info.orientation == orientation
    assert (info.width, info.height) == ((160, 320) if swapped else (320, 160))
    assert img.size == ((80, 160) if swapped else (160, 80))
    red_at, blue_at = CORNERS[orientation]
    assert _is(_corner(img, red_at), RED), f"red corner not at {red_at}"
    assert _is(_corner(img, blue_at), BLUE), f"blue corner not at {blue_at}"


def test_orientation_6_on_a_phone_sized_photo(tmp_path):
    path = make_jpeg(tmp_path / "portrait.jpg", (640, 480), orientation=6)
    img, info = read_photo(path, size=224)
    assert (info.width, info.height) == (480, 640)
    assert img.size == (224, 299)


def test_missing_or_bad_orientation_means_1(tmp_path):
    assert read_photo(make_jpeg(tmp_path / "a.jpg", (64, 48)), 32)[1].orientation == 1
    path = tmp_path / "b.jpg"
    textured((64, 48)).save(path, exif=exif_bytes(orientation=77))
    img, info = read_photo(path, 32)
    assert info.orientation == 1
    assert img.size == (43, 32)


# --- EXIF GPS -------------------------------------------------------------------------

PLACES = [
    (48.858370, 2.294481),  # Paris: N, E
    (-33.856784, 151.215297),  # Sydney: S, E
    (40.689247, -74.044502),  # New York: N, W
    (-22.951916, -43.210487),  # Rio: S, W
    (0.000123, -0.000456),  # tiny values keep their sign
    (89.999999, 179.999999),
    (-89.999999, -179.999999),
]


@pytest.mark.parametrize(("lat", "lon"), PLACES)
def test_gps_round_trip_jpeg(tmp_path, lat, lon):
    path = make_jpeg(tmp_path / "g.jpg", (96, 64), gps=(lat, lon))
    point = read_exif_gps(path)
    assert point is not None
    assert point.lat == pytest.approx(lat, abs=1e-6)
    assert point.lon == pytest.approx(lon, abs=1e-6)
    assert read_photo(path, 32)[1].exif_gps == point


@given(
    lat=st.floats(-90, 90, allow_nan=False),
    lon=st.floats(-180, 180, allow_nan=False),
)
@settings(
    max_examples=60,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
def test_gps_round_trip_anywhere(tmp_path, lat, lon):
    # (0, 0) is refused on purpose (cameras without a fix write it); the writer
    # rounds to 1e-4 arc seconds, so only tinier values than that become (0, 0)
    assume(abs(lat) > 1e-7 or abs(lon) > 1e-7)
    path = make_jpeg(tmp_path / "h.jpg", (16, 16), gps=(lat, lon))
    point = read_exif_gps(path)
    assert point is not None
    assert abs(point.lat - lat) < 1e-6
    assert abs(point.lon - lon) < 1e-6


@pytest.mark.parametrize("fmt", ["PNG", pytest.param("WEBP", marks=needs_webp), "TIFF"])
def test_gps_in_other_formats(tmp_path, fmt):
    path = tmp_path / f"g.{fmt.lower()}"
    textured((96, 64)).save(path, fmt, exif=exif_bytes(gps=(-41.28646, 174.77624)))
    point = read_exif_gps(path)
    assert point is not None
    assert (point.lat, point.lon) == pytest.approx((-41.28646, 174.77624), abs=1e-6)


R = rational_entry
MALFORMED_GPS = {
    "degrees as decimal-comma strings (HTC)": (
        {
            1: ascii_entry("N"),
            2: ascii_entry("52,00000,50,00000,34,01180"),
            3: ascii_entry("E"),
            4: ascii_entry("11,00000,10,00000,58,28360"),
        },
        (52 + 50 / 60 + 34.0118 / 3600, 11 + 10 / 60 + 58.2836 / 3600),
    ),
    "degrees as rational strings": (
        {
            1: ascii_entry("S"),
            2: ascii_entry("35/1,30/1,1530/100"),
            3: ascii_entry("W"),
            4: ascii_entry("58/1,22/1,0/1"),
        },
        (-(35 + 30 / 60 + 15.3 / 3600), -(58 + 22 / 60)),
    ),
    "decimal degrees as plain strings": (
        {2: ascii_entry("48.8584"), 4: ascii_entry("2.2945")},
        (48.8584, 2.2945),
    ),
    "single decimal-degree rationals, padded refs": (
        {
            1: ascii_entry("s "),
            2: R((338568, 10000)),
            3: ascii_entry("w"),
            4: R((1512153, 10000)),
        },
        (-33.8568, -151.2153),
    ),
    "degrees and decimal minutes": (
        {
            1: ascii_entry("N"),
            2: R((59, 1), (1995, 100), (0, 1)),
            4: R((18, 1), (390, 100)),
        },
        (59 + 19.95 / 60, 18 + 3.9 / 60),
    ),
    "zero denominator": (
        {2: R((59, 1), (19, 1), (5, 0)), 4: R((18, 1), (3, 1), (5, 1))},
        None,
    ),
    "latitude beyond 90": (
        {2: R((95, 1), (0, 1), (0, 1)), 4: R((18, 1), (3, 1), (5, 1))},
        None,
    ),
    "longitude beyond 180": (
        {2: R((5, 1), (0, 1), (0, 1)), 4: R((181, 1), (0, 1), (0, 1))},
        None,
    ),
    "minutes beyond 60": (
        {2: R((45, 1), (75, 1), (0, 1)), 4: R((18, 1), (3, 1), (5, 1))},
        None,
    ),
    "no longitude": ({1: ascii_entry("N"), 2: R((45, 1), (7, 1), (0, 1))}, None),
    "no fix: 0, 0": (
        {2: R((0, 1), (0, 1), (0, 1)), 4: R((0, 1), (0, 1), (0, 1))},
        None,
    ),
    "words instead of numbers": (
        {2: ascii_entry("unknown"), 4: ascii_entry("n/a")},
        None,
    ),
    "four components": ({2: R((1, 1), (2, 1), (3, 1), (4, 1)), 4: R((5, 1))}, None),
    # issue 21.13: a reference is one letter of its axis, else the sign is unknown
    "5,000 N as the latitude reference": (
        {1: ascii_entry("N" * 5000), 2: R((10, 1)), 3: ascii_entry("E"), 4: R((10, 1))},
        None,
    ),
    "markup as the longitude reference": (
        {1: ascii_entry("N"), 2: R((10, 1)), 3: ascii_entry("<E&>"), 4: R((10, 1))},
        None,
    ),
    "a longitude letter as the latitude reference": (
        {1: ascii_entry("E"), 2: R((10, 1)), 3: ascii_entry("E"), 4: R((10, 1))},
        None,
    ),
    "South written out": (
        {1: ascii_entry("South"), 2: R((10, 1)), 3: ascii_entry("E"), 4: R((10, 1))},
        None,
    ),
    "references as bytes with NUL padding": (
        {1: (7, 2, b"S\x00"), 2: R((10, 1)), 3: (7, 2, b"W\x00"), 4: R((10, 1))},
        (-10.0, -10.0),
    ),
}


@pytest.mark.parametrize("case", list(MALFORMED_GPS))
def test_gps_as_phones_really_write_it(tmp_path, case):
    entries, expected = MALFORMED_GPS[case]
    path = tmp_path / "m.jpg"
    textured((64, 48)).save(path, exif=raw_gps_exif(entries))
    point = read_exif_gps(path)
    info = read_photo(path, 32)[1]  # odd GPS never costs the photo its pixels
    assert info.exif_gps == point
    if expected is None:
        assert point is None
    else:
        assert point is not None
        assert (point.lat, point.lon) == pytest.approx(expected, abs=1e-7)


def test_read_exif_gps_never_raises(tmp_path):
    assert read_exif_gps(tmp_path / "missing.jpg") is None
    assert read_exif_gps(tmp_path) is None
    (tmp_path / "t.jpg").write_text("hello")
    assert read_exif_gps(tmp_path / "t.jpg") is None
    assert read_exif_gps(make_jpeg(tmp_path / "plain.jpg", (32, 32))) is None


# --- hostile files --------------------------------------------------------------------


@pytest.fixture(scope="module")
def hostile(tmp_path_factory):
    root = tmp_path_factory.mktemp("hostile")
    return root, make_hostile_folder(root)


def test_hostile_folder_covers_every_kind(hostile):
    _root, expected = hostile
    names = " ".join(
        Path(p).name for p in [*expected["readable"], *expected["unreadable"]]
    )
    missing = [k for k in ODD_KINDS if k not in names and k != "unicode_name"]
    if not features.check("webp"):
        missing.remove("webp")
    assert not missing
    assert any(UNICODE_NAME in n for n in expected["readable"])
    assert len(expected["readable"]) >= 90


@pytest.mark.filterwarnings("ignore:Corrupt EXIF data")
def test_every_hostile_file_meets_its_expected_fate(hostile):
    _root, expected = hostile
    wrong = []
    for path in sorted(expected["readable"]):
        try:
            img, info = read_photo(path, size=96)
        except PhotoError as exc:
            wrong.append(f"{path}: should decode, got PhotoError({exc})")
            continue
        if img.mode != "RGB" or min(img.size) != 96 or info.path != path:
            wrong.append(f"{path}: decoded to {img.mode} {img.size}")
        want = expected["gps"].get(path)
        got = info.exif_gps
        if want is None and got is not None:
            wrong.append(f"{path}: GPS {got} from a photo without GPS")
        if want is not None and (
            got is None
            or abs(got.lat - want[0]) > 1e-6
            or abs(got.lon - want[1]) > 1e-6
        ):
            wrong.append(f"{path}: GPS {got}, expected {want}")
    for path, reason in sorted(expected["unreadable"].items()):
        try:
            read_photo(path, size=96)
            wrong.append(f"{path}: decoded, expected PhotoError containing {reason!r}")
        except PhotoError as exc:  # any other exception type fails the test outright
            if reason not in str(exc):
                wrong.append(f"{path}: reason {str(exc)!r} lacks {reason!r}")
    assert not wrong, "\n".join(wrong)


def test_find_photos_agrees_with_the_hostile_folder(hostile):
    root, expected = hostile
    found, problems = find_photos([root])
    found = {str(p) for p in found}
    dangling = {p for p, r in expected["unreadable"].items() if "symbolic" in r}
    folders = {p for p, r in expected["unreadable"].items() if "directory" in r}
    assert found == expected["readable"] | (
        set(expected["unreadable"]) - dangling - folders
    )
    assert {p for p, _ in problems} == dangling


@pytest.mark.filterwarnings("ignore:Corrupt EXIF data")
def test_garbage_exif_keeps_the_pixels(hostile):
    _root, expected = hostile
    (path,) = [p for p in expected["readable"] if "garbage_exif" in p]
    assert read_exif_gps(path) is None
    img, info = read_photo(path, 64)
    assert info.exif_gps is None
    assert min(img.size) == 64


@pytest.mark.parametrize(
    ("make", "reason"),
    [
        (lambda p: p.write_bytes(b""), "empty file (0 bytes)"),
        (lambda p: p.write_text("GPS: 48.85, 2.29\n"), "not an image (text file)"),
        (
            lambda p: p.write_bytes(b"%PDF-1.7\n\x00\x01binary"),
            "not an image (PDF document)",
        ),
        (lambda p: p.write_bytes(b"\x00\x00\x00\x18ftypmp42" + bytes(64)), "video"),
        (
            lambda p: p.write_bytes(b"\xff\xd8\xff\xe0" + bytes(100)),
            "truncated or corrupt",
        ),
        (lambda p: p.mkdir(), "is a directory"),
        (lambda p: None, "file not found"),
    ],
    ids=["empty", "text", "pdf", "video", "jpeg-header-only", "directory", "missing"],
)
def test_unreadable_files_say_why(tmp_path, make, reason):
    path = tmp_path / "x.jpg"
    make(path)
    with pytest.raises(
        PhotoError, match=reason.replace("(", r"\(").replace(")", r"\)")
    ):
        read_photo(path)


def test_truncated_jpeg_is_refused_not_padded(tmp_path):
    path = make_jpeg(tmp_path / "t.jpg", (640, 480))
    data = path.read_bytes()
    path.write_bytes(data[: int(len(data) * 0.7)])
    with pytest.raises(PhotoError, match="truncated or corrupt image"):
        read_photo(path)
    assert ImageFile.LOAD_TRUNCATED_IMAGES is False  # nothing switched it on globally


@needs_symlinks
def test_broken_symlink_named_explicitly(tmp_path):
    link = tmp_path / "gone.jpg"
    link.symlink_to(tmp_path / "nowhere.jpg")
    with pytest.raises(PhotoError, match="broken symbolic link"):
        read_photo(link)
    assert find_photos([link]) == ([], [(str(link), "broken symbolic link")])


def test_fifo_does_not_block(tmp_path):
    if not hasattr(os, "mkfifo"):
        pytest.skip("no FIFOs on this platform")
    fifo = tmp_path / "pipe.jpg"
    os.mkfifo(fifo)
    with pytest.raises(PhotoError, match="not a regular file"):
        read_photo(fifo)


# --- decompression bombs --------------------------------------------------------------


def _bomb(tmp_path) -> Path:
    return make_bomb_png(tmp_path / "bomb.png", 60000, 60000)


def _no_pixel_decoding(monkeypatch):
    """Fail the test if Pillow starts decoding pixels: a bomb must be refused from its
    header alone (decoding 3.6 gigapixels would take minutes and gigabytes)."""
    def refuse(self, *args, **kwargs):
        raise AssertionError(f"pixels of {self.size} decoded")
    monkeypatch.setattr(Image.Image, "load", refuse)
    monkeypatch.setattr(ImageFile.ImageFile, "load", refuse)


def test_bomb_png_is_refused_before_decoding(tmp_path, monkeypatch):
    bomb = _bomb(tmp_path)
    assert bomb.stat().st_size < 1000
    _no_pixel_decoding(monkeypatch)
    with pytest.raises(PhotoError) as err:
        read_photo(bomb)
    assert "60000x60000" in str(err.value)
    assert str(MAX_PIXELS) in str(err.value)


def test_bomb_refused_even_with_pillows_limit_switched_off(tmp_path, monkeypatch):
    bomb = _bomb(tmp_path)
    monkeypatch.setattr(Image, "MAX_IMAGE_PIXELS", None)
    _no_pixel_decoding(monkeypatch)
    with pytest.raises(PhotoError, match="image too large: 60000x60000 px"):
        read_photo(bomb)


def test_panorama_is_not_a_bomb(hostile):
    _root, expected = hostile
    (pano,) = [p for p in expected["readable"] if "panorama" in p]
    img, info = read_photo(pano, 224)
    assert (info.width, info.height) == (12000, 3000)
    assert img.size == (896, 224)


@pytest.mark.filterwarnings("ignore::PIL.Image.DecompressionBombWarning")
def test_a_tiny_jpeg_claiming_a_huge_frame_is_damaged_not_a_photo(tmp_path, monkeypatch):
    """Issue 21.12: 631 bytes cannot hold 13,000 x 13,000 px; libjpeg would pad the
    missing data with grey and the model would geolocate a grey square.  Refused from
    the header, before a pixel is decoded."""
    path = make_claiming_jpeg(tmp_path / "claims.jpg", 13000, 13000)
    assert path.stat().st_size < 1000
    _no_pixel_decoding(monkeypatch)
    with pytest.raises(PhotoError, match=r"truncated or corrupt image: .*13000x13000 px"):
        read_photo(path)


def test_a_large_flat_jpeg_is_not_called_damaged(tmp_path):
    """The bound is the least a Huffman-coded JPEG can take (one bit per 8 x 8 block):
    a real, very compressible photo of the same kind stays a photo."""
    path = tmp_path / "flat.jpg"
    Image.new("RGB", (4000, 3000), (200, 200, 200)).save(path, "JPEG", quality=10)
    img, info = read_photo(path, 64)
    assert (info.width, info.height) == (4000, 3000) and img.size == (85, 64)
    gray = tmp_path / "flat_gray.jpg"
    Image.new("L", (4000, 3000), 7).save(gray, "JPEG", quality=1, progressive=True,
                                          optimize=True)
    assert read_photo(gray, 64)[1].width == 4000


def test_extreme_aspect_ratio_is_refused(tmp_path):
    path = tmp_path / "strip.png"
    Image.new("RGB", (20000, 2)).save(path)
    with pytest.raises(PhotoError, match="20000x2"):
        read_photo(path)


# --- draft decoding and resizing ------------------------------------------------------


@pytest.mark.parametrize("size", [64, 224, 300])
def test_jpeg_draft_decodes_at_the_smallest_sufficient_scale(
    tmp_path, monkeypatch, size
):
    path = make_jpeg(tmp_path / "big.jpg", (1600, 1200))
    drafted = []
    original = JpegImagePlugin.JpegImageFile.draft

    def spy(self, mode, requested):
        result = original(self, mode, requested)
        drafted.append((mode, requested, self.size))
        return result

    monkeypatch.setattr(JpegImagePlugin.JpegImageFile, "draft", spy)
    img, info = read_photo(path, size=size)
    scale = next(s for s in (8, 4, 2, 1) if 1200 // s >= size)
    assert drafted == [("RGB", (size, size), (1600 // scale, 1200 // scale))]
    assert min(img.size) == size
    assert img.size == (round(1600 * size / 1200), size)
    assert (info.width, info.height) == (1600, 1200)


@pytest.mark.parametrize(
    ("fmt", "size"),
    [
        ("JPEG", (180, 135)),
        ("PNG", (500, 900)),
        ("BMP", (333, 222)),
        ("GIF", (250, 250)),
    ],
)
def test_shorter_side_is_size_whatever_the_format(tmp_path, fmt, size):
    path = tmp_path / f"p.{fmt.lower()}"
    textured(size).save(path, fmt)
    img, info = read_photo(path, 224)
    assert min(img.size) == 224  # small photos are enlarged too
    assert (info.width, info.height) == size
    assert img.mode == "RGB"


# --- pixel modes ----------------------------------------------------------------------


def test_16_bit_png_is_scaled_not_clipped(tmp_path):
    ramp = np.tile(np.linspace(0, 65535, 256), (64, 1)).astype(np.uint16)
    path = tmp_path / "deep.png"
    Image.fromarray(ramp).save(path)
    assert Image.open(path).mode.startswith("I")
    img, _ = read_photo(path, 64)
    row = np.asarray(img)[32, :, 0].astype(int)
    assert row[0] < 10
    assert row[-1] > 245
    assert abs(row[len(row) // 2] - 128) < 12  # mid grey, not white


def test_cmyk_jpeg_keeps_its_colours(tmp_path):
    path = tmp_path / "cmyk.jpg"
    Image.new("RGB", (64, 64), (30, 160, 220)).convert("CMYK").save(path, quality=95)
    img, _ = read_photo(path, 32)
    assert _is(np.asarray(img).reshape(-1, 3).mean(axis=0), (30, 160, 220), tol=20)


def test_transparency_is_flattened_on_white(tmp_path):
    rgba = Image.new("RGBA", (64, 64), (0, 0, 255, 255))
    rgba.paste((0, 0, 0, 0), (0, 0, 32, 64))
    rgba.save(tmp_path / "a.png")
    rgba.convert("LA").save(tmp_path / "la.png")
    palette = Image.new("P", (64, 64), 1)
    palette.putpalette([0, 0, 0, 0, 0, 255] + [0] * 762)
    palette.paste(0, (0, 0, 32, 64))
    palette.save(tmp_path / "p.png", transparency=0)
    palette.save(tmp_path / "p.gif", transparency=0)
    for name in ("a.png", "la.png", "p.png", "p.gif"):
        img, _ = read_photo(tmp_path / name, 64)
        assert img.mode == "RGB"
        assert img.getpixel((8, 32)) == (255, 255, 255), name
        assert img.getpixel((56, 32)) != (255, 255, 255), name


def test_animated_gif_gives_its_first_frame(tmp_path):
    frames = [Image.new("RGB", (64, 64), c) for c in (RED, (20, 200, 20), BLUE)]
    path = tmp_path / "anim.gif"
    frames[0].save(path, save_all=True, append_images=frames[1:], duration=100, loop=0)
    img, _ = read_photo(path, 32)
    assert _is(img.getpixel((16, 16)), RED, tol=30)


def test_greyscale_jpeg_becomes_rgb(tmp_path):
    path = tmp_path / "grey.jpg"
    textured((200, 100)).convert("L").save(path)
    img, _ = read_photo(path, 50)
    assert img.mode == "RGB"
    r, g, b = (np.asarray(img)[..., i] for i in range(3))
    assert (r == g).all()
    assert (g == b).all()


@needs_webp
def test_webp(tmp_path):
    path = tmp_path / "w.webp"
    textured((300, 200), (200, 40, 40)).save(path, quality=90)
    img, info = read_photo(path, 100)
    assert img.size == (150, 100)
    assert (info.width, info.height) == (300, 200)


def test_unicode_file_name(tmp_path):
    folder = tmp_path / "Ünïcødé 照片"
    folder.mkdir()
    path = make_jpeg(folder / UNICODE_NAME, (200, 150), gps=(35.0, 139.0))
    img, info = read_photo(path, 64)
    assert min(img.size) == 64
    assert info.exif_gps == read_exif_gps(path) == GeoPoint(35.0, 139.0)
    assert find_photos([folder])[0] == [path]


@pytest.mark.filterwarnings("ignore:Corrupt EXIF data")
def test_mutated_files_give_photo_error_or_a_picture(tmp_path):
    """Hostile bytes in a JPEG or PNG: PhotoError or a picture, nothing else."""
    seed_jpeg = make_jpeg(tmp_path / "s.jpg", (64, 48), gps=(1.5, 2.5), orientation=6)
    textured((64, 48)).save(tmp_path / "s.png", exif=exif_bytes(gps=(1.5, 2.5)))
    originals = [seed_jpeg.read_bytes(), (tmp_path / "s.png").read_bytes()]

    @given(
        which=st.sampled_from([0, 1]),
        edits=st.lists(
            st.tuples(st.floats(0, 1, exclude_max=True), st.integers(0, 255)),
            min_size=1,
            max_size=8,
        ),
        cut=st.floats(0.05, 1.0),
    )
    @settings(max_examples=120, deadline=None)
    def fuzz(which, edits, cut):
        data = bytearray(originals[which])
        for where, value in edits:
            data[int(where * len(data))] = value
        path = tmp_path / ("f.jpg", "f.png")[which]
        path.write_bytes(bytes(data[: max(1, int(len(data) * cut))]))
        read_exif_gps(path)  # must not raise
        try:
            img, _ = read_photo(path, 32)
        except PhotoError as exc:
            assert str(exc)
        else:
            assert img.mode == "RGB"
            assert min(img.size) == 32

    fuzz()


# --- HEIC -----------------------------------------------------------------------------


@pytest.mark.skipif(not HAVE_HEIF, reason="pillow_heif not installed: HEIC untested")
def test_heic_round_trip(tmp_path):
    import pillow_heif

    assert register_heif()
    path = tmp_path / "phone.heic"
    heif = pillow_heif.from_pillow(textured((320, 240), (60, 150, 90)))
    try:
        heif.save(path, quality=80, exif=exif_bytes(gps=(-33.5, 151.2), orientation=6))
    except (RuntimeError, ValueError, OSError) as exc:  # wheel built without an encoder
        pytest.skip(f"pillow_heif cannot encode HEIC here: {exc}")
    img, info = read_photo(path, 64)
    assert img.mode == "RGB"
    # libheif applies the rotation itself (pillow-heif resets the tag to 1): upright
    assert (info.width, info.height) == (240, 320)
    assert img.size == (64, 85)
    assert (info.exif_gps.lat, info.exif_gps.lon) == pytest.approx(
        (-33.5, 151.2), abs=1e-6
    )
    assert read_exif_gps(path) == info.exif_gps
    assert path in find_photos([tmp_path])[0]


def test_heic_without_pillow_heif_says_how_to_fix(tmp_path, monkeypatch):
    path = tmp_path / "phone.heic"
    path.write_bytes(b"\x00\x00\x00\x18ftypheic\x00\x00\x00\x00mif1heic" + bytes(500))
    monkeypatch.setattr(photos, "_heif_available", False)
    monkeypatch.setattr(Image, "ID", [f for f in Image.ID if f != "HEIF"])
    with pytest.raises(
        PhotoError, match="HEIC needs pillow-heif: pip install pillow-heif"
    ):
        read_photo(path)


# --- find_photos ----------------------------------------------------------------------


def _tree(root: Path) -> None:
    # created in an order unlike the expected one: the result must not depend on it
    for rel in ["x.jpg/e.jpg", "sub/deeper/d.png", "sub/c.jpeg", "b.jpg", "A.JPG"]:
        (root / rel).parent.mkdir(parents=True, exist_ok=True)
        make_jpeg(root / rel, (32, 32))
    (root / "notes.txt").write_text("not a photo")
    (root / "clip.MOV").write_bytes(b"\x00\x00\x00\x18ftypqt  ")
    (root / ".thumbnails").mkdir()
    make_jpeg(root / ".thumbnails" / "t.jpg", (16, 16))
    (root / "._b.jpg").write_bytes(b"\x00\x05\x16\x07AppleDouble")


def test_find_photos_walks_folders_recursively_in_sorted_order(tmp_path):
    _tree(tmp_path)
    found, problems = find_photos([tmp_path])
    rel = [p.relative_to(tmp_path).as_posix() for p in found]
    assert rel == ["A.JPG", "b.jpg", "sub/c.jpeg", "sub/deeper/d.png", "x.jpg/e.jpg"]
    assert problems == []
    assert find_photos([tmp_path]) == (found, problems)  # deterministic
    assert find_photos(str(tmp_path)) == (found, problems)  # one path, not its letters


def test_find_photos_explicit_files_missing_paths_and_duplicates(tmp_path):
    _tree(tmp_path)
    odd = tmp_path / "scan.xyz"
    odd.write_text("named explicitly, so returned, so its problem can be named")
    missing = tmp_path / "nope.jpg"
    found, problems = find_photos([odd, tmp_path / "b.jpg", missing, tmp_path])
    assert found[:2] == [odd, tmp_path / "b.jpg"]
    assert len(found) == 6  # b.jpg only once
    assert problems == [(str(missing), "file not found")]
    with pytest.raises(PhotoError, match="not an image"):
        read_photo(odd)


@needs_symlinks
def test_find_photos_reports_dangling_symlinks_and_survives_loops(tmp_path):
    make_jpeg(tmp_path / "a.jpg", (32, 32))
    (tmp_path / "dead.jpg").symlink_to(tmp_path / "deleted.jpg")
    (tmp_path / "dead.txt").symlink_to(tmp_path / "deleted.txt")
    (tmp_path / "sub").mkdir()
    (tmp_path / "sub" / "loop").symlink_to(tmp_path, target_is_directory=True)
    found, problems = find_photos([tmp_path])
    assert found == [tmp_path / "a.jpg"]
    assert problems == [(str(tmp_path / "dead.jpg"), "broken symbolic link")]


def test_photo_extensions():
    assert {".jpg", ".jpeg", ".png", ".webp", ".heic", ".heif"} <= PHOTO_EXTENSIONS
    assert {".tif", ".tiff", ".bmp", ".gif"} <= PHOTO_EXTENSIONS
    assert all(e == e.lower() and e.startswith(".") for e in PHOTO_EXTENSIONS)


# --- real photos shared with the project ----------------------------------------------


def _sample_rows():
    labels = SAMPLES / "labels.csv"
    if not labels.exists():
        return [pytest.param(None, marks=pytest.mark.skip(reason=f"{SAMPLES} absent"))]
    with labels.open(newline="", encoding="utf-8") as f:
        return [
            pytest.param(row, id=Path(row["IMG_ID"]).name) for row in csv.DictReader(f)
        ]


# The label disagrees with what the file says, and the file wins: the GPS tags of this
# HTC photo are ASCII strings written with decimal commas, "52,00000,50,00000,34,01180",
# which goexif (the package shipping the sample) documents as 52deg 50' 34.0118".  The
# label (52.01389, 11.00278) takes the first three comma fields as D, M, S instead.
LABEL_DISAGREEMENTS = {
    "photos/goexif_geodegrees_as_string.jpg": (
        52 + 50 / 60 + 34.0118 / 3600,
        11 + 10 / 60 + 58.2836 / 3600,
    ),
}


@pytest.mark.parametrize("row", _sample_rows())
def test_shared_sample(row):
    path = SAMPLES / row["IMG_ID"]
    if path.suffix.lower() in (".heic", ".heif") and not register_heif():
        pytest.skip("pillow_heif not installed")
    label = (float(row["LAT"]), float(row["LON"]))
    point = read_exif_gps(path)
    assert point is not None, f"{row['IMG_ID']}: no EXIF GPS read ({row['CAMERA']})"
    got = (point.lat, point.lon)
    if row["IMG_ID"] in LABEL_DISAGREEMENTS and got != pytest.approx(label, abs=1e-4):
        assert got == pytest.approx(LABEL_DISAGREEMENTS[row["IMG_ID"]], abs=1e-6)
    else:
        assert got == pytest.approx(label, abs=1e-4), (
            f"{row['IMG_ID']}: {got} vs {label}"
        )

    img, info = read_photo(path, 224)
    assert img.mode == "RGB"
    assert min(img.size) == 224
    assert info.exif_gps == point
    w, h = (int(v) for v in row["SIZE"].split("x"))
    stored = (
        (info.height, info.width)
        if info.orientation >= 5
        else (info.width, info.height)
    )
    # HEIC: the label gives the coded size; a clean-aperture crop may remove a row
    assert abs(stored[0] - w) <= 1
    assert abs(stored[1] - h) <= 1


def test_the_hash_is_of_the_bytes_that_were_decoded(tmp_path, monkeypatch):
    """One read per photo: the evidence hash and the analysed pixels come from the same
    bytes, even if the file changes on disk right after it was read."""
    import hashlib

    import inference.prediction.photos as photos

    path = tmp_path / "p.jpg"
    Image.new("RGB", (320, 240), (200, 30, 30)).save(path, "JPEG")
    original = path.read_bytes()
    reads = []
    real = Path.read_bytes

    def read_then_change(self):
        data = real(self)
        reads.append(self)
        Image.new("RGB", (320, 240), (0, 0, 255)).save(self, "JPEG")  # swapped under us
        return data
    monkeypatch.setattr(Path, "read_bytes", read_then_change)
    image, info = photos.read_photo(path, 64)
    assert len(reads) == 1
    assert info.sha256 == hashlib.sha256(original).hexdigest()
    assert image.getpixel((10, 10))[0] > 150  # the red photo that was hashed, not the blue
