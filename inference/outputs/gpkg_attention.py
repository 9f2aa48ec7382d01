"""The "Why here?" maps of a run, kept in its GeoPackage so that a reopened run has them.

A run made with "Keep 'Why here?' maps" used to hold the maps in memory only: reopened
the next day, the run said no maps were kept although the box had been checked (issue
20).  They are small (levels x rows x cols, e.g. 3 x 7 x 7 per photo), so the file
keeps them in a table of its own, ``attention_maps``, one row per photo: the photo's
``predictions`` fid, the shape, and the maps as float16 little-endian bytes in C order
(a map sums to one over a few dozen cells; float16's three decimal digits are more
than a heat map shows).

Every run written by this version has the table, empty when no maps were asked for, so
a reader can say truthfully why a photo has none: the run did not keep maps
(``run_info.attention_maps`` = 0), or it was written before maps were stored (no table).
It is an attributes table, not a layer QGIS adds to the map.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Sequence
from pathlib import Path
from typing import Optional

import numpy as np
from osgeo import ogr

from .layer_names import ATTENTION_MAPS

DTYPE = np.dtype("<f2")
FIELDS = (("photo_fid", ogr.OFTInteger64), ("levels", ogr.OFTInteger),
          ("rows", ogr.OFTInteger), ("cols", ogr.OFTInteger), ("maps", ogr.OFTBinary))
DESCRIPTION = "'Why here?' attention maps per photo (float16, levels x rows x cols)"


def create_table(ds):
    """The empty ``attention_maps`` table in an open GeoPackage; returns the layer."""
    layer = ds.CreateLayer(ATTENTION_MAPS, None, ogr.wkbNone,
                           options=["FID=fid", f"DESCRIPTION={DESCRIPTION}"])
    if layer is None:
        return None
    for name, kind in FIELDS:
        if layer.CreateField(ogr.FieldDefn(name, kind)) != 0:
            return None
    return layer


def write_maps(ds, layer, preds: Sequence, photo_fids: Sequence[int]) -> int:
    """One row per prediction that carries maps (``Prediction.attention``), in one
    transaction; returns the number written (raises RuntimeError if OGR refuses)."""
    rows = [(fid, np.asarray(p.attention)) for p, fid in zip(preds, photo_fids)
            if getattr(p, "attention", None) is not None]
    if not rows:
        return 0
    if ds.StartTransaction() != 0:
        raise RuntimeError("cannot start a transaction on attention_maps")
    try:
        defn = layer.GetLayerDefn()
        for fid, maps in rows:
            maps = maps.reshape((-1,) + maps.shape[-2:])
            feat = ogr.Feature(defn)
            feat.SetField("photo_fid", int(fid))
            for name, size in zip(("levels", "rows", "cols"), maps.shape):
                feat.SetField(name, int(size))
            feat.SetFieldBinaryFromHexString("maps", maps.astype(DTYPE).tobytes().hex())
            if layer.CreateFeature(feat) != 0:
                raise RuntimeError("cannot write a row of attention_maps")
    except BaseException:
        ds.RollbackTransaction()
        raise
    if ds.CommitTransaction() != 0:
        raise RuntimeError("cannot commit attention_maps")
    return len(rows)


# constant SQL: the table names of layer_names (tested), the path bound
_SELECT = ("SELECT a.levels, a.rows, a.cols, a.maps FROM attention_maps a "
           "JOIN predictions p ON p.fid = a.photo_fid WHERE p.photo_path = ? LIMIT 1")
_HAS_TABLE = "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = ?"


def has_table(gpkg) -> bool:
    """Whether the run file keeps maps at all (written by a version that stores them)."""
    try:
        with _connect(gpkg) as db:
            return db.execute(_HAS_TABLE, (ATTENTION_MAPS,)).fetchone() is not None
    except sqlite3.Error:
        return False


def read_maps(gpkg, photo_path: str) -> Optional[np.ndarray]:
    """The maps of the photo at `photo_path` (float32, levels x rows x cols), None when
    the file has none for it (or no table, or cannot be read)."""
    try:
        with _connect(gpkg) as db:
            if db.execute(_HAS_TABLE, (ATTENTION_MAPS,)).fetchone() is None:
                return None
            row = db.execute(_SELECT, (photo_path,)).fetchone()
    except sqlite3.Error:
        return None
    if row is None:
        return None
    levels, rows, cols, blob = row
    maps = np.frombuffer(bytes(blob), dtype=DTYPE)
    if maps.size != levels * rows * cols:
        return None
    return maps.reshape(levels, rows, cols).astype(np.float32)


_ASKED = "SELECT value FROM run_info WHERE key = 'attention_maps' LIMIT 1"


def maps_asked_for(gpkg) -> Optional[bool]:
    """Whether the run was made with "Keep 'Why here?' maps" (``run_info``'s
    ``attention_maps``); None when the file does not say (a command-line run)."""
    try:
        with _connect(gpkg) as db:
            row = db.execute(_ASKED).fetchone()
    except sqlite3.Error:
        return None
    if row is None or str(row[0]).strip() not in ("0", "1"):
        return None
    return str(row[0]).strip() == "1"


class _connect:
    """A read-only SQLite connection, closed on leaving the block (sqlite3's own context
    manager only ends a transaction)."""

    def __init__(self, gpkg):
        self.uri = Path(gpkg).resolve().as_uri() + "?mode=ro"

    def __enter__(self) -> sqlite3.Connection:
        self.db = sqlite3.connect(self.uri, uri=True)
        return self.db

    def __exit__(self, *exc) -> None:
        self.db.close()
