"""Great-circle maths shared by prediction, evaluation and the baselines.

Haversine on a sphere of R = 6371 km, the protocol of the published accuracy tables (an
ellipsoid would shift results by tenths of a percent and make them incomparable).
"""

from __future__ import annotations

import numpy as np

EARTH_RADIUS_KM = 6371.0


def haversine_km(lat1, lon1, lat2, lon2):
    """Distance in km; scalars or numpy arrays (broadcast)."""
    p1, p2 = np.radians(lat1), np.radians(lat2)
    dp, dl = p2 - p1, np.radians(np.asarray(lon2) - np.asarray(lon1))
    a = np.sin(dp / 2) ** 2 + np.cos(p1) * np.cos(p2) * np.sin(dl / 2) ** 2
    d = 2 * EARTH_RADIUS_KM * np.arcsin(np.sqrt(np.clip(a, 0.0, 1.0)))
    return float(d) if np.ndim(d) == 0 else d


def medoid(coords: np.ndarray, weights: np.ndarray) -> np.ndarray:
    """The row of ``coords`` whose weighted great-circle distance to the others is least."""
    if len(coords) == 1:
        return coords[0]
    d = haversine_km(coords[:, None, 0], coords[:, None, 1], coords[None, :, 0], coords[None, :, 1])
    return coords[int(np.argmin(d @ weights))]
