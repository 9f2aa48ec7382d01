"""The placement rule: where a track puts a photo taken at a given time, and how sure.

Inside a segment, between the two fixes around the photo's time, when both are within
the maximum gap: the point that fraction of the way along the great circle (linear in
time, exact on the sphere).  Otherwise the nearest fix when it is within the gap.
Otherwise nothing: the model's answer stands.  Segments are not bridged (see
``track.bridged``); across several segments and files the candidate with the smallest
gap wins, an interpolation before a nearest fix at the same gap.

DEFAULT_MAX_GAP_S is 1800 s, the default of ``exiftool -geotag`` (GeoMaxIntSecs and
GeoMaxExtSecs): long enough for a phone that records a fix with each photo on a walk,
short enough that a drive between two fixes is not drawn as a straight line over
hours.  On the measured travel collection photos within an hour of a GPS photo were
placed within 25 km in 27 of 30 cases, so ``--max-gap 3600`` is reasonable for sparse
GPS photos; the radius grows with the gap either way.

The radius (metres) says how far the photo may be from the placed point: a GPS fix's
own error (GPS_FLOOR_M), plus the way the traveller could have gone in the time to the
nearer fix at the speed the neighbouring fixes imply (at least walking pace, so that a
track that stood still does not claim metres an hour later).  Between fixes a
traveller who waited at one end and then went at that speed is that far from the
interpolated point; that is the bound.
"""

from __future__ import annotations

import bisect
from dataclasses import dataclass

from .track import Segment, TrackPoint, distance_m, slerp

DEFAULT_MAX_GAP_S = 1800.0
GPS_FLOOR_M = 10.0  # a consumer GPS fix in the open
WALKING_M_S = 1.5


@dataclass(frozen=True)
class Fix:
    """A photo placed on a track."""

    lat: float
    lon: float
    gap_s: float  # seconds to the farther of the fixes used (<= the maximum gap)
    radius_m: float
    kind: str  # "interpolated" or "nearest"
    source: str  # the GPX file, or the GPS photos' folder / "photos"
    names: tuple[str, ...] = ()  # the photos whose fixes were used (photo tracks)

    @property
    def source_text(self) -> str:
        """What the record names as the track: the file, or the photos used."""
        return " + ".join(self.names) if self.names else self.source


@dataclass(frozen=True)
class Miss:
    """No placement; ``reason`` says why in a line a person reads."""

    reason: str


def place_on(segments, t: float, clock: str, max_gap_s: float = DEFAULT_MAX_GAP_S):
    """A ``Fix`` for a photo taken at ``t`` (seconds on ``clock``), or a ``Miss``."""
    usable = [s for s in segments if s.clock == clock and s.points]
    if not usable:
        return Miss("no track point on the photo's clock" if segments else "no track")
    best, nearest_dt = None, None
    for seg in usable:
        for cand, dt in _candidates(seg, t, max_gap_s):
            nearest_dt = dt if nearest_dt is None else min(nearest_dt, dt)
            if cand is not None and (best is None or (cand.gap_s, cand.kind != "interpolated")
                                     < (best.gap_s, best.kind != "interpolated")):
                best = cand
    if best is not None:
        return best
    return Miss(f"the nearest track point is {_duration(nearest_dt)} from the photo's time "
                f"(maximum gap {_duration(max_gap_s)})")


def _candidates(seg: Segment, t: float, gap: float):
    pts = seg.points
    i = bisect.bisect_left(seg.times, t)
    around = [j for j in (i - 1, i) if 0 <= j < len(pts)]
    if i < len(pts) and pts[i].t == t:
        around = [i, i]  # exactly at a fix
    if len(around) == 2 and all(abs(t - pts[j].t) <= gap for j in around):
        a, b = pts[around[0]], pts[around[1]]
        yield _between(seg, a, b, t), max(t - a.t, b.t - t)
        return
    for j in around:
        dt = abs(t - pts[j].t)
        yield (_nearest(seg, j, t) if dt <= gap else None), dt


def _between(seg: Segment, a: TrackPoint, b: TrackPoint, t: float) -> Fix:
    span = b.t - a.t
    f = 0.0 if span <= 0 else (t - a.t) / span
    lat, lon = slerp(a, b, f)
    speed = distance_m(a, b) / span if span > 0 else 0.0
    radius = GPS_FLOOR_M + max(speed, WALKING_M_S) * min(t - a.t, b.t - t)
    names = tuple(dict.fromkeys(n for n in (a.name, b.name) if n))
    return Fix(lat, lon, max(t - a.t, b.t - t), radius, "interpolated", seg.source, names)


def _nearest(seg: Segment, i: int, t: float) -> Fix:
    pts = seg.points
    n = pts[i]
    legs = [(pts[j], pts[j + 1]) for j in (i - 1, i) if 0 <= j and j + 1 < len(pts)]
    speed = max((distance_m(a, b) / (b.t - a.t) for a, b in legs if b.t > a.t), default=0.0)
    dt = abs(t - n.t)
    radius = GPS_FLOOR_M + max(speed, WALKING_M_S) * dt
    return Fix(n.lat, n.lon, dt, radius, "nearest", seg.source, (n.name,) if n.name else ())


def _duration(s: float | None) -> str:
    if s is None:
        return "unknown"
    s = int(round(s))
    if s < 120:
        return f"{s} s"
    if s < 7200:
        return f"{s // 60} min"
    if s < 172800:
        return f"{s // 3600} h {s % 3600 // 60} min"
    return f"{s // 86400} days"
