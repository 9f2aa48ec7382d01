"""Builds resources/boundaries/countries.geojson, the offline country set of area constraints.

Source: the ``countries`` layer of QGIS's own ``resources/data/world_map.gpkg`` (Debian:
/usr/share/qgis/resources/data/world_map.gpkg), derived by the QGIS project from Natural
Earth 1:10m Admin 0 - Countries v4.1.0, which is in the public domain
(https://www.naturalearthdata.com/about/terms-of-use/).  The derivative keeps the ISO
3166-1 alpha-2 and alpha-3 codes and the English name, fills the few codes and names the
source leaves empty (QGIS's copy already has Natural Earth's "-99" alpha-2 codes of
France, Norway and Kosovo filled; ``FIXES`` covers what is still missing), drops the
unnamed scraps (disputed slivers with code "-1"), pulls the source's +-179.9 clip back
onto the antimeridian and -89.9 onto the pole, and simplifies the outlines (about 3 km)
and drops islets of under about 5 km2 (a country keeps its largest part)
so the file stays small enough to ship (well under 1.5 MB).  The engine reads it with
nothing but json and shapely, so the command line works without QGIS.

Regenerate (from the plugin folder):
    .venv/bin/python tools/build_countries.py [/path/to/world_map.gpkg]
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

from osgeo import ogr
import shapely
from shapely import wkb
from shapely.geometry import MultiPolygon, Polygon, mapping

ROOT = Path(__file__).resolve().parents[1]
SOURCE = Path("/usr/share/qgis/resources/data/world_map.gpkg")
TARGET = ROOT / "resources" / "boundaries" / "countries.geojson"
TOLERANCE_DEG = 0.03  # Douglas-Peucker tolerance (about 3 km)
DECIMALS = 3  # about 100 m: below the simplification error
MIN_PART_DEG2 = 0.0005  # islets under about 5 km2 go, except a country's largest part
CLIP_EDGE = 179.89  # the source stops at +-179.9 to avoid antimeridian polygons
# alpha-2 -> (alpha-3, English name) where the source has "-99" or nothing.  Kosovo has
# no ISO 3166 code; XK / XKX are the user-assigned codes the EU and others use.
FIXES = {"XK": ("XKX", "Kosovo"), "TK": ("TKL", "Tokelau"), "FR": ("FRA", "France"),
         "NO": ("NOR", "Norway")}


def _snap(xy):
    """Source clip edges back onto the antimeridian and the south pole."""
    import numpy as np

    x, y = xy[:, 0], xy[:, 1]
    x = np.where(x >= CLIP_EDGE, 180.0, np.where(x <= -CLIP_EDGE, -180.0, x))
    y = np.where(y <= -89.89, -90.0, y)
    return np.column_stack([x, y])


def _rounded(geom):
    def rnd(coords):
        return [(round(x, DECIMALS), round(y, DECIMALS)) for x, y in coords]

    polys = []
    for poly in getattr(geom, "geoms", [geom]):
        if not isinstance(poly, Polygon) or poly.is_empty:
            continue
        p = Polygon(rnd(poly.exterior.coords), [rnd(r.coords) for r in poly.interiors])
        if not p.is_valid:
            p = p.buffer(0)
        polys += [g for g in getattr(p, "geoms", [p]) if isinstance(g, Polygon) and not g.is_empty]
    biggest = max((p.area for p in polys), default=0.0)
    kept = MultiPolygon([p for p in polys if p.area >= min(MIN_PART_DEG2, biggest)])
    if not kept.is_valid:  # rounding made two parts touch or overlap
        kept = shapely.make_valid(kept).buffer(0)
        kept = MultiPolygon(list(getattr(kept, "geoms", [kept])))
    return kept


def _code(value) -> str:
    text = (value or "").strip().upper()
    return "" if text.startswith("-") else text


def build(source: Path = SOURCE) -> dict:
    ds = ogr.Open(str(source))
    if ds is None:
        raise SystemExit(f"cannot open {source}")
    layer = ds.GetLayerByName("countries")
    features = []
    for feat in layer:
        a2 = _code(feat.GetField("iso_a2"))
        if not a2:
            continue  # the unnamed disputed slivers
        a3, name = _code(feat.GetField("ISO_A3")), (feat.GetField("NAME") or "").strip()
        fix_a3, fix_name = FIXES.get(a2, ("", ""))
        a3, name = a3 or fix_a3, name or fix_name
        if not (a3 and name):
            raise SystemExit(f"no ISO alpha-3 code or name for {a2}: add it to FIXES")
        geom = wkb.loads(bytes(feat.GetGeometryRef().ExportToWkb()))
        geom = shapely.transform(geom, _snap).buffer(0)
        geom = _rounded(geom.simplify(TOLERANCE_DEG, preserve_topology=True))
        if geom.is_empty:
            raise SystemExit(f"{name} vanished when simplified")
        features.append({"type": "Feature",
                         "properties": {"iso_a2": a2, "iso_a3": a3, "name": name},
                         "geometry": mapping(geom)})
    features.sort(key=lambda f: f["properties"]["iso_a2"])
    return {"type": "FeatureCollection",
            "name": "countries",
            "source": "QGIS resources/data/world_map.gpkg (countries), from Natural Earth "
                      "1:10m Admin 0 - Countries v4.1.0 (public domain); simplified by "
                      "tools/build_countries.py",
            "features": features}


def main(argv) -> int:
    source = Path(argv[1]) if len(argv) > 1 else SOURCE
    doc = build(source)
    TARGET.parent.mkdir(parents=True, exist_ok=True)
    TARGET.write_text(json.dumps(doc, separators=(",", ":")) + "\n", encoding="utf-8")
    print(f"{TARGET}: {len(doc['features'])} countries, {TARGET.stat().st_size / 1e6:.2f} MB")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
