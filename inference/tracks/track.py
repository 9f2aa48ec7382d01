"""Tracks as time-ordered points, and the sphere arithmetic to move along them.

A point's time is seconds since 1970 on one of two clocks: ``UTC`` (GPX times, photos
whose EXIF or the user gives a zone) or ``LOCAL`` (a camera's wall clock of an unknown
zone).  Points of one clock are never compared with the other: photos without a zone
can still be placed between GPS photos without a zone (the same wall clock), never on a
GPX track (UTC) unless the user says the zone.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from functools import cached_property

UTC, LOCAL = "utc", "local"


@dataclass(frozen=True)
class TrackPoint:
    t: float  # seconds since 1970-01-01 on the segment's clock
    lat: float
    lon: float
    name: str = ""  # the photo a point comes from ("" for a GPX point)


@dataclass(frozen=True)
class Segment:
    """Points of one recorded stretch, sorted by time; never bridged to another unless
    the user asks (a logger switched off in a tunnel knows nothing of the tunnel)."""

    points: tuple[TrackPoint, ...]
    source: str  # a GPX file's path, or "photos" / a folder for GPS photos
    clock: str = UTC

    @classmethod
    def of(cls, points, source: str, clock: str = UTC) -> Segment:
        return cls(tuple(sorted(points, key=lambda p: p.t)), source, clock)

    @cached_property
    def times(self) -> list[float]:
        """The points' times, for bisection (kept: a run looks up every photo)."""
        return [p.t for p in self.points]

    @property
    def start(self) -> float:
        return self.points[0].t

    @property
    def end(self) -> float:
        return self.points[-1].t


def bridged(segments) -> list[Segment]:
    """Every source's segments (per clock) joined into one: for a user who knows the gaps
    between them were travelled in a straight line (or does not mind)."""
    groups: dict[tuple[str, str], list[TrackPoint]] = {}
    for s in segments:
        groups.setdefault((s.source, s.clock), []).extend(s.points)
    return [Segment.of(points, source, clock) for (source, clock), points in groups.items()]


def _vector(lat: float, lon: float) -> tuple[float, float, float]:
    p, lam = math.radians(lat), math.radians(lon)
    return math.cos(p) * math.cos(lam), math.cos(p) * math.sin(lam), math.sin(p)


def slerp(a: TrackPoint, b: TrackPoint, f: float) -> tuple[float, float]:
    """The point a fraction ``f`` of the way from ``a`` to ``b`` along the great circle:
    exact on the sphere, right across the antimeridian and near the poles, where a linear
    mean of degrees goes the wrong way round the Earth."""
    va, vb = _vector(a.lat, a.lon), _vector(b.lat, b.lon)
    dot = max(-1.0, min(1.0, sum(x * y for x, y in zip(va, vb))))
    omega = math.acos(dot)
    if omega < 1e-12:
        return a.lat, a.lon
    s = math.sin(omega)
    wa, wb = math.sin((1 - f) * omega) / s, math.sin(f * omega) / s
    x, y, z = (wa * p + wb * q for p, q in zip(va, vb))
    lat = math.degrees(math.atan2(z, math.hypot(x, y)))
    lon = math.degrees(math.atan2(y, x))
    return lat, lon


EARTH_RADIUS_M = 6_371_000.0  # the sphere of geo.haversine_km


def distance_m(a: TrackPoint, b: TrackPoint) -> float:
    p1, p2 = math.radians(a.lat), math.radians(b.lat)
    dp, dl = p2 - p1, math.radians(b.lon - a.lon)
    h = math.sin(dp / 2) ** 2 + math.cos(p1) * math.cos(p2) * math.sin(dl / 2) ** 2
    return 2 * EARTH_RADIUS_M * math.asin(math.sqrt(min(1.0, max(0.0, h))))
