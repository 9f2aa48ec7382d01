"""GPX 1.0 and 1.1 files read into segments of timed points.

Tracks (each ``trkseg`` a segment), routes (each ``rte``, where its points carry times)
and waypoints with times (together one segment, like GPS photos: fixes in time order)
are read; points without a time or with an impossible position are left out.  GPX
times are UTC (the GPX schema says so); a time with an explicit offset is honoured.

The file is a user's, perhaps handed on by someone else: a document type declaration
(the door to entity expansion and external entities) is refused before the parser sees
the bytes, and a file larger than any real track is refused unread.
"""

from __future__ import annotations

import hashlib
import os
import re
# a document type declaration is refused before parsing (read_gpx): no entity exists
import xml.etree.ElementTree as ET  # nosec B405
from dataclasses import dataclass
from datetime import datetime, timezone

from .clock import seconds
from .track import UTC, Segment, TrackPoint

MAX_GPX_BYTES = 256 << 20  # a year of 1 Hz logging is ~3 GB unzipped; days are MBs
_DECLARATION = re.compile(rb"<!\s*(DOCTYPE|ENTITY)", re.IGNORECASE)


class GpxError(ValueError):
    """A file that gives no usable track; the message names the file."""


@dataclass(frozen=True)
class GpxFile:
    path: str
    sha256: str
    segments: tuple[Segment, ...]

    @property
    def points(self) -> int:
        return sum(len(s.points) for s in self.segments)

    @property
    def time_range(self) -> tuple[float, float]:
        return min(s.start for s in self.segments), max(s.end for s in self.segments)


def read_gpx(path) -> GpxFile:
    """The timed segments of a GPX file; GpxError (naming the file) when it is not GPX
    or holds no point with a time."""
    path = os.fspath(path)
    try:
        if os.path.getsize(path) > MAX_GPX_BYTES:
            raise GpxError(f"{path}: larger than {MAX_GPX_BYTES >> 20} MB, not read")
        with open(path, "rb") as fh:
            data = fh.read()
    except OSError as exc:
        raise GpxError(f"{path}: cannot read it: {exc.strerror or exc}") from None
    if _DECLARATION.search(data):
        raise GpxError(f"{path}: not read: it declares a document type or entities, which "
                       "no GPX needs")
    try:
        root = ET.fromstring(data)  # nosec B314
    except ET.ParseError as exc:
        raise GpxError(f"{path}: not a GPX file (not XML: {exc})") from None
    if _local(root.tag) != "gpx":
        raise GpxError(f"{path}: not a GPX file (its root element is <{_local(root.tag)}>)")
    segments = []
    for trk in _children(root, "trk"):
        for seg in _children(trk, "trkseg"):
            segments.append(_points(seg, "trkpt"))
    for rte in _children(root, "rte"):
        segments.append(_points(rte, "rtept"))
    segments.append(_points(root, "wpt"))
    segments = tuple(Segment.of(s, path, UTC) for s in segments if s)
    if not segments:
        raise GpxError(f"{path}: no track, route or waypoint point with a time")
    return GpxFile(path, hashlib.sha256(data).hexdigest(), segments)


def _local(tag: str) -> str:
    """"{http://www.topografix.com/GPX/1/1}trkpt" -> "trkpt" (1.0 and 1.1 alike)."""
    return tag.rpartition("}")[2]


def _children(node, name: str):
    return [c for c in node if _local(c.tag) == name]


def _points(node, name: str) -> list[TrackPoint]:
    out = []
    for pt in _children(node, name):
        when = next((c.text for c in pt if _local(c.tag) == "time"), None)
        t = parse_gpx_time(when)
        try:
            lat, lon = float(pt.get("lat")), float(pt.get("lon"))
        except (TypeError, ValueError):
            continue
        if t is None or not (-90 <= lat <= 90 and -180 <= lon <= 180):
            continue
        out.append(TrackPoint(t, lat, lon))
    return out


def parse_gpx_time(text) -> float | None:
    """ISO 8601 as GPX writes it ("2024-06-01T12:00:00Z", fractions, an offset) ->
    seconds since 1970 UTC; a time without a zone is UTC (the GPX schema); None when
    unreadable."""
    raw = (text or "").strip()
    if not raw:
        return None
    raw = raw[:-1] + "+00:00" if raw[-1] in "Zz" else raw
    raw = re.sub(r"(\.\d{1,6})\d*", r"\1", raw)  # fromisoformat takes microseconds at most
    try:
        moment = datetime.fromisoformat(raw)
    except ValueError:
        return None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=timezone.utc)
    return seconds(moment)
