"""What the dock's "Clues" tab asks for, as plain data.

The dock must build (and say what is missing) before the engine's packages are
installed, so it never makes the engine's constraint objects itself: it hands over
these frozen requests, and the run service turns them into ``inference.constraints``
objects on the main thread (layers are read there) just before a run starts.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Optional

KEEP, EXCLUDE = "include", "exclude"


@dataclass(frozen=True)
class AreaRequest:
    """One area: countries by ISO code, a polygon layer (all or its selected features),
    or a rectangle in the CRS it was drawn in (``rectangle`` = xmin, ymin, xmax, ymax).
    ``text`` (and ``text_languages``): the text in the photo that suggested the
    countries, recorded with them (``services.clues.text_clue``)."""

    mode: str  # KEEP or EXCLUDE
    countries: tuple[str, ...] = ()
    layer_id: Optional[str] = None
    selected_only: bool = False
    rectangle: Optional[tuple[float, float, float, float]] = None
    rectangle_crs: str = ""  # WKT of the canvas CRS it was drawn in
    text: str = ""
    text_languages: tuple[str, ...] = ()

    @property
    def include(self) -> bool:
        return self.mode == KEEP


@dataclass(frozen=True)
class SunRequest:
    time_utc: str  # ISO 8601 with its zone, e.g. 2024-06-01T14:10:00Z
    tolerance_deg: float = 2.0
    elevation_deg: Optional[float] = None
    object_height: Optional[float] = None  # with shadow_length, instead of elevation_deg
    shadow_length: Optional[float] = None


@dataclass(frozen=True)
class ConstraintRequest:
    areas: tuple[AreaRequest, ...] = ()
    sun: Optional[SunRequest] = None

    def __bool__(self) -> bool:
        return bool(self.areas) or self.sun is not None


@dataclass(frozen=True)
class TrackRequest:
    """The dock's "Track" section as plain data (``services.clues.tracks`` makes it into
    the engine's ``TrackOptions``): GPX files, the run's own GPS photos, a folder of GPS
    photos, the clock corrections and the maximum gap (issue 18)."""

    gpx: tuple[str, ...] = ()
    photos_as_track: bool = False
    track_photos: tuple[str, ...] = ()
    camera_offset: str = ""  # ±[HH:]MM:SS, camera time minus true time
    photo_tz: str = ""
    max_gap_s: float = 1800.0  # the engine's DEFAULT_MAX_GAP_S (tracks/place.py says why)
    bridge_segments: bool = False

    @property
    def wanted(self) -> bool:
        return bool(self.gpx or self.photos_as_track or self.track_photos)
