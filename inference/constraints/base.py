"""The constraint records: what a person knows about where a photo was taken.

Frozen dataclasses, so a constraint set can cross from the dock to a worker thread,
be written with the run and be compared.  Every input a person can get wrong is
checked here and refused with a ``ConstraintError`` that says what to change; the
callers (command line, Processing, dock) only turn text into numbers.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import TYPE_CHECKING, Optional

if TYPE_CHECKING:  # shapely is only needed once an area is read (constraints/areas.py)
    from shapely.geometry.base import BaseGeometry

MAX_TOLERANCE_DEG = 45.0


class ConstraintError(ValueError):
    """A constraint that cannot be used as given; the message says what to change."""


@dataclass(frozen=True)
class AreaConstraint:
    """Keep only (``include``) or rule out (not ``include``) a region.

    ``geometry`` is a shapely Polygon or MultiPolygon in lon/lat WGS 84; ``label`` is
    what a person reads ("countries: CH, AT"); ``source`` says where it came from
    ("countries", "file", "layer", "rectangle", "wkt"); ``details`` are extra
    (key, value) facts written with the run (the country codes, the file path)."""

    geometry: BaseGeometry
    include: bool = True
    label: str = "area"
    source: str = "wkt"
    details: tuple[tuple[str, str], ...] = ()

    def __post_init__(self):
        if self.geometry is None or self.geometry.is_empty:
            raise ConstraintError(f"{self.label}: the area is empty (no polygon to "
                                  "keep or exclude)")
        if self.geometry.geom_type not in ("Polygon", "MultiPolygon"):
            raise ConstraintError(f"{self.label}: an area must be a polygon, not a "
                                  f"{self.geometry.geom_type}")

    @property
    def mode(self) -> str:
        return "include" if self.include else "exclude"

    def parameters(self) -> dict:
        return {"source": self.source, "mode": self.mode, **dict(self.details)}

    def describe(self) -> str:
        return f"{'keep only' if self.include else 'exclude'} {self.label}"


@dataclass(frozen=True)
class SunConstraint:
    """The sun stood ``elevation_deg`` (+- ``tolerance_deg``) above the horizon at
    ``time_utc``: the photo was taken in the band of places where that was true.

    Built from an elevation read off the photo, or from an object's height and the
    length of its shadow on level ground (same unit): elevation = atan(height/length)."""

    time_utc: datetime
    elevation_deg: float
    tolerance_deg: float = 2.0
    object_height: Optional[float] = None
    shadow_length: Optional[float] = None

    def __post_init__(self):
        if not isinstance(self.time_utc, datetime) or self.time_utc.tzinfo is None:
            raise ConstraintError("the photo's time needs a time zone (a UTC time such as "
                                  "2024-06-01T14:10:00Z, or a local time with its offset "
                                  "such as 2024-06-01T16:10:00+02:00)")
        object.__setattr__(self, "time_utc", self.time_utc.astimezone(timezone.utc))
        e, tol = _number(self.elevation_deg, "sun elevation"), \
            _number(self.tolerance_deg, "sun tolerance")
        if not 0.0 < e <= 90.0:
            raise ConstraintError(f"sun elevation must be above 0 and at most 90 degrees, "
                                  f"got {e:g} (a sun at or below the horizon casts no shadow)")
        if not 0.0 < tol <= MAX_TOLERANCE_DEG:
            raise ConstraintError(f"sun tolerance must be above 0 and at most "
                                  f"{MAX_TOLERANCE_DEG:g} degrees, got {tol:g}")
        object.__setattr__(self, "elevation_deg", e)
        object.__setattr__(self, "tolerance_deg", tol)

    @classmethod
    def from_elevation(cls, time, elevation_deg: float,
                       tolerance_deg: float = 2.0) -> SunConstraint:
        return cls(_as_time(time), elevation_deg, tolerance_deg)

    @classmethod
    def from_shadow(cls, time, object_height: float, shadow_length: float,
                    tolerance_deg: float = 2.0) -> SunConstraint:
        h = _number(object_height, "object height")
        s = _number(shadow_length, "shadow length")
        if h <= 0:
            raise ConstraintError(f"the object's height must be above 0, got {h:g}")
        if s <= 0:
            raise ConstraintError(f"the shadow's length must be above 0, got {s:g} (measure "
                                  "it on level ground, in the same unit as the height)")
        return cls(_as_time(time), shadow_elevation_deg(h, s), tolerance_deg, h, s)

    def parameters(self) -> dict:
        out = {"time_utc": self.time_utc.strftime("%Y-%m-%dT%H:%M:%SZ"),
               "elevation_deg": round(self.elevation_deg, 4),
               "tolerance_deg": self.tolerance_deg}
        if self.object_height is not None:
            out.update(object_height=self.object_height, shadow_length=self.shadow_length)
        return out

    @property
    def label(self) -> str:
        when = self.time_utc.strftime("%Y-%m-%d %H:%M UTC")
        text = f"sun {self.elevation_deg:.1f}° ± {self.tolerance_deg:g}° at {when}"
        if self.object_height is not None:
            text += f" (shadow {self.shadow_length:g} of an object {self.object_height:g} high)"
        return text

    def describe(self) -> str:
        return f"keep only where the {self.label}"

    def band(self):
        """The band of places as a shapely MultiPolygon (``sun.sun_band``): the clue hands
        over its own geometry, so the writers need not know how it is drawn."""
        from .sun import sun_band

        return sun_band(self)


@dataclass(frozen=True)
class Constraints:
    """Everything a run is constrained by; a cell's weight is its share where every
    constraint holds at once (weights.py)."""

    areas: tuple[AreaConstraint, ...] = ()
    sun: Optional[SunConstraint] = None

    def __post_init__(self):
        object.__setattr__(self, "areas", tuple(self.areas or ()))
        for area in self.areas:
            if not isinstance(area, AreaConstraint):
                raise ConstraintError(f"not an area constraint: {area!r}")

    def __bool__(self) -> bool:
        return bool(self.areas) or self.sun is not None

    def describe(self) -> list[str]:
        """One line per constraint, for people (logs, run_info, the dock)."""
        return [a.describe() for a in self.areas] + ([self.sun.describe()] if self.sun else [])


def shadow_elevation_deg(height: float, length: float) -> float:
    """The sun's elevation from an object's height and its shadow on level ground."""
    return math.degrees(math.atan2(height, length))


def parse_utc_time(text: str) -> datetime:
    """An ISO 8601 time with its zone (``Z`` or ``+02:00``) -> aware UTC datetime.  A time
    without a zone is refused: a photo's clock is local and guessing the zone would move
    the sun band by up to a quarter of the world."""
    raw = (text or "").strip()
    if not raw:
        raise ConstraintError("no time given for the sun constraint (e.g. 2024-06-01T14:10:00Z)")
    iso = re.sub(r"[zZ]$", "+00:00", raw.replace(" ", "T", 1))
    iso = re.sub(r"([+-]\d{2})(\d{2})$", r"\1:\2", iso)  # +0200 -> +02:00
    try:
        when = datetime.fromisoformat(iso)
    except ValueError:
        raise ConstraintError(f"cannot read the time {raw!r}: write it as ISO 8601 with its "
                              "zone, e.g. 2024-06-01T14:10:00Z or 2024-06-01T16:10:00+02:00"
                              ) from None
    if when.tzinfo is None:
        raise ConstraintError(f"the time {raw!r} has no time zone: add Z for UTC or the "
                              "offset the camera clock was set to (e.g. +02:00)")
    return when.astimezone(timezone.utc)


def sun_from_inputs(time, elevation: Optional[float] = None,
                    shadow: Optional[tuple[float, float]] = None,
                    tolerance: float = 2.0) -> SunConstraint:
    """The sun constraint from what a form or a command line collects: a time and either
    an elevation or an (object height, shadow length) pair, never both."""
    if elevation is not None and shadow is not None:
        raise ConstraintError("give either the sun's elevation or an object's height and its "
                              "shadow's length, not both")
    if elevation is None and shadow is None:
        raise ConstraintError("a sun time needs the sun's elevation or an object's height and "
                              "its shadow's length")
    if shadow is not None:
        height, length = shadow
        return SunConstraint.from_shadow(time, height, length, tolerance)
    return SunConstraint.from_elevation(time, elevation, tolerance)


def _as_time(value) -> datetime:
    return parse_utc_time(value) if isinstance(value, str) else value


def _number(value, what: str) -> float:
    try:
        x = float(value)
    except (TypeError, ValueError):
        raise ConstraintError(f"{what} must be a number, got {value!r}") from None
    if not math.isfinite(x):
        raise ConstraintError(f"{what} must be a finite number, got {value!r}")
    return x
