"""Case reports: one PDF per photo of a run, for a file, a colleague or a court.

``write_case_reports(run.gpkg, folder)`` reads the run (``case_facts``), checks every
photo file against the SHA-256 the run recorded, computes "why here?" again where that
is honest (``case_attention``), puts it all into words (``case_text``) and pictures
(the map of ``case_map``, the photo, its attention) and exports a QGIS print layout
(``case_layout``) per photo.  The dock's "Case report…" button and the Processing
algorithm ``geodecoder:case_report`` are thin callers.

Everything here runs in the calling thread and touches nothing of the user's project:
the map's layers live in a private QgsProject made for each report (``case_map``) and
the layout is painted onto a QPdfWriter, which Qt allows off the GUI thread.  So the
dock writes reports in a ``QgsTask`` (``case_report_task``) and the Processing
algorithm runs in Processing's background thread, like any other.  Each PDF is written
under a short temporary name in the same folder (``report.<pid>-<host>-<random>.tmp.pdf``,
whatever the photo's name) and moved onto its name when complete, so a failed or
cancelled export never replaces a good report nor leaves half of one.  A photo that has
gone missing still gets its report, which says so.

Names that do not fit (issue 21.5): a report is named after its photo, and a 250-byte
photo name plus the temporary suffix exceeded the 255 bytes a file name may have, which
stopped every report after it.  A report name longer than ``NAME_BYTES`` is cut at a
character boundary and given the first 8 hex digits of the SHA-256 of the full name
(the same photo name always gives the same report name; two names that share their
start stay apart), and ``CaseReportResult.shortened`` says which.  One photo whose report
cannot be written (a folder in the way, a full disk) is listed in
``CaseReportResult.failed`` with the reason; the other photos still get theirs.
"""

from __future__ import annotations

import hashlib
import os
import tempfile
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Callable, Iterable, Optional

from qgis.PyQt.QtCore import Qt
from qgis.PyQt.QtGui import QImage

from ...inference.hashing import sha256_file
from ...inference.outputs.files import remove_quietly, temp_sibling
from ...inference.outputs.prediction_row import PredictionRow
from ..run.attention_image import attention_overlay, legend_image, model_view
from .attention import AttentionMaps, AttentionSource
from .facts import (CaseReportError, Custody, RunFacts, custody_of,
                         plugin_version, read_run)
from .layout import Block, Sheet, build_layout, export_pdf
from .case_map import build_case_map
from .text import (caveat, conflict_line, constraint_lines, custody_rows, latlon,
                        parameter_rows, percent, photo_check_title, placement_lines,
                        prediction_lines,
                        short_caveat)
from ..i18n import tr
from ..image_loading import read_qimage
from .photo_exif import read_exif_facts

__all__ = ["CaseReportError", "CaseReportResult", "write_case_reports", "report_name"]

PHOTO_BOX = 900  # px: sharp at the photo's 4 cm on paper, small in the PDF
ATTENTION_PX = 448
NAME_BYTES = 200  # a report's name before "-<n>.pdf": file systems allow 255 bytes


@dataclass
class CaseReportResult:
    out_dir: str
    written: list = field(default_factory=list)  # (photo path as recorded, pdf path)
    failed: list = field(default_factory=list)  # (photo path as recorded, why), one line
    shortened: list = field(default_factory=list)  # (photo path, pdf): names cut to fit


def _fitting(base: str) -> str:
    """`base` itself when it has at most ``NAME_BYTES`` bytes in UTF-8, else its start
    and 8 hex digits of its SHA-256 (module docstring)."""
    data = base.encode("utf-8")
    if len(data) <= NAME_BYTES:
        return base
    digest = hashlib.sha256(data).hexdigest()[:8]
    head = data[:NAME_BYTES - 9].decode("utf-8", "ignore")
    return f"{head}~{digest}"


def _base(photo: PredictionRow) -> str:
    stem, ext = os.path.splitext(photo.file_name or os.path.basename(photo.photo_path))
    base = f"{stem}_{ext.lstrip('.')}" if ext else stem
    return "".join(c if c.isalnum() or c in "-_." else "_" for c in base) or "photo"


def report_name(photo: PredictionRow, taken: set) -> str:
    """``<stem>_<ext>.pdf`` (photo.jpg and photo.heic side by side get two reports),
    numbered when two photos of the run share a name (same name, other folders);
    shortened to fit a file name (``_fitting``)."""
    base = _fitting(_base(photo))
    name, n = f"{base}.pdf", 1
    while name.lower() in taken:
        n += 1
        name = f"{base}-{n}.pdf"
    taken.add(name.lower())
    return name


def write_case_reports(gpkg_path: str, out_dir: str, photos: Optional[Iterable[str]] = None,
                       attention: bool = True,
                       progress: Optional[Callable[[int, int], None]] = None,
                       should_stop: Optional[Callable[[], bool]] = None) -> CaseReportResult:
    """A PDF per photo of the run `gpkg_path` (or per photo of `photos`, paths as the
    run recorded them) in `out_dir`, created if needed.  CaseReportError when the file
    is not a run, holds no geolocated photo, or `photos` names one it does not hold.
    `progress(done, total)` follows the photos done (written or failed); once
    `should_stop()` says so, no further report is started and the one under way is
    dropped before its export (the result then lists the complete reports only).  A
    photo whose report cannot be written goes to ``result.failed`` with the reason and
    the others are still written."""
    run = read_run(gpkg_path)
    chosen = _chosen(run, photos)
    os.makedirs(out_dir, exist_ok=True)
    result = CaseReportResult(os.path.abspath(out_dir))
    source = AttentionSource(run, enabled=attention)
    context = _RunContext(run, plugin_version(), _utc_now(), _sha256_or_reason(run.gpkg_path))
    taken: set = set()
    with tempfile.TemporaryDirectory(prefix="geodecoder-report-") as scratch:
        for i, photo in enumerate(chosen):
            if should_stop is not None and should_stop():
                break
            name = report_name(photo, taken)
            pdf = os.path.join(result.out_dir, name)
            try:
                done = write_one(context, photo, source, pdf, os.path.join(scratch, str(i)),
                                 should_stop)
            except Exception as exc:  # noqa: BLE001 - one photo's failure, the others go on
                result.failed.append((photo.photo_path, _one_line(exc)))
            else:
                if done is None:
                    break
                result.written.append((photo.photo_path, pdf))
                if _fitting(_base(photo)) != _base(photo):
                    result.shortened.append((photo.photo_path, pdf))
            if progress is not None:
                progress(i + 1, len(chosen))
    return result


def _one_line(exc: BaseException) -> str:
    return " ".join(str(exc).split()) or type(exc).__name__


@dataclass(frozen=True)
class _RunContext:
    run: RunFacts
    version: str
    written_utc: str
    gpkg_sha256: str


def _chosen(run: RunFacts, photos: Optional[Iterable[str]]) -> list[PredictionRow]:
    if not run.photos:
        raise CaseReportError(tr("{path} holds no geolocated photo: nothing to report.")
                              .format(path=run.gpkg_path))
    if photos is None:
        return list(run.photos)
    by_path = {os.path.normcase(os.path.abspath(p.photo_path)): p for p in run.photos}
    chosen = []
    for path in photos:
        photo = by_path.get(os.path.normcase(os.path.abspath(path)))
        if photo is None:
            raise CaseReportError(tr("{photo} is not a geolocated photo of {run}.").format(
                photo=path, run=run.gpkg_path))
        chosen.append(photo)
    return chosen


def _utc_now() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="seconds")


def _sha256_or_reason(path: str) -> str:
    try:
        return sha256_file(path)
    except OSError as exc:
        return tr("cannot be read ({error})").format(error=exc)


def write_one(context: _RunContext, photo: PredictionRow, source: AttentionSource, pdf: str,
              scratch: str, should_stop: Optional[Callable[[], bool]] = None
              ) -> Optional[str]:
    """One photo's report at `pdf` (atomically); `scratch` is a folder for its images.
    None, with nothing written, when `should_stop()` says so before the export."""
    os.makedirs(scratch, exist_ok=True)
    custody = custody_of(photo, context.run.gpkg_path)
    maps = source.for_photo(custody.path, custody)
    sheet = make_sheet(context, photo, custody, maps, scratch)
    if should_stop is not None and should_stop():
        return None
    case_map = build_case_map(context.run, photo)
    layout = build_layout(case_map.project, sheet, case_map)
    tmp = temp_sibling(Path(pdf).with_name("report.pdf"), ".pdf")  # short, whatever the name
    try:
        export_pdf(layout, str(tmp))
        os.replace(tmp, pdf)
    finally:
        remove_quietly(tmp)
    return pdf


def _save(image: Optional[QImage], path: str, quality: int = -1) -> Optional[str]:
    if image is None or image.isNull() or not image.save(path, None, quality):
        return None
    return path


def _photo_picture(path: Optional[str], scratch: str) -> Optional[str]:
    """The upright photo as a JPEG the layout can show (HEIC and EXIF rotation are
    handled by ``read_qimage``; QgsLayoutItemPicture does neither)."""
    if path is None:
        return None
    image = read_qimage(path, PHOTO_BOX)
    if image is not None and max(image.width(), image.height()) > PHOTO_BOX:
        image = image.scaled(PHOTO_BOX, PHOTO_BOX, Qt.KeepAspectRatio, Qt.SmoothTransformation)
    if image is not None:
        image = image.convertToFormat(QImage.Format_RGB32)
    return _save(image, os.path.join(scratch, "photo.jpg"), 88)


def _attention_picture(path: Optional[str], maps: AttentionMaps, scratch: str
                       ) -> Optional[str]:
    if maps.maps is None or path is None:
        return None
    view = model_view(path, ATTENTION_PX)
    if view is None:
        return None
    return _save(attention_overlay(view, maps.maps[-1]), os.path.join(scratch, "why.png"))


def make_sheet(context: _RunContext, photo: PredictionRow, custody: Custody,
               maps: AttentionMaps, scratch: str) -> Sheet:
    run = context.run
    photo_png = _photo_picture(custody.path, scratch)
    attention_png = _attention_picture(custody.path, maps, scratch)
    legend_png = _save(legend_image(180, 12), os.path.join(scratch, "ramp.png"))
    if custody.path is None:
        photo_caption = tr("PHOTO FILE MISSING: {path}. Its SHA-256 cannot be checked.").format(
            path=photo.photo_path)
    elif not photo_png:
        photo_caption = tr("The photo cannot be shown here (a format this QGIS cannot "
                           "read): {name}").format(name=photo.file_name)
    else:
        photo_caption = tr("The photo (upright), {name}.").format(name=photo.file_name)
    if custody.path is not None:
        photo_caption += " " + tr("SHA-256 check: {verdict}").format(verdict=custody.verdict())
    if attention_png:
        levels = maps.maps.shape[0]
        attention_caption = tr("Why here? Where the model looked, at the finest of its "
                               "{n} levels, over the centre square it saw; recomputed "
                               "with the run's weights.").format(n=levels)
    else:
        attention_caption = tr("Why here? {reason}").format(
            reason=maps.reason or tr("not shown: the photo cannot be read"))
    conflict, is_conflict = conflict_line(photo)
    exif = read_exif_facts(custody.path)
    exif_lines = [tr("GPS: {ll}").format(ll=latlon(photo.exif_lat, photo.exif_lon)
                                         if photo.exif_lat is not None else tr("none")),
                  *exif.lines(), conflict]
    started = run.value("started")
    return Sheet(
        title=tr("Case report: {name}").format(name=photo.file_name),
        subtitle=tr("GeoDecoder run {gpkg}, started {started} (UTC) · model {model} "
                    "{version} · report written {now}").format(
            gpkg=os.path.basename(run.gpkg_path), started=started,
            model=run.value("model_name"), version=run.value("model_version"),
            now=context.written_utc),
        photo_png=photo_png, photo_caption=photo_caption, photo_ok=custody.matches,
        attention_png=attention_png, attention_caption=attention_caption,
        legend_png=legend_png,
        candidates=tuple((str(c.rank), c.place, percent(c.probability),
                          latlon(c.lat, c.lon, 4))
                         for c in photo.candidates),
        prediction=Block(tr("The prediction"), tuple(placement_lines(run, photo)
                                                     + prediction_lines(run, photo))),
        exif=Block(tr("EXIF facts (from the file) and the EXIF check"), tuple(exif_lines),
                   alert=is_conflict),
        caveat_short=short_caveat(),
        custody=tuple(custody_rows(run, photo, custody, context.version,
                                   context.written_utc, context.gpkg_sha256)),
        custody_check_row=photo_check_title(),
        constraints=Block(tr("Constraints applied"), tuple(constraint_lines(run, photo))),
        parameters=tuple(parameter_rows(run)),
        caveat=caveat())
