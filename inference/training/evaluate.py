"""Accuracy on labelled photos, with the baselines a model must beat on the same photos.

Protocol (fixed, reported with every table): haversine with R = 6371 km; thresholds
1/25/200/750/2500 km; a single centre crop unless ten-crop is asked for.  A photo that
cannot be read counts as a miss at every threshold and is named in the report; it is
never dropped from the denominator.
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Dict, List, Optional, Sequence, Tuple

import numpy as np

from ..geo import haversine_km
from .labels import read_labels  # noqa: F401 - public here since the first version

THRESHOLDS_KM = (1, 25, 200, 750, 2500)


def geoguessr_score(km: np.ndarray) -> np.ndarray:
    """GeoGuessr-style points, 5000 * exp(-d / 1492.7 km) (the PIGEON paper's formula)."""
    return 5000.0 * np.exp(-np.asarray(km) / 1492.7)


def metrics(errors_km: Sequence[float]) -> Dict:
    """Fractions in 0..1; a failed photo is an error of +inf (a miss everywhere)."""
    e = np.asarray(errors_km, dtype=np.float64)
    n = len(e)
    if n == 0:
        return {"n": 0, "accuracy": {str(t): 0.0 for t in THRESHOLDS_KM},
                "median_km": None, "mean_score": None}
    finite = np.isfinite(e)
    score = np.where(finite, geoguessr_score(np.where(finite, e, 0.0)), 0.0)
    median = float(np.median(e))
    return {"n": int(n),
            "accuracy": {str(t): float(np.mean(e <= t)) for t in THRESHOLDS_KM},
            "median_km": median if math.isfinite(median) else None,
            "mean_score": float(score.mean())}


def prior_errors(bundle, labels: Sequence[Tuple[str, float, float]]) -> np.ndarray:
    """Baseline: every photo placed at the finest cell that held the most training photos."""
    cells = bundle.cells
    best = cells.levels[-1].cells[int(np.argmax(cells.counts(cells.num_levels - 1)))]
    lat = np.array([r[1] for r in labels])
    lon = np.array([r[2] for r in labels])
    return np.atleast_1d(haversine_km(lat, lon, best.lat, best.lon))


DENSITY_RADIUS_KM = 750.0


def density_prior_point(coords: np.ndarray, radius_km: float = DENSITY_RADIUS_KM,
                        chunk: int = 1024) -> Tuple[float, float]:
    """The training location with the most training photos within ``radius_km``: the
    strongest constant answer (it wins the 750 km threshold for as many photos as any
    training location can).  Ties go to the first such location."""
    coords = np.asarray(coords, dtype=np.float64)
    if len(coords) == 0:
        raise ValueError("the density prior needs training coordinates")
    best, best_n = 0, -1
    for start in range(0, len(coords), chunk):
        block = coords[start:start + chunk]
        d = haversine_km(block[:, None, 0], block[:, None, 1], coords[None, :, 0],
                         coords[None, :, 1])
        n = (d <= radius_km).sum(axis=1)
        i = int(np.argmax(n))
        if n[i] > best_n:
            best, best_n = start + i, int(n[i])
    return float(coords[best, 0]), float(coords[best, 1])


def density_prior_errors(train_coords: np.ndarray,
                         labels: Sequence[Tuple[str, float, float]]) -> np.ndarray:
    """Baseline: every photo placed at ``density_prior_point`` of the training photos."""
    lat0, lon0 = density_prior_point(train_coords)
    lat = np.array([r[1] for r in labels])
    lon = np.array([r[2] for r in labels])
    return np.atleast_1d(haversine_km(lat, lon, lat0, lon0))


def evaluate_csv(bundle, labels_csv, images_root, device: str = "auto", batch_size: int = 16,
                 train_csv: Optional[str] = None, train_images_root: Optional[str] = None,
                 ten_crop: bool = False, knn_k: int = 10,
                 retrieval: Optional[bool] = None) -> Dict:
    """The model's accuracy on a labelled CSV, its calibration (ECE) and the coverage of its
    50 % / 90 % credible regions, with the prior baselines and, given the training photos
    (``train_csv``), the kNN baseline on the model's own backbone features with ``knn_k``
    neighbours.  The density prior uses the training coordinates of ``train_csv``, else
    those the bundle's gallery carries."""
    from ..modeling.calibration import (coverage, expected_calibration_error,
                                        median_region_km2)
    from ..records import PhotoFailure

    labels = read_labels(labels_csv)
    root = Path(images_root)
    paths = [str(root / r[0]) for r in labels]
    predictor = _predictor(bundle, device, batch_size, ten_crop, retrieval, train_csv)
    by_path: Dict[str, object] = {}  # only what scoring needs: memory stays small
    for record in predictor.run(paths):
        by_path[record.path] = (record if isinstance(record, PhotoFailure) else (
            record.lat, record.lon, record.scene_name, record.confidence,
            [c.index for c in record.finest], [c.probability for c in record.finest],
            record.best_cells[-1].index))
    truth_cells = bundle.cells.assign([r[1] for r in labels], [r[2] for r in labels])[:, -1]
    errors, failures, scenes = [], [], []
    conf, correct, ranked, ranked_p, truth = [], [], [], [], []
    for (img_id, lat, lon), path, t in zip(labels, paths, truth_cells):
        rec = by_path.get(path)
        if rec is None or isinstance(rec, PhotoFailure):
            reason = rec.reason if rec is not None else "not found"
            failures.append({"img_id": img_id, "reason": reason})
            errors.append(math.inf)
            scenes.append(None)
        else:
            errors.append(haversine_km(lat, lon, rec[0], rec[1]))
            scenes.append(rec[2])
            conf.append(rec[3])
            correct.append(rec[6] == int(t))  # the true place is in the point's cell
            ranked.append(rec[4])
            ranked_p.append(rec[5])
            truth.append(int(t))
    report = metrics(errors)
    # over the photos that were read: an unreadable photo states no confidence
    report["ece"] = expected_calibration_error(conf, correct)
    report["coverage"] = coverage(ranked, ranked_p, truth)
    report["region_km2"] = median_region_km2(ranked, ranked_p, predictor.cell_areas)
    report["temperature"] = predictor.temperature
    report["failed"] = failures
    report["protocol"] = {"distance": "haversine R=6371 km",
                          "crops": "ten-crop mean" if ten_crop else "centre crop",
                          "device": predictor.device_used}
    report["protocol"]["point"] = getattr(predictor, "point_rule", None) or (
        "retrieval inside the predicted cell" if predictor.retrieval
        else "mean coordinate of the predicted cell")
    report["model"] = {"name": bundle.info.name, "version": bundle.info.model_version,
                       "untrained": bundle.info.untrained, "weights_sha256": bundle.weights_sha256,
                       "bundle_digest": bundle.digest}
    report["baselines"] = {"prior": metrics(prior_errors(bundle, labels))}
    train_coords = None
    if train_csv:
        train_coords = np.array([[r[1], r[2]] for r in read_labels(train_csv)])
    elif bundle.gallery is not None:
        train_coords = bundle.gallery.coords
    if train_coords is not None and len(train_coords):
        report["baselines"]["prior_750"] = metrics(density_prior_errors(train_coords, labels))
    if train_csv:
        from .knn import knn_errors
        report["baselines"]["knn"] = dict(metrics(knn_errors(
            bundle, train_csv, train_images_root or images_root, labels, paths, device=device,
            k=knn_k)), k=int(knn_k))
    per_scene: Dict[str, List[float]] = {}
    for s, e in zip(scenes, errors):
        if s is not None:
            per_scene.setdefault(s, []).append(e)
    report["per_scene"] = {s: metrics(v) for s, v in sorted(per_scene.items())}
    return report


def _predictor(bundle, device, batch_size, ten_crop, retrieval, train_csv):
    """The bundle's predictor; GeoCLIP (inference/geoclip/) has its own, without ten-crop
    or the kNN baseline (it has no backbone features of its own training photos)."""
    from ..geoclip.model import GeoClipModel
    from ..prediction.predict import Predictor

    if isinstance(bundle, GeoClipModel):
        from ..geoclip.predictor import GeoClipPredictor

        if ten_crop or retrieval or train_csv:
            raise ValueError("GeoCLIP is evaluated on a centre crop, without retrieval or "
                             "the kNN baseline (--ten-crop, --retrieval, --train-csv)")
        return GeoClipPredictor(bundle, device=device, batch_size=batch_size)
    return Predictor(bundle, device=device, batch_size=batch_size, ten_crop=ten_crop,
                     retrieval=retrieval)


def format_report(report: Dict) -> str:
    head = f"{'':<12}" + "".join(f"{t:>9} km" for t in THRESHOLDS_KM) + f"{'median km':>12}"
    lines = [f"n = {report['n']} photos ({len(report.get('failed', []))} unreadable, counted "
             f"as misses); {report.get('protocol', {}).get('distance', '')}", head]

    def row(name, m):
        acc = "".join(f"{100 * m['accuracy'][str(t)]:>11.1f}%"[:12].rjust(12)
                      for t in THRESHOLDS_KM)
        med = f"{m['median_km']:.0f}" if m.get("median_km") is not None else "-"
        return f"{name:<12}{acc}{med:>12}"

    lines.append(row("model", report))
    for name, m in report.get("baselines", {}).items():
        lines.append(row(f"{name} k={m['k']}" if "k" in m else name, m))
    if report.get("mean_score") is not None:
        lines.append(f"mean GeoGuessr-style score: {report['mean_score']:.0f} / 5000")
    if report.get("coverage"):
        cov = report["coverage"]
        lines.append(f"calibration (temperature {report.get('temperature', 1.0):g}): "
                     f"ECE {report['ece']:.3f}; the true place lies in the 50 % region for "
                     f"{100 * cov['50']:.1f} % of photos, in the 90 % region for "
                     f"{100 * cov['90']:.1f} %")
        km2 = report.get("region_km2") or {}
        if km2:
            lines.append(f"median area of the 50 % region {km2['50'] / 1e6:.2f} million km2, "
                         f"of the 90 % region {km2['90'] / 1e6:.2f} million km2")
    for s, m in report.get("per_scene", {}).items():
        lines.append(row(s[:12], m) + f"  (n={m['n']})")
    for f in report.get("failed", []):
        lines.append(f"unreadable: {f['img_id']}: {f['reason']}")
    return "\n".join(lines)
