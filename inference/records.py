"""Frozen records that cross the engine's boundary.

The plugin, the command line and the GeoPackage writer all speak these types, so a
prediction means the same thing wherever it is read.  Coordinates are WGS 84 degrees.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Optional, Tuple


@dataclass(frozen=True)
class GeoPoint:
    lat: float
    lon: float


@dataclass(frozen=True)
class Candidate:
    """One of the top-k distinct finest cells, ranked by hierarchical probability."""

    rank: int  # 1 = best
    lat: float  # mean training coordinate of the cell
    lon: float
    probability: float
    cell_token: str


@dataclass(frozen=True)
class CellProbability:
    """A cell of one hierarchy level with the probability the model gives it."""

    level: int  # 0 = coarsest hierarchy
    index: int  # class index inside that level
    token: str  # S2 token
    probability: float
    allowed_share: float = 1.0  # finest cells under clues: the geodesic share of the cell
    # where every clue holds (constraints/weights.py); 1.0 without clues


@dataclass(frozen=True)
class Placement:
    """How a photo's point was chosen, where a run placed photos by time (a track).

    ``method``: "exif" (the photo's own GPS), "track" (its time on a GPX track or
    between GPS photos) or "model".  Where the point is not the model's, the model's own
    point is kept in ``model`` with its distance from the point: a large distance is
    worth a look, as the EXIF conflict flag is.  The cells, candidates and credible
    regions of the record stay the model's whatever the method.
    """

    method: str
    source: str = ""  # the track: a GPX file or the GPS photos used; "EXIF GPS"
    gap_s: Optional[float] = None  # seconds from the photo to the farther fix used
    radius_m: Optional[float] = None  # how far the photo may be from the point
    model: Optional[GeoPoint] = None  # the model's point, where the point is another
    model_distance_km: Optional[float] = None
    note: str = ""  # how it was placed, or why the model's answer stands


@dataclass(frozen=True)
class RegionPlaces:
    """Which countries and continents a credible region covers, each with its share of
    the region's area, largest first (``constraints/region_countries.py``): the words a
    weak answer can honestly be given in."""

    countries: Tuple[Tuple[str, float], ...] = ()  # (English name, share of the area)
    continents: Tuple[Tuple[str, float], ...] = ()  # (continent, share of the area)
    land: float = 0.0  # share of the region's area that lies in some country


@dataclass(frozen=True)
class Prediction:
    """Everything the model says about one photo.

    ``finest`` holds the finest cells in decreasing probability density (probability over
    area, modeling/credible.py) until their mass reaches at least 0.99 (or a cap): every
    credible region is a prefix of it, and it can be kept without the whole distribution
    of every photo in memory.  Under clues a cell's area is its allowed area (area times
    ``allowed_share``): the region is the part of its cells where the clues hold.
    """

    path: str
    lat: float
    lon: float
    confidence: float  # hierarchical probability of the best finest cell
    candidates: Tuple[Candidate, ...]
    best_cells: Tuple[CellProbability, ...]  # best cell per level, coarse to fine
    level_top: Tuple[Tuple[CellProbability, ...], ...]  # per level, the top cells
    finest: Tuple[CellProbability, ...]
    scene: int
    scene_name: str
    scene_confidence: float  # softmax probability of the chosen scene
    exif_gps: Optional[GeoPoint] = None
    error_km: Optional[float] = None
    width: int = 0
    height: int = 0
    sha256: str = ""  # of the very bytes that were decoded for the model (photos.read_photo)
    attention: Optional[object] = field(default=None, compare=False, repr=False)
    # numpy float32 (H, h, w) cross-attention of the chosen scene's queries, when asked for
    mass_removed: Optional[float] = None  # probability the constraints took away; None
    # when the run had no constraint
    unconstrained_top: Optional[Candidate] = None  # the best finest cell before constraints
    allowed: Optional[object] = field(default=None, compare=False, repr=False)
    # shapely geometry (lon/lat) where every clue holds, None without clues: a credible
    # region is the part of its cells inside it (outputs/regions.py)
    placement: Optional[Placement] = None  # None: a run without a track, the model's point
    region50_places: Optional[RegionPlaces] = None  # what the 50 % region covers
    # why the point is where it is: the bundle's decision rule (modeling/decision.py)
    decision_radius_km: Optional[float] = None  # 0: the most probable cell
    decision_mass: Optional[float] = None  # probability within that radius of the point

    @property
    def method(self) -> str:
        """Where the point comes from: "exif", "track" or "model"."""
        return self.placement.method if self.placement is not None else "model"


@dataclass(frozen=True)
class PhotoFailure:
    """A file that could not be geolocated, with a reason a person can act on."""

    path: str
    reason: str
