"""The words of a case report: every sentence and table row, from the facts, no drawing.

Kept apart from the layout so the statements a report makes (and the ones it must not
make, such as a confidence that reads like a certainty) can be read and tested as text.
"""

from __future__ import annotations

import json
from typing import Optional

from ...inference.outputs.prediction_row import PredictionRow
from ..answer_words import candidate_distance_km, decision_line, headline_lines
from .facts import Custody, RunFacts
from ..i18n import tr

CAVEAT = ("A predicted point is the estimate of a geographic cell (the mean position of the "
          "training photos of the most probable cell), not a GPS fix. The photo may have been "
          "taken anywhere in the credible regions, or outside them: a 90% region misses the "
          "true place about one time in ten, more often for photos unlike the training photos. "
          "Probabilities are the model's own, not certainties; treat the result as a lead to "
          "check, never as proof of where a photo was taken.")
SHORT_CAVEAT = ("Caveat: the point is a cell's estimate, not a GPS fix; the regions say how "
                "far off it may be.")


def caveat() -> str:
    return tr(CAVEAT)


def short_caveat() -> str:
    return tr(SHORT_CAVEAT)


def percent(p: Optional[float]) -> str:
    """A probability as a person reads it: one decimal under 10 % so 0.4 % is not 0 %,
    and over 99 % so the 99.5 % a constraint removed is not "100%" (all of it)."""
    if p is None:
        return "–"
    return f"{p:.1%}" if p < 0.1 or 0.99 < p < 1.0 else f"{p:.0%}"


def km2(value: Optional[float]) -> str:
    return "–" if value is None else f"{value:,.0f} km²"


def not_recorded() -> str:
    """What a value the run did not record (NULL in the GeoPackage) reads as: never a
    zero, which would read as a measurement (0, 0 is a point in the Gulf of Guinea)."""
    return tr("not recorded")


def latlon(lat: Optional[float], lon: Optional[float], digits: int = 5) -> str:
    if lat is None or lon is None:
        return not_recorded()
    return f"{lat:.{digits}f}, {lon:.{digits}f}"


def prediction_lines(run: RunFacts, photo: PredictionRow) -> list[str]:
    cells = " → ".join(f"{c.token} ({percent(c.probability)})" for c in photo.cells)
    confidence = not_recorded() if photo.confidence is None else percent(photo.confidence)
    # the answer at the precision it has first (the dock's words), the exact numbers after
    lines = [*headline_lines(photo), decision_line(photo),
             tr("Exact point: {place} at {ll} (lat, lon)").format(
                 place=photo.place or tr("no place name"), ll=latlon(photo.lat, photo.lon)),
             tr("Probability of its cell: {p}; scene: {scene} ({sp})").format(
                 p=confidence, scene=run.scene_of(photo) or "–",
                 sp=percent(photo.scene_confidence)),
             tr("Credible regions: 50% {a50}, 90% {a90}").format(
                 a50=km2(photo.region50_km2), a90=km2(photo.region90_km2))]
    if cells:
        lines.append(tr("Best cell per level (coarse → fine): {cells}").format(cells=cells))
    top = photo.candidates[0] if photo.candidates else None
    if (top is not None and top.probability is not None and photo.confidence is not None
            and top.probability > photo.confidence + 1e-6):
        km = candidate_distance_km(photo, top)
        lines.append(tr("The most probable single cell (candidate 1, {p}) is {km} from the "
                        "point.").format(p=percent(top.probability),
                                         km="–" if km is None else f"{km:,.0f} km"))
    return lines


def placement_lines(run: RunFacts, photo: PredictionRow) -> list[str]:
    """How the photo's point was chosen, where the run placed photos by time (issue 18);
    nothing for a run without a track (the point is the model's, as ever)."""
    if not run.value("track_max_gap_s"):
        return []
    model = tr("The model's own answer: {ll}").format(
        ll=latlon(photo.model_lat, photo.model_lon))
    if photo.model_distance_km is not None:
        model += tr(", {km:,.1f} km from the point").format(km=photo.model_distance_km)
    model += tr("; the cells, regions and candidates are the model's.")
    if photo.method == "exif":
        return [tr("Placed by the photo's own EXIF GPS at {ll}.").format(
            ll=latlon(photo.lat, photo.lon)), model]
    if photo.method == "track":
        gap = "–" if photo.track_gap_s is None else f"{photo.track_gap_s:,.0f}"
        radius = "–" if photo.radius_m is None else f"{photo.radius_m:,.0f}"
        return [tr("Placed by its time on a track ({source}) at {ll}: {gap} s from the "
                   "track points used, within about {radius} m ({note}).").format(
                    source=photo.track_source, ll=latlon(photo.lat, photo.lon), gap=gap,
                    radius=radius, note=photo.placement_note), model]
    return [tr("Placed by the model: {why}").format(
        why=photo.placement_note or tr("no reason recorded"))]


def track_rows(run: RunFacts) -> list[tuple[str, str]]:
    """The track a run placed photos on (files with their SHA-256) and the clock
    corrections used, as chain-of-custody rows; none for a run without a track."""
    if not run.value("track_max_gap_s"):
        return []
    rows, i = [], 1
    while run.value(f"track_gpx_{i}"):
        rows += [(tr("Track file {i}").format(i=i), run.value(f"track_gpx_{i}")),
                 (tr("Track file {i} SHA-256").format(i=i),
                  run.value(f"track_gpx_{i}_sha256"))]
        i += 1
    i = 1
    while run.value(f"track_photos_{i}"):
        rows.append((tr("Track photos {i}").format(i=i), run.value(f"track_photos_{i}")))
        i += 1
    rows += [(tr("Camera clock offset (camera − true)"), run.value("track_camera_offset")),
             (tr("Zone of photo times without one"), run.value("track_photo_tz")),
             (tr("Maximum gap (s)"), run.value("track_max_gap_s"))]
    return rows


def conflict_line(photo: PredictionRow) -> tuple[str, bool]:
    """The EXIF-versus-prediction flag as a sentence, and whether it is a conflict."""
    if photo.exif_lat is None or photo.exif_lon is None:
        return tr("EXIF GPS: none in the photo, nothing to compare"), False
    if photo.error_km is None:
        where = tr("EXIF GPS {ll}, distance from the predicted point not recorded").format(
            ll=latlon(photo.exif_lat, photo.exif_lon))
    else:
        where = tr("EXIF GPS {ll}, {km:,.0f} km from the predicted point").format(
            ll=latlon(photo.exif_lat, photo.exif_lon), km=photo.error_km)
    if photo.exif_conflict is None:
        return tr("{where}; not compared (no 90% region)").format(where=where), False
    if photo.exif_conflict:
        return tr("CONFLICT: {where}, OUTSIDE the 90% credible region. Either the EXIF GPS is "
                  "wrong or edited, or the model is wrong about this photo.").format(
            where=where), True
    return tr("No conflict: {where}, inside the 90% credible region").format(where=where), False


def constraint_lines(run: RunFacts, photo: PredictionRow) -> list[str]:
    if not run.constraints:
        why = "" if run.has_constraints_layer else tr(" (this run records none)")
        return [tr("No constraints{why}: the whole world was possible.").format(why=why)]
    lines = []
    for c in run.constraints:
        mode = tr("only inside") if c.mode == "include" else tr("excluded")
        lines.append(f"{c.kind} ({mode}): {c.label}" + (f" {_params(c.parameters)}"
                                                       if _params(c.parameters) else ""))
    if photo.constraint_mass_removed is not None:
        lines.append(tr("Probability the constraints removed: {p}").format(
            p=percent(photo.constraint_mass_removed)))
    if photo.unconstrained_lat is not None or photo.unconstrained_cell:
        lines.append(tr("Without them the best cell was {cell} at {ll} ({p})").format(
            cell=photo.unconstrained_cell or not_recorded(),
            ll=latlon(photo.unconstrained_lat, photo.unconstrained_lon),
            p=percent(photo.unconstrained_probability)))
    return lines


def _params(text: str) -> str:
    """A constraint's parameters JSON as "key=value, ..."; "" when there are none."""
    try:
        doc = json.loads(text) if text else {}
    except ValueError:
        return text
    if not isinstance(doc, dict) or not doc:
        return "" if not doc else str(doc)
    return "(" + ", ".join(f"{k}={v}" for k, v in doc.items()) + ")"


def photo_check_title() -> str:
    return tr("Photo check")


def custody_rows(run: RunFacts, photo: PredictionRow, custody: Custody, version: str,
                 written_utc: str, gpkg_sha256: str) -> list[tuple[str, str]]:
    """(what, value) rows of the chain of custody."""
    return [
        (tr("Photo file (recorded)"), photo.photo_path),
        (tr("Photo file (found now)"), custody.path or tr("MISSING")),
        (tr("Photo SHA-256 (run)"), photo.sha256 or tr("not recorded")),
        (tr("Photo SHA-256 (now)"), custody.current or "–"),
        (photo_check_title(), custody.verdict()),
        (tr("Model"), tr("{name} version {version}").format(
            name=run.value("model_name"), version=run.value("model_version"))),
        (tr("Weights SHA-256"), run.value("weights_sha256")),
        (tr("Model bundle digest"), run.value("bundle_digest") or tr(
            "not recorded (the run was made before bundle digests existed)")),
        (tr("Model bundle (run)"), run.value("bundle_path")),
        (tr("Plugin version"), tr("GeoDecoder {v} (metadata.txt)").format(v=version)),
        (tr("Run started (UTC)"), run.value("started")),
        (tr("Run GeoPackage"), run.gpkg_path),
        (tr("GeoPackage SHA-256 (now)"), gpkg_sha256),
        (tr("Report written (UTC)"), written_utc),
        *track_rows(run),
    ]


def parameter_rows(run: RunFacts) -> list[tuple[str, str]]:
    """Every recorded parameter and fact of the run, as recorded, in its order."""
    return list(run.info)
