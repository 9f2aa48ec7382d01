"""Labelled photo lists (IMG_ID, LAT, LON), as evaluate and the kNN baseline read them."""

from __future__ import annotations

import csv
from typing import List, Tuple


def read_labels(path) -> List[Tuple[str, float, float]]:
    """(IMG_ID, LAT, LON) rows; other columns are ignored."""
    rows = []
    with open(path, newline="", encoding="utf-8-sig") as fh:
        reader = csv.DictReader(fh)
        names = {n.strip().lower(): n for n in reader.fieldnames or []}
        need = [names.get("img_id"), names.get("lat"), names.get("lon")]
        if not all(need):
            raise ValueError(f"{path}: needs IMG_ID, LAT and LON columns, "
                             f"found {reader.fieldnames}")
        for i, row in enumerate(reader, start=2):
            try:
                rows.append((row[need[0]], float(row[need[1]]), float(row[need[2]])))
            except (TypeError, ValueError) as exc:
                raise ValueError(f"{path}:{i}: bad LAT/LON ({exc})") from exc
    return rows
