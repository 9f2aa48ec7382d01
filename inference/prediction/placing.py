"""Placing a run's photos by time: the photo side of ``inference.tracks``.

A track from the run's own GPS photos needs their times and positions before any
prediction is placed, so a ``Placer`` first reads the EXIF of every photo of the run
(headers only: milliseconds a photo, nothing decoded) and of the folders used only as a
track, reads the GPX files, and says in one line per file what it could not use.
Then ``place`` turns each Prediction into the placed one:

- the photo has EXIF GPS: its own position (method "exif");
- its time is on a track within the maximum gap: the track's position ("track");
- otherwise the model's answer ("model"), with the reason in the note.

Only ``DateTimeOriginal`` is a photo's time here: ``DateTime`` is when a program last
saved the file, and a photo edited a year later would be placed where its owner was
then.  Here, beside photo_time.py and photos.py, because it reads photo files.
"""

from __future__ import annotations

import dataclasses
import os
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from typing import Optional

from ..geo import haversine_km
from ..records import GeoPoint, Placement, Prediction
from ..tracks import (DEFAULT_MAX_GAP_S, Clock, GpxError, Miss, parse_camera_offset,
                      parse_zone, place_on, read_gpx)
from ..tracks.track import LOCAL, UTC, Segment, TrackPoint, bridged
from .photo_time import PhotoTime, read_photo_time
from .photos import find_photos, read_exif_gps

RUN_PHOTOS = "the run's GPS photos"


@dataclass(frozen=True)
class TrackOptions:
    """What the user asked for (the command line, the dock and Processing alike)."""

    gpx: tuple[str, ...] = ()
    photos_as_track: bool = False  # the run's own photos with GPS and a time
    track_photos: tuple[str, ...] = ()  # folders of GPS photos used only as a track
    camera_offset: str = ""  # ±[HH:]MM:SS, camera time minus true time
    photo_tz: str = ""  # the zone of photo times without their own offset
    max_gap_s: float = DEFAULT_MAX_GAP_S
    bridge_segments: bool = False

    @property
    def wanted(self) -> bool:
        return bool(self.gpx or self.photos_as_track or self.track_photos)

    def clock(self) -> Clock:
        """The Clock of these options; ClockError (a ValueError) with how to write it."""
        offset = parse_camera_offset(self.camera_offset) if self.camera_offset else \
            timedelta(0)
        zone = parse_zone(self.photo_tz) if self.photo_tz else None
        return Clock(zone, offset, self.photo_tz)


@dataclass(frozen=True)
class PhotoStamp:
    """What the first pass knows of a photo: its EXIF time and GPS (either may be None)."""

    path: str
    time: Optional[PhotoTime]
    gps: Optional[GeoPoint]


def read_stamp(path) -> PhotoStamp:
    time = read_photo_time(path)
    if time is not None and time.source != "DateTimeOriginal":
        time = None  # see the module's docstring
    return PhotoStamp(os.path.abspath(path), time, read_exif_gps(path))


@dataclass
class Placer:
    options: TrackOptions
    clock: Clock
    segments: list[Segment] = field(default_factory=list)
    gpx_files: list = field(default_factory=list)  # tracks.gpx.GpxFile, the usable ones
    warnings: list[str] = field(default_factory=list)
    stamps: dict[str, PhotoStamp] = field(default_factory=dict)
    track_photo_count: int = 0

    @classmethod
    def build(cls, options: TrackOptions, inputs) -> Placer:
        """Read the run's photos' EXIF, the GPX files and the track photos.  A GPX that
        cannot be used is a warning, never an error; a bad zone or offset raises
        ClockError (the caller refuses the run before it starts)."""
        placer = cls(options, options.clock())
        paths, _ = find_photos(inputs)
        placer.stamps = {s.path: s for s in map(read_stamp, paths)}
        photo_points = []
        if options.photos_as_track:
            photo_points.append((RUN_PHOTOS, list(placer.stamps.values())))
        for folder in options.track_photos:
            found, _ = find_photos([folder])
            photo_points.append((os.path.abspath(folder), [read_stamp(p) for p in found]))
        for source, stamps in photo_points:
            placer._add_photo_track(source, stamps)
        for path in options.gpx:
            placer._add_gpx(os.path.abspath(path))
        if options.bridge_segments:
            placer.segments = bridged(placer.segments)
        if not placer.segments:
            placer.warnings.append("no usable track: every photo without GPS keeps the "
                                   "model's answer")
        return placer

    def _add_photo_track(self, source: str, stamps) -> None:
        by_clock: dict[str, list[TrackPoint]] = {}
        for s in stamps:
            if s.gps is None or s.time is None:
                continue
            t, clk = self.clock.instant(s.time.local, s.time.offset, correct=False)
            by_clock.setdefault(clk, []).append(
                TrackPoint(t, s.gps.lat, s.gps.lon, os.path.basename(s.path)))
        for clk, points in by_clock.items():
            self.segments.append(Segment.of(points, source, clk))
            self.track_photo_count += len(points)
        if not by_clock:
            self.warnings.append(f"{source}: no photo with both GPS and a time "
                                 "(DateTimeOriginal): nothing to use as a track")

    def _photo_range(self) -> Optional[tuple[float, float]]:
        """The UTC time range of the run's photos that a track would place."""
        times = [self._instant(s) for s in self.stamps.values()
                 if s.gps is None and s.time is not None]
        utc = [t for t, clk in times if clk == UTC]
        return (min(utc), max(utc)) if utc else None

    def _instant(self, stamp: PhotoStamp) -> tuple[float, str]:
        return self.clock.instant(stamp.time.local, stamp.time.offset)

    def _add_gpx(self, path: str) -> None:
        photos = self._photo_range()
        seen = ("the photos without GPS: " + _range(photos)) if photos else (
            "no photo without GPS has a time with a zone (give --photo-tz)")
        try:
            gpx = read_gpx(path)
        except GpxError as exc:
            self.warnings.append(f"{exc}; {seen}; the model answers instead")
            return
        start, end = gpx.time_range
        gap = self.options.max_gap_s
        if photos is None or photos[1] < start - gap or photos[0] > end + gap:
            self.warnings.append(f"{path}: its times ({_range((start, end))}) do not "
                                 f"overlap {seen}; the model answers instead")
        self.gpx_files.append(gpx)
        self.segments.extend(gpx.segments)

    # ------------------------------------------------------------------ placing

    def stamp(self, path: str) -> PhotoStamp:
        key = os.path.abspath(path)
        if key not in self.stamps:  # a photo the first pass did not see
            self.stamps[key] = read_stamp(key)
        return self.stamps[key]

    def decide(self, path: str,
               exif_gps: Optional[GeoPoint]) -> tuple[Placement, Optional[GeoPoint]]:
        """How one photo is placed and its point (None: the model's), without the
        model's point (``place`` adds it)."""
        if exif_gps is not None:
            return Placement("exif", "EXIF GPS", 0.0, None,
                             note="the photo's own GPS position"), exif_gps
        stamp = self.stamp(path)
        if stamp.time is None:
            return Placement("model", note="no time in its EXIF (DateTimeOriginal): "
                             "placed by the model"), None
        t, clk = self._instant(stamp)
        fix = place_on(self.segments, t, clk, self.options.max_gap_s)
        if isinstance(fix, Miss):
            why = fix.reason
            if clk == LOCAL and any(s.clock == UTC for s in self.segments):
                why = ("its time has no zone (no OffsetTimeOriginal) and the track is in "
                       "UTC: give the photos' zone (--photo-tz)")
            return Placement("model", note=f"{why}: placed by the model"), None
        if fix.kind == "interpolated":
            note = f"between two track points, {fix.gap_s:.0f} s from the farther one"
        else:
            note = f"at the nearest track point, {fix.gap_s:.0f} s away"
        return (Placement("track", fix.source_text, float(fix.gap_s), float(fix.radius_m),
                          note=note), GeoPoint(fix.lat, fix.lon))

    def place(self, pred: Prediction) -> Prediction:
        """The prediction with its point placed (``decide``) and the model's kept."""
        how, point = self.decide(pred.path, pred.exif_gps)
        if point is None:
            return dataclasses.replace(pred, placement=how)
        model = GeoPoint(pred.lat, pred.lon)
        how = dataclasses.replace(
            how, model=model,
            model_distance_km=float(haversine_km(point.lat, point.lon, model.lat, model.lon)))
        return dataclasses.replace(pred, lat=point.lat, lon=point.lon, placement=how)

    def preview(self) -> dict[str, int]:
        """How the run's photos would be placed: counts per method (the dock's preview)."""
        counts = {"exif": 0, "track": 0, "model": 0}
        for s in self.stamps.values():
            counts[self.decide(s.path, s.gps)[0].method] += 1
        return counts

    def facts(self) -> list[tuple[str, str]]:
        """What the run records of its track (``run_info``, the case report)."""
        out = [("track_max_gap_s", f"{self.options.max_gap_s:g}"),
               ("track_bridge_segments", str(int(self.options.bridge_segments)))]
        out += self.clock.describe()
        for i, g in enumerate(self.gpx_files, start=1):
            start, end = g.time_range
            out += [(f"track_gpx_{i}", g.path), (f"track_gpx_{i}_sha256", g.sha256),
                    (f"track_gpx_{i}_points", str(g.points)),
                    (f"track_gpx_{i}_times", _range((start, end)))]
        sources = [s for s in ([RUN_PHOTOS] if self.options.photos_as_track else [])]
        sources += [os.path.abspath(f) for f in self.options.track_photos]
        for i, s in enumerate(sources, start=1):
            out.append((f"track_photos_{i}", s))
        if sources:
            out.append(("track_photo_points", str(self.track_photo_count)))
        out += [(f"track_warning_{i}", w) for i, w in enumerate(self.warnings, start=1)]
        return out


def _range(r: tuple[float, float]) -> str:
    def iso(t):
        return datetime.fromtimestamp(t, timezone.utc).strftime("%Y-%m-%d %H:%M:%S")
    return f"{iso(r[0])} .. {iso(r[1])} UTC"
