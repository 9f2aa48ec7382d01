"""A photo collection placed by time, end to end through the command line: the issue's
"done" run (half the photos with GPS, half without, written with real times)."""

from __future__ import annotations

import hashlib
import re
from pathlib import Path

import pytest
from osgeo import ogr

from inference.__main__ import main
from inference.prediction.photos import read_exif_gps
from inference.tracks.track import TrackPoint, distance_m
from tests.photo_factory import make_jpeg

# a walk along the lake: one photo every 10 minutes, phone time +02:00 (12:00Z onwards)
STEPS = 8


def truth(i):
    return 46.0 + 0.01 * i, 7.0 + 0.02 * i


def make_collection(folder: Path) -> Path:
    """Photos IMG_0..7 on the walk, the even ones with GPS; late.jpg five hours later and
    notime.jpg without a time, both without GPS."""
    folder.mkdir()
    for i in range(STEPS):
        make_jpeg(folder / f"IMG_{i}.jpg", size=(96, 72), color=(20 * i, 90, 160),
                  gps=truth(i) if i % 2 == 0 else None,
                  taken=f"2024:06:01 {14 + i // 6}:{10 * i % 60:02d}:00", offset="+02:00")
    make_jpeg(folder / "late.jpg", size=(96, 72), taken="2024:06:01 21:00:00", offset="+02:00")
    make_jpeg(folder / "notime.jpg", size=(96, 72), color=(200, 10, 10))
    return folder


@pytest.fixture
def collection(tmp_path):
    return make_collection(tmp_path / "trip")


def read_predictions(gpkg):
    ds = ogr.Open(str(gpkg))
    layer = ds.GetLayerByName("predictions")
    rows = {}
    for f in layer:
        values = {layer.GetLayerDefn().GetFieldDefn(i).GetName(): f.GetField(i)
                  for i in range(f.GetFieldCount())}
        g = f.GetGeometryRef()
        values["x"], values["y"] = g.GetX(), g.GetY()
        rows[values["file_name"]] = values
    info = {f.GetField("key"): f.GetField("value") for f in ds.GetLayerByName("run_info")}
    return rows, info


def digests(folder):
    return {p.name: hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(Path(folder).iterdir())}


def metres(row, lat, lon):
    return distance_m(TrackPoint(0, row["lat"], row["lon"]), TrackPoint(0, lat, lon))


def write_gpx(path, points):
    pts = "\n".join(f'<trkpt lat="{lat!r}" lon="{lon!r}"><time>{t}</time></trkpt>'
                    for lat, lon, t in points)
    path.write_text('<?xml version="1.0"?>\n<gpx version="1.1" creator="test" '
                    'xmlns="http://www.topografix.com/GPX/1/1"><trk><trkseg>\n'
                    f"{pts}\n</trkseg></trk></gpx>\n")
    return path


def test_a_half_gps_collection_is_placed_by_time_and_a_gpx_gives_the_same(
        tiny_bundle_dir, collection, tmp_path, capsys):
    before = digests(collection)
    sidecars = tmp_path / "xmp"
    sidecars.mkdir()
    out = tmp_path / "run.gpkg"
    assert main(["predict", str(collection), "--model", str(tiny_bundle_dir), "--out",
                 str(out), "--photos-as-track", "--max-gap", "3600", "--xmp-sidecars",
                 str(sidecars), "--quiet"]) == 0
    rows, info = read_predictions(out)
    for i in range(STEPS):
        row = rows[f"IMG_{i}.jpg"]
        lat, lon = truth(i)
        assert (row["x"], row["y"]) == (row["lon"], row["lat"])  # the point is the placed one
        assert row["model_lat"] is not None and row["model_distance_km"] > 100
        if i % 2 == 0:
            assert row["method"] == "exif" and metres(row, lat, lon) < 1
        else:
            assert row["method"] == "track", row["placement_note"]
            assert row["track_source"] == (f"IMG_{i - 1}.jpg + IMG_{i + 1}.jpg"
                                           if i + 1 < STEPS else f"IMG_{i - 1}.jpg")
            assert row["track_gap_s"] == 600
            # between two fixes: the great circle vs. the straight line in degrees
            assert metres(row, lat, lon) < (20 if i + 1 < STEPS else row["radius_m"])
            assert row["radius_m"] >= 10
    late, notime = rows["late.jpg"], rows["notime.jpg"]
    assert late["method"] == notime["method"] == "model"
    assert "maximum gap" in late["placement_note"]
    assert "no time in its EXIF" in notime["placement_note"]
    assert (late["lat"], late["lon"]) == (late["model_lat"], late["model_lon"])
    assert late["model_distance_km"] is None and late["radius_m"] is None
    assert info["track_photos_1"] == "the run's GPS photos" and info["track_max_gap_s"] == "3600"
    # originals byte-identical; a sidecar for each photo the track placed, and no other
    assert digests(collection) == before
    written = sorted(p.name for p in sidecars.iterdir())
    assert written == [f"IMG_{i}.jpg.xmp" for i in range(1, STEPS, 2)]
    text = (sidecars / "IMG_3.jpg.xmp").read_text(encoding="utf-8")
    lat_text = re.search(r'exif:GPSLatitude="(\d+),([\d.]+)N"', text)
    lat = int(lat_text.group(1)) + float(lat_text.group(2)) / 60
    assert abs(lat - rows["IMG_3.jpg"]["lat"]) < 1e-7

    # a GPX of the same GPS photos gives the same placements
    fixes = []
    for i in range(0, STEPS, 2):
        gps = read_exif_gps(collection / f"IMG_{i}.jpg")
        minute = 10 * i
        fixes.append((gps.lat, gps.lon, f"2024-06-01T{12 + minute // 60:02d}:{minute % 60:02d}"
                      ":00Z"))
    gpx = write_gpx(tmp_path / "walk.gpx", fixes)
    out2 = tmp_path / "gpx.gpkg"
    capsys.readouterr()
    assert main(["predict", str(collection), "--model", str(tiny_bundle_dir), "--out",
                 str(out2), "--gpx", str(gpx), "--max-gap", "3600", "--quiet"]) == 0
    rows2, info2 = read_predictions(out2)
    for name, row in rows.items():
        assert rows2[name]["method"] == row["method"], name
        assert rows2[name]["lat"] == pytest.approx(row["lat"], abs=1e-9), name
        assert rows2[name]["lon"] == pytest.approx(row["lon"], abs=1e-9), name
    assert rows2["IMG_3.jpg"]["track_source"] == str(gpx)
    assert info2["track_gpx_1"] == str(gpx)
    assert info2["track_gpx_1_sha256"] == hashlib.sha256(gpx.read_bytes()).hexdigest()
    assert "placed by track" in capsys.readouterr().out


def test_a_gpx_that_does_not_overlap_is_one_line_and_the_model_answers(
        tiny_bundle_dir, collection, tmp_path, capsys):
    gpx = write_gpx(tmp_path / "other_trip.gpx", [(10.0, 10.0, "2020-01-01T10:00:00Z"),
                                                   (10.1, 10.0, "2020-01-01T11:00:00Z")])
    notgpx = tmp_path / "notes.gpx"
    notgpx.write_text("shopping list")
    out = tmp_path / "run.gpkg"
    assert main(["predict", str(collection), "--model", str(tiny_bundle_dir), "--out",
                 str(out), "--gpx", str(gpx), "--gpx", str(notgpx), "--quiet"]) == 0
    err = capsys.readouterr().err
    (line,) = [x for x in err.splitlines() if str(gpx) in x]
    assert "2020-01-01 10:00:00 .. 2020-01-01 11:00:00 UTC" in line
    assert "2024-06-01 12:10:00 .. 2024-06-01 19:00:00 UTC" in line
    (bad,) = [x for x in err.splitlines() if str(notgpx) in x]
    assert "not a GPX file" in bad and "2024-06-01 12:10:00" in bad
    rows, _ = read_predictions(out)
    assert {r["method"] for n, r in rows.items() if n != "IMG_0.jpg" and
            read_exif_gps(collection / n) is None} == {"model"}


def test_a_zone_or_offset_that_cannot_be_read_stops_before_the_model(tmp_path, capsys):
    out = tmp_path / "run.gpkg"
    assert main(["predict", str(tmp_path), "--model", str(tmp_path / "no-model"), "--out",
                 str(out), "--photos-as-track", "--camera-offset", "two minutes"]) == 2
    assert "camera offset" in capsys.readouterr().err and not out.exists()
