"""Placing photos by time: the rule, the sphere, the clocks and GPX files (no model)."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest

from inference.tracks import (Clock, ClockError, Fix, GpxError, Miss, parse_camera_offset,
                              parse_zone, place_on, read_gpx)
from inference.tracks.clock import seconds
from inference.tracks.track import LOCAL, UTC, Segment, TrackPoint, bridged, distance_m

T0 = seconds(datetime(2024, 6, 1, 12, 0, tzinfo=timezone.utc))


def seg(*points, source="a.gpx", clock=UTC):
    return Segment.of([TrackPoint(T0 + t, lat, lon) for t, lat, lon in points], source, clock)


def metres(fix, lat, lon):
    return distance_m(TrackPoint(0, fix.lat, fix.lon), TrackPoint(0, lat, lon))


def test_interpolation_is_exact_to_the_metre_along_a_meridian_and_a_great_circle():
    # along a meridian a great circle is linear in latitude: a quarter of the time is a
    # quarter of the way, to the metre (0.1 degree = 11.1 km)
    fix = place_on([seg((0, 46.0, 7.0), (400, 46.1, 7.0))], T0 + 100, UTC, 1800)
    assert isinstance(fix, Fix) and fix.kind == "interpolated"
    assert metres(fix, 46.025, 7.0) < 1.0
    # on a diagonal the placed point divides the great circle in the ratio of the times
    a, b = TrackPoint(0, 46.0, 7.0), TrackPoint(0, 46.3, 7.4)
    fix = place_on([seg((0, a.lat, a.lon), (300, b.lat, b.lon))], T0 + 100, UTC, 1800)
    here = TrackPoint(0, fix.lat, fix.lon)
    total = distance_m(a, b)
    assert abs(distance_m(a, here) - total / 3) < 1.0
    assert abs(distance_m(here, b) - 2 * total / 3) < 1.0


def test_a_track_across_the_antimeridian_is_interpolated_across_it_not_around_the_world():
    fix = place_on([seg((0, -17.0, 179.9), (100, -17.0, -179.9))], T0 + 50, UTC, 1800)
    assert metres(fix, -17.0, 180.0) < 50  # the great circle bulges a little poleward
    assert abs(abs(fix.lon) - 180.0) < 1e-6
    # and the radius is about the 21 km leg's half, not half the Earth
    assert 9_000 < fix.radius_m < 12_000


def test_the_gap_rule_interpolates_takes_the_nearest_or_gives_up():
    track = [seg((0, 46.0, 7.0), (4000, 46.2, 7.0))]
    inside = place_on(track, T0 + 100, UTC, 1800)  # the far fix is 3900 s away
    assert inside.kind == "nearest" and (inside.lat, inside.lon) == (46.0, 7.0)
    assert inside.gap_s == 100
    between = place_on(track, T0 + 2000, UTC, 2000)
    assert between.kind == "interpolated" and between.gap_s == 2000
    missed = place_on(track, T0 + 2000, UTC, 1800)
    assert isinstance(missed, Miss) and "33 min" in missed.reason
    after = place_on(track, T0 + 4000 + 1801, UTC, 1800)
    assert isinstance(after, Miss)
    assert place_on(track, T0 + 4000 + 1800, UTC, 1800).kind == "nearest"


def test_the_radius_grows_with_the_gap_and_the_speed():
    slow = seg((0, 46.0, 7.0), (600, 46.0, 7.01))  # 770 m in 10 min: walking
    fast = seg((0, 46.0, 7.0), (600, 46.0, 7.2))  # 15 km in 10 min: a motorway
    near, far = place_on([slow], T0 + 10, UTC), place_on([slow], T0 + 300, UTC)
    assert near.radius_m < far.radius_m
    assert far.radius_m < place_on([fast], T0 + 300, UTC).radius_m
    assert place_on([slow], T0, UTC).radius_m == pytest.approx(10.0)  # at a fix: its error
    # standing still does not claim metres a quarter of an hour later
    still = place_on([seg((0, 46.0, 7.0), (60, 46.0, 7.0))], T0 + 960, UTC)
    assert still.kind == "nearest" and still.radius_m >= 1.5 * 900


def test_segments_are_not_bridged_unless_asked():
    two = [seg((0, 46.0, 7.0), (100, 46.0, 7.01)), seg((700, 46.0, 7.1), (800, 46.0, 7.11))]
    alone = place_on(two, T0 + 600, UTC, 1800)
    assert alone.kind == "nearest" and (alone.lat, alone.lon) == (46.0, 7.1)
    joined = place_on(bridged(two), T0 + 400, UTC, 1800)
    assert joined.kind == "interpolated" and 7.01 < joined.lon < 7.1


def test_of_several_files_the_smallest_gap_wins_and_names_its_file():
    a = seg((0, 46.0, 7.0), (3000, 46.3, 7.0), source="logger.gpx")
    b = seg((1000, 47.0, 8.0), (1100, 47.0, 8.1), source="phone.gpx")
    fix = place_on([a, b], T0 + 1050, UTC, 1800)
    assert fix.source == "phone.gpx" and metres(fix, 47.0, 8.05) < 50


def test_a_clock_never_meets_the_other_clock():
    utc_track = [seg((0, 46.0, 7.0), (100, 46.1, 7.0))]
    assert isinstance(place_on(utc_track, T0 + 50, LOCAL), Miss)
    local = [seg((0, 46.0, 7.0), (100, 46.1, 7.0), clock=LOCAL)]
    assert place_on(local, T0 + 50, LOCAL).kind == "interpolated"


def test_zones_and_camera_offsets():
    taken = datetime(2024, 7, 1, 14, 0, 0)  # the camera's wall clock
    noon_utc = seconds(datetime(2024, 7, 1, 12, 0, tzinfo=timezone.utc))
    assert Clock().instant(taken, timedelta(hours=2)) == (noon_utc, UTC)
    assert Clock().instant(taken, None) == (seconds(taken), LOCAL)
    zurich = Clock(parse_zone("Europe/Zurich"))  # summer time in July: +02:00
    assert zurich.instant(taken, None) == (noon_utc, UTC)
    winter = zurich.instant(datetime(2024, 1, 10, 13, 0), None)[0]
    assert winter == seconds(datetime(2024, 1, 10, 12, 0, tzinfo=timezone.utc))
    assert Clock(parse_zone("-05:30")).instant(taken, None)[0] == noon_utc + 7.5 * 3600
    # the photo's own offset wins over the zone given
    assert Clock(parse_zone("+09:00")).instant(taken, timedelta(hours=2))[0] == noon_utc
    fast = Clock(camera_offset=parse_camera_offset("+00:02:30"))  # camera 150 s fast
    assert fast.instant(taken, timedelta(hours=2))[0] == noon_utc - 150
    assert fast.instant(taken, timedelta(hours=2), correct=False)[0] == noon_utc
    assert parse_camera_offset("-1:05:00") == -timedelta(hours=1, minutes=5)
    assert parse_camera_offset("02:30") == timedelta(minutes=2, seconds=30)
    for bad in ("2 minutes", "+1:75:00", "00:61"):
        with pytest.raises(ClockError, match="±"):
            parse_camera_offset(bad)
    with pytest.raises(ClockError, match="Europe/Zurich"):
        parse_zone("Mars/Olympus")


GPX11 = """<?xml version="1.0" encoding="UTF-8"?>
<gpx version="1.1" creator="test" xmlns="http://www.topografix.com/GPX/1/1">
 <wpt lat="46.5" lon="7.5"><time>2024-06-01T13:00:00Z</time><name>summit</name></wpt>
 <wpt lat="46.6" lon="7.6"><name>no time</name></wpt>
 <trk><trkseg>
  <trkpt lat="46.0" lon="7.0"><ele>500</ele><time>2024-06-01T12:00:00Z</time></trkpt>
  <trkpt lat="46.1" lon="7.0"><time>2024-06-01T12:10:00.250Z</time></trkpt>
  <trkpt lat="91" lon="7.0"><time>2024-06-01T12:11:00Z</time></trkpt>
 </trkseg><trkseg>
  <trkpt lat="46.2" lon="7.0"><time>2024-06-01T14:20:00+02:00</time></trkpt>
 </trkseg></trk>
 <rte><rtept lat="45.0" lon="6.0"><time>2024-06-01T10:00:00Z</time></rtept></rte>
</gpx>"""

GPX10 = """<?xml version="1.0"?>
<gpx version="1.0" creator="old logger" xmlns="http://www.topografix.com/GPX/1/0">
 <trk><trkseg>
  <trkpt lat="-33.9" lon="151.2"><time>2024-06-01T00:00:00Z</time></trkpt>
  <trkpt lat="-33.8" lon="151.2"><time>2024-06-01T00:05:00</time></trkpt>
 </trkseg></trk></gpx>"""


def test_gpx_1_1_tracks_segments_routes_and_timed_waypoints(tmp_path):
    path = tmp_path / "walk.gpx"
    path.write_text(GPX11)
    gpx = read_gpx(path)
    assert len(gpx.sha256) == 64 and gpx.path == str(path)
    counts = sorted(len(s.points) for s in gpx.segments)
    assert counts == [1, 1, 1, 2]  # trkseg 1 (the lat 91 point dropped), trkseg 2, rte, wpt
    first = max(gpx.segments, key=lambda s: len(s.points))
    assert first.points[1].t == T0 + 600.25
    assert any(s.points[0].t == T0 + 1200 for s in gpx.segments)  # 14:20+02:00 = 12:20Z
    assert gpx.time_range == (T0 - 7200, T0 + 3600)


def test_gpx_1_0_and_times_without_a_zone_are_utc(tmp_path):
    path = tmp_path / "old.gpx"
    path.write_text(GPX10)
    (segment,) = read_gpx(path).segments
    assert segment.end - segment.start == 300


@pytest.mark.parametrize("text, why", [
    ("<kml><Document/></kml>", "root element is <kml>"),
    ("just text, no XML", "not XML"),
    ('<gpx version="1.1"><trk><trkseg><trkpt lat="1" lon="2"/></trkseg></trk></gpx>',
     "no track, route or waypoint point with a time"),
    ('<?xml version="1.0"?><!DOCTYPE gpx [<!ENTITY a "aaaa">]><gpx>&a;</gpx>',
     "declares a document type"),
])
def test_a_file_that_is_not_a_usable_gpx_is_one_line_naming_it(tmp_path, text, why):
    path = tmp_path / "bad.gpx"
    path.write_text(text)
    with pytest.raises(GpxError) as err:
        read_gpx(path)
    assert str(path) in str(err.value) and why in str(err.value)
    assert "\n" not in str(err.value)


def test_an_xmp_sidecar_is_well_formed_xml_with_the_exif_gps_form():
    import xml.etree.ElementTree as ET  # nosec B405 - our own output

    from inference.outputs.xmp import sidecar_text, xmp_coordinate

    assert xmp_coordinate(47.375, "N", "S") == "47,22.500000N"
    assert xmp_coordinate(-0.5, "E", "W") == "0,30.000000W"
    text = sidecar_text(-33.9, 151.2, 120.4, 'Tom & "Jerry" <trip>.gpx', 600, "ab" * 32)
    desc = ET.fromstring(text.split("?>", 1)[1].rsplit("<?xpacket", 1)[0]).find(
        ".//{http://www.w3.org/1999/02/22-rdf-syntax-ns#}Description")
    attrs = {k.rpartition("}")[2]: v for k, v in desc.attrib.items()}
    assert attrs["GPSLatitude"] == "33,54.000000S" and attrs["GPSLongitude"] == "151,12.000000E"
    assert attrs["trackSource"] == 'Tom & "Jerry" <trip>.gpx'
    assert attrs["GPSHPositioningError"] == "120"
