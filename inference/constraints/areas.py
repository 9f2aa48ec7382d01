"""Area constraints from countries, files and WKT, all in lon/lat WGS 84.

Countries come from the shipped ``resources/boundaries/countries.geojson`` (Natural
Earth via QGIS, public domain; see its README), read with json and shapely only, so
the command line needs neither QGIS nor a network.  A file is read with OGR in any
CRS and reprojected to EPSG:4326 (x = longitude).
"""

from __future__ import annotations

import difflib
import json
import os
import re
import unicodedata
from functools import lru_cache
from pathlib import Path
from typing import Iterable, Union

import shapely
from shapely import wkt as shapely_wkt
from shapely import affinity
from shapely.geometry import MultiPolygon, Polygon, box, shape
from shapely.ops import unary_union

from ..modeling.defaults import PLUGIN_ROOT
from .base import AreaConstraint, ConstraintError

COUNTRIES_PATH = PLUGIN_ROOT / "resources" / "boundaries" / "countries.geojson"
# English names people type that Natural Earth abbreviates or spells otherwise
ALIASES = {
    "united states": "US", "usa": "US", "america": "US", "uk": "GB", "great britain": "GB",
    "britain": "GB", "england": "GB", "scotland": "GB", "wales": "GB",
    "northern ireland": "GB", "czech republic": "CZ", "bosnia and herzegovina": "BA",
    "bosnia": "BA", "democratic republic of the congo": "CD", "dr congo": "CD",
    "drc": "CD", "republic of the congo": "CG", "congo brazzaville": "CG",
    "central african republic": "CF", "dominican republic": "DO", "south sudan": "SS",
    "ivory coast": "CI", "cote d'ivoire": "CI", "eswatini": "SZ", "swaziland": "SZ",
    "north macedonia": "MK", "equatorial guinea": "GQ", "western sahara": "EH",
    "faroe islands": "FO", "russian federation": "RU", "burma": "MM", "holland": "NL",
    "the netherlands": "NL", "korea": "KR", "republic of korea": "KR",
    "cape verde": "CV", "east timor": "TL", "vatican": "VA", "solomon islands": "SB",
    "marshall islands": "MH", "cayman islands": "KY", "falkland islands": "FK",
    "british virgin islands": "VG", "us virgin islands": "VI", "turkiye": "TR",
    "french polynesia": "PF", "antigua and barbuda": "AG",
    "saint vincent and the grenadines": "VC", "saint kitts and nevis": "KN",
    "sao tome and principe": "ST", "northern mariana islands": "MP",
}


@lru_cache(maxsize=1)
def _countries() -> tuple[dict, dict]:
    """(code -> (name, geometry), lookup key -> code) from the shipped file."""
    if not COUNTRIES_PATH.is_file():
        raise ConstraintError(f"the country boundaries are missing ({COUNTRIES_PATH}): "
                              "reinstall the plugin or run tools/build_countries.py")
    doc = json.loads(COUNTRIES_PATH.read_text(encoding="utf-8"))
    by_code, keys = {}, {}
    for feat in doc["features"]:
        props = feat["properties"]
        code = props["iso_a2"].upper()
        by_code[code] = (props["name"], feat["geometry"])
        for key in (props["iso_a2"], props["iso_a3"], props["name"]):
            keys.setdefault(_key(key), code)
    for alias, code in ALIASES.items():
        if code in by_code:
            keys.setdefault(_key(alias), code)
    return by_code, keys


def _key(text: str) -> str:
    """Case, accents, dots and the odd spacing do not matter: "Côte d'Ivoire" =
    "cote d ivoire", "Bosnia and Herz." = "bosnia and herz"."""
    plain = unicodedata.normalize("NFKD", str(text)).encode("ascii", "ignore").decode()
    plain = re.sub(r"[^a-z0-9]+", " ", plain.casefold())
    return re.sub(r"\bst\b", "saint", plain).strip()


def country_names() -> list[tuple[str, str]]:
    """(ISO alpha-2, English name) of every country the constraint knows, by name: what a
    picker lists."""
    by_code = _countries()[0]
    return sorted(((code, name) for code, (name, _g) in by_code.items()),
                  key=lambda cn: _key(cn[1]))


def _split(names: Union[str, Iterable[str]]) -> list[str]:
    items = names.split(",") if isinstance(names, str) else list(names or [])
    return [n.strip() for n in items if n and n.strip()]


def resolve_countries(names: Union[str, Iterable[str]]) -> list[str]:
    """ISO alpha-2 codes of `names` (alpha-2, alpha-3 or English names, any case), in the
    order given without repeats; an unknown name raises with the closest matches."""
    by_code, keys = _countries()
    wanted = _split(names)
    if not wanted:
        raise ConstraintError("no country given (use ISO codes such as CH,AT or English "
                              "names such as Switzerland)")
    codes: list[str] = []
    for name in wanted:
        code = keys.get(_key(name))
        if code is None:
            labels = {f"{n} ({c})": c for c, (n, _g) in by_code.items()}
            close = difflib.get_close_matches(_key(name), [_key(s) for s in labels], n=3,
                                              cutoff=0.6)
            close_labels = [s for s in labels if _key(s) in close]
            hint = f"; did you mean {', '.join(close_labels)}?" if close_labels else \
                " (use ISO 3166 codes such as CH or English names such as Switzerland)"
            raise ConstraintError(f"unknown country {name!r}{hint}")
        if code not in codes:
            codes.append(code)
    return codes


def countries_area(names: Union[str, Iterable[str]], include: bool = True) -> AreaConstraint:
    """The union of the named countries (ISO 3166 alpha-2/alpha-3 or English name)."""
    by_code = _countries()[0]
    codes = resolve_countries(names)
    geometry = unary_union([shape(by_code[c][1]) for c in codes])
    return AreaConstraint(polygonal(geometry), include, f"countries: {', '.join(codes)}",
                          "countries", (("countries", ",".join(codes)),
                                        ("names", "; ".join(by_code[c][0] for c in codes))))


def area_from_wkt(wkt: str, include: bool = True, label: str = "area",
                  source: str = "wkt") -> AreaConstraint:
    """A polygon in WKT, lon/lat WGS 84."""
    try:
        geometry = shapely_wkt.loads(wkt)
    except Exception as exc:  # noqa: BLE001 - shapely raises several kinds for bad text
        raise ConstraintError(f"{label}: not a readable WKT polygon ({exc})") from None
    return AreaConstraint(polygonal(geometry, label), include, label, source)


def area_from_file(path, include: bool = True) -> AreaConstraint:
    """The polygons of a vector file (GeoPackage, GeoJSON, Shapefile, ... in any CRS),
    unioned.  ``file.gpkg|layername=zones`` picks a layer; without it the file must hold
    exactly one layer with polygons."""
    text = os.fspath(path)
    file_part, _, layer_part = text.partition("|")
    layer_name = layer_part.split("=", 1)[1] if layer_part.startswith("layername=") else None
    name = Path(file_part).name
    if not Path(file_part).exists():
        raise ConstraintError(f"area file not found: {file_part}")
    polygons = _read_polygons(file_part, layer_name, name)
    geometry = polygonal(unary_union(polygons), f"area: {name}")
    details = (("path", str(Path(file_part).resolve())),) + \
        ((("layer", layer_name),) if layer_name else ())
    return AreaConstraint(geometry, include, f"area: {name}", "file", details)


def _read_polygons(path: str, layer_name, name: str) -> list:
    from osgeo import ogr, osr

    try:
        ds = ogr.Open(path)
    except RuntimeError as exc:  # a host that switched GDAL to exceptions
        raise ConstraintError(f"cannot read the area file {name}: {exc}") from None
    if ds is None:
        raise ConstraintError(f"cannot read the area file {name}: not a vector file")
    layer = _pick_layer(ds, layer_name, name)
    target = osr.SpatialReference()
    target.ImportFromEPSG(4326)
    target.SetAxisMappingStrategy(osr.OAMS_TRADITIONAL_GIS_ORDER)
    srs = layer.GetSpatialRef()
    transform = None
    if srs is not None and not srs.IsSame(target):
        srs = srs.Clone()
        srs.SetAxisMappingStrategy(osr.OAMS_TRADITIONAL_GIS_ORDER)
        transform = osr.CoordinateTransformation(srs, target)
    polygons, features = [], 0
    for feat in layer:
        features += 1
        g = feat.GetGeometryRef()
        if g is None or g.IsEmpty():
            continue
        g = g.Clone()
        if transform is not None and g.Transform(transform) != 0:
            raise ConstraintError(f"cannot reproject the area file {name} to WGS 84")
        polygons += polygons_of(shapely.from_wkb(bytes(g.ExportToIsoWkb())))
    if features == 0:
        raise ConstraintError(f"the area file {name} is empty (no features)")
    if not polygons:
        raise ConstraintError(f"the area file {name} has no polygons (only points or lines "
                              "cannot make an area)")
    if srs is None and not all(-180.5 <= v <= 180.5 for p in polygons
                               for v in p.bounds[::2]):
        raise ConstraintError(f"the area file {name} has no coordinate system and its "
                              "coordinates are not longitudes/latitudes")
    return polygons


def _pick_layer(ds, layer_name, name: str):
    if layer_name:
        layer = ds.GetLayerByName(layer_name)
        if layer is None:
            raise ConstraintError(f"the area file {name} has no layer {layer_name!r}")
        return layer
    from osgeo import ogr

    layers = [ds.GetLayer(i) for i in range(ds.GetLayerCount())]
    polygonal = [lyr for lyr in layers if ogr.GT_Flatten(lyr.GetGeomType()) in (
        ogr.wkbPolygon, ogr.wkbMultiPolygon, ogr.wkbUnknown, ogr.wkbCurvePolygon,
        ogr.wkbMultiSurface)]
    if not layers:
        raise ConstraintError(f"the area file {name} is empty (no layers)")
    if len(polygonal) > 1:
        names = ", ".join(lyr.GetName() for lyr in polygonal)
        raise ConstraintError(f"the area file {name} has several polygon layers ({names}): "
                              f"name one as {name}|layername=<layer>")
    return (polygonal or layers)[0]


def polygons_of(geom) -> list:
    if geom is None or geom.is_empty:
        return []
    if not geom.is_valid:
        geom = shapely.make_valid(geom)
    if isinstance(geom, Polygon):
        return [geom]
    return [p for g in getattr(geom, "geoms", []) for p in polygons_of(g)]


def polygonal(geometry, label: str = "area"):
    parts = polygons_of(geometry)
    if not parts:
        raise ConstraintError(f"{label}: no polygon in it (an area must be a polygon)")
    return parts[0] if len(parts) == 1 else MultiPolygon(parts)



def _unwrapped(coords, near: float = None) -> list:
    """A ring's points with no jump of more than 180° in longitude between neighbours
    (a ring reprojected across the antimeridian jumps from +180 to -180); ``near`` moves
    the ring by whole turns next to that longitude (a hole next to its exterior)."""
    out, offset, last = [], 0.0, None
    for x, y in ((c[0], c[1]) for c in coords):
        if last is not None:
            step = x + offset - last
            offset -= 360.0 * round(step / 360.0)
        last = x + offset
        out.append((last, y))
    if near is not None and out:
        turn = 360.0 * round((near - out[0][0]) / 360.0)
        out = [(x + turn, y) for x, y in out]
    return out


def into_lon_range(geometry, unwrap: bool):
    """Polygons whose longitudes run past ±180 brought back into [-180, 180]: the parts
    beyond are cut and shifted by a whole turn.  With ``unwrap`` (polygons reprojected
    from another CRS, whose rings jump from +180 to -180 where they cross the
    antimeridian) each ring is first made continuous; a Web Mercator box around Fiji
    then stays around Fiji instead of becoming the rest of the world.  Not for WGS 84
    input: there an edge from -170 to 170 may really go the long way."""
    parts = []
    for poly in polygons_of(geometry):
        if unwrap:
            shell = _unwrapped(poly.exterior.coords)
            holes = [_unwrapped(r.coords, near=shell[0][0]) for r in poly.interiors]
            poly = Polygon(shell, holes)
        for turn in (-360.0, 0.0, 360.0):
            piece = poly.intersection(box(-180.0 - turn, -90.0, 180.0 - turn, 90.0))
            if not piece.is_empty:
                parts.extend(polygons_of(affinity.translate(piece, xoff=turn)))
    return unary_union(parts) if parts else Polygon()
