"""The dock's result panel: the clicked photo, its answer, and "Why here?"."""

from __future__ import annotations

import html
from typing import Callable, Optional

from qgis.PyQt.QtCore import Qt
from qgis.PyQt.QtGui import QPixmap, QTextDocumentFragment
from qgis.PyQt.QtWidgets import (QLabel, QListWidget, QListWidgetItem, QPushButton, QVBoxLayout,
                                 QWidget)

from ..services.answer_words import (candidate_distance_km, candidates_note, decision_line,
                                      headline_lines)
from ..services.i18n import tr
from ..services.image_loading import read_qimage
from ..services.run.result_details import ResultDetails
from .attention_view import AttentionView

PREVIEW_SIZE = 224  # fits a dock about 300 px wide


def _preview(path: str) -> Optional[QPixmap]:
    image = read_qimage(path, PREVIEW_SIZE)
    return None if image is None else QPixmap.fromImage(image)


def _km2(value: Optional[float]) -> str:
    return "—" if value is None else tr("{v:,.0f} km²").format(v=value)


NAME_CHARS = 30  # a longer unbreakable file name would widen a narrow dock


def elide_middle(text: str, limit: int = NAME_CHARS) -> str:
    if len(text) <= limit:
        return text
    keep = (limit - 1) // 2
    return text[:keep] + "…" + text[-(limit - 1 - keep):]


def details_html(d: ResultDetails) -> str:
    """The text part of the panel (HTML, every value escaped)."""
    return summary_html(d) + tables_html(d)


def not_recorded() -> str:
    """A value the run did not record (NULL): said so, never shown as 0."""
    return tr("not recorded")


def _latlon(lat: Optional[float], lon: Optional[float], digits: int = 4) -> str:
    if lat is None or lon is None:
        return not_recorded()
    return f"{lat:.{digits}f}, {lon:.{digits}f}"


def _percent(p: Optional[float]) -> str:
    return not_recorded() if p is None else f"{p:.1%}"


def placement_rows(p) -> list[str]:
    """How the point was chosen, where the run placed photos by time (issue 18): the
    photo's own GPS, its time on a track (which, how far in time, how sure), or the model
    and why; nothing for a run without a track.  The rows below stay the model's."""
    e = html.escape
    model = ""
    if p.model_lat is not None and p.model_lon is not None and p.method != "model":
        model = tr("The model's own answer: {latlon}, {km:,.1f} km away.").format(
            latlon=_latlon(p.model_lat, p.model_lon), km=p.model_distance_km or 0.0)
    if p.method == "exif":
        return [tr("Placed by the photo's EXIF GPS."), model]
    if p.method == "track":
        gap = "–" if p.track_gap_s is None else f"{p.track_gap_s:,.0f}"
        radius = "–" if p.radius_m is None else f"{p.radius_m:,.0f}"
        return ["<b>" + tr("Placed by time on a track") + "</b>: " + e(p.track_source),
                tr("{gap} s from the track points used, within about {r} m.").format(
                    gap=gap, r=radius), model]
    if p.placement_note:
        return [tr("Placed by the model: {why}").format(why=e(p.placement_note))]
    return []


def summary_html(d: ResultDetails) -> str:
    """The answer at the precision it has (services/answer_words.py): the region first
    when the point is not trustworthy, then why the point is where it is, confidence,
    scene, regions, the exact point and the EXIF check."""
    e = html.escape
    p = d.prediction
    head = headline_lines(p)
    if p.method in ("exif", "track"):  # placed, not guessed: the point leads
        top = ["<b>" + tr("Point: {latlon} — {place}").format(
            latlon=_latlon(p.lat, p.lon), place=e(p.place or tr("no place name"))) + "</b>",
               tr("The model alone: {answer}").format(answer=e(head[0]))]
    else:
        top = [f"<b>{e(head[0])}</b>", *(e(line) for line in head[1:])]
    rows = [f"<b>{e(elide_middle(p.file_name))}</b>", *placement_rows(p), *top,
            tr("Confidence: {c}; scene: {s}").format(c=_percent(p.confidence), s=e(d.scene)),
            e(decision_line(p)),
            tr("Credible regions: 50% {a}, 90% {b}").format(a=_km2(p.region50_km2),
                                                           b=_km2(p.region90_km2)),
            "<small>" + tr("Exact point: {latlon} — {place}").format(
                latlon=_latlon(p.lat, p.lon), place=e(p.place or tr("no place name")))
            + "</small>"]
    if p.constraint_mass_removed is not None:
        rows.append(tr("Clues removed {m:.1%} of the probability.").format(
            m=p.constraint_mass_removed))
        if p.unconstrained_lat is not None and p.unconstrained_lon is not None:
            rows.append(tr("Best cell without the clues: {latlon} ({p} then)").format(
                latlon=_latlon(p.unconstrained_lat, p.unconstrained_lon),
                p=_percent(p.unconstrained_probability)))
    if p.exif_lat is not None and p.exif_lon is not None:
        error = not_recorded() if p.error_km is None else tr("{err:,.0f} km").format(
            err=p.error_km)
        rows.append(tr("EXIF GPS (true point): {latlon}; error {error}").format(
            latlon=_latlon(p.exif_lat, p.exif_lon), error=error))
        if p.exif_conflict:
            rows.append("<b>" + tr("The EXIF position lies outside the 90% region: the model "
                                   "or the metadata is wrong.") + "</b>")
    return "<br>".join(rows)


def _candidate_row(p, c) -> str:
    """One candidate: its rank (#1 named as the most probable single cell), probability,
    place over lat, lon and its distance from the point."""
    e = html.escape
    km = candidate_distance_km(p, c)
    away = tr("at the point") if km is not None and km < 1 else \
        tr("{km:,.0f} km from the point").format(km=km) if km is not None else ""
    rank = f"#{c.rank}" + ("<br><small>" + tr("most probable single cell") + "</small>"
                           if c.rank == 1 else "")
    return (f"<tr><td>{rank}</td><td>{_percent(c.probability)}</td>"
            f"<td>{e(c.place) or '—'}<br><small>{_latlon(c.lat, c.lon, 3)}"
            f"{'<br>' + e(away) if away else ''}</small></td></tr>")


def tables_html(d: ResultDetails) -> str:
    """The top candidates (single cells, with their distance from the point) and the
    best S2 cell per level, with headers."""
    e = html.escape
    p = d.prediction
    # three narrow columns (the dock is about 300 px wide): where = place over lat, lon
    cands = "".join(_candidate_row(p, c) for c in p.candidates)
    cells = "".join(f"<tr><td>{c.level}</td><td><code>{e(c.token)}</code></td>"
                    f"<td>{_percent(c.probability)}</td></tr>" for c in p.cells)
    cand_head = _header_row(tr("Rank"), tr("Prob."), tr("Place (lat, lon)"))
    cell_head = _header_row(tr("Level"), tr("S2 cell token"), tr("Prob."))
    return (f"<h4>{tr('Top candidates')}</h4><small>{e(candidates_note(p))}</small>"
            + f"{TABLE}{cand_head}{cands}</table>"
            + f"<h4>{tr('Best S2 cell per level')}</h4>"
            + "<small>" + tr("Level 0 is the coarsest; the token names the cell in the S2 "
                             "geometry (the Cells layers hold it in cell_token).") + "</small>"
            + f"{TABLE}{cell_head}{cells}</table>")


TABLE = "<table cellspacing=\"0\" cellpadding=\"2\">"


def _header_row(*titles: str) -> str:
    return "<tr>" + "".join(f"<th align=\"left\">{html.escape(t)}</th>" for t in titles) \
        + "</tr>"


class DetailsLabel(QLabel):
    """The details as rich text that grows with its content (the Result tab scrolls as
    one page; a text box of its own would scroll inside it in a narrow dock)."""

    def __init__(self, parent: Optional[QWidget] = None):
        super().__init__(parent)
        self.setWordWrap(True)
        self.setTextFormat(Qt.RichText)
        self.setTextInteractionFlags(Qt.TextSelectableByMouse)
        self.setAlignment(Qt.AlignLeft | Qt.AlignTop)

    def setHtml(self, text: str) -> None:  # noqa: N802 - as QTextBrowser
        self.setText(text)

    def toPlainText(self) -> str:  # noqa: N802 - as QTextBrowser
        return QTextDocumentFragment.fromHtml(self.text()).toPlainText()


def EMPTY_TEXT() -> str:  # noqa: N802 - reads as the constant it is, translated late
    return tr("Select a prediction on the map to see it here.")


class ResultView(QWidget):
    """Shows one ``ResultDetails``; "Why here?" asks `attention_lookup` for the maps."""

    def __init__(self, attention_lookup: Callable[[str], object],
                 parent: Optional[QWidget] = None):
        super().__init__(parent)
        self.setObjectName("geodecoderResultView")
        self.attention_lookup = attention_lookup
        self.details: Optional[ResultDetails] = None
        self.photo = QLabel(EMPTY_TEXT())
        self.photo.setAlignment(Qt.AlignCenter)
        self.photo.setWordWrap(True)
        self.text = DetailsLabel()  # the answer, above the photo
        self.text.setObjectName("geodecoderResultText")
        self.tables = DetailsLabel()  # candidates and cells, below "Why here?"
        self.tables.setObjectName("geodecoderResultTables")
        self.why_button = QPushButton(tr("Why here?"))
        self.why_button.setObjectName("geodecoderWhyHereButton")
        self.why_button.setCheckable(True)
        self.why_button.setEnabled(False)
        self.why_button.toggled.connect(self._toggle_attention)
        self.attention = AttentionView()
        self.attention.setVisible(False)
        # the photos of a stack the user clicked on the map (issue 20.5)
        self.stack_label = QLabel()
        self.stack_label.setWordWrap(True)
        self.stack = QListWidget()
        self.stack.setObjectName("geodecoderStackList")
        self.stack.setMaximumHeight(120)
        self.stack.itemClicked.connect(self._stack_clicked)
        self._stack_pick: Optional[Callable[[int], None]] = None
        self._stack_paths: set = set()
        self.show_stack([])
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        # "Why here?" right under the photo, and its maps in the photo's place: the
        # answer and its reason stay in view in a narrow dock
        # the dock puts why_button in its top row, always in view (see dock.py)
        for widget in (self.stack_label, self.stack, self.text, self.photo, self.attention,
                       self.why_button, self.tables):
            layout.addWidget(widget)

    def show_stack(self, entries, on_pick: Optional[Callable[[int], None]] = None) -> None:
        """The photos of the clicked spot, one row each (``entries``: feature id, file
        name, photo path); a row clicked calls ``on_pick(feature id)``.  Fewer than two
        photos: the list is hidden."""
        self.stack.clear()
        self._stack_pick = on_pick
        self._stack_paths = {path for _fid, _name, path in entries}
        for fid, name, path in entries:
            item = QListWidgetItem(elide_middle(name))
            item.setData(Qt.UserRole, int(fid))
            item.setToolTip(path)
            self.stack.addItem(item)
        many = len(entries) > 1
        self.stack_label.setText(tr("{n} photos at this spot; click one to see it:").format(
            n=len(entries)) if many else "")
        self.stack_label.setVisible(many)
        self.stack.setVisible(many)

    def _stack_clicked(self, item: QListWidgetItem) -> None:
        if self._stack_pick is not None:
            self._stack_pick(int(item.data(Qt.UserRole)))

    def show_details(self, details: ResultDetails) -> None:
        self.details = details
        path = details.prediction.photo_path
        if path not in self._stack_paths:  # shown from elsewhere: the stack is stale
            self.show_stack([])
        else:
            for i in range(self.stack.count()):
                if self.stack.item(i).toolTip() == path:
                    self.stack.setCurrentRow(i)
        pixmap = _preview(path)
        # word wrap only for text: a wrapping label lays a pixmap out 0 px high
        self.photo.setWordWrap(pixmap is None)
        if pixmap is None:
            self.photo.setText(tr("The photo cannot be shown: {path}").format(path=path))
        else:
            self.photo.setPixmap(pixmap)
        self.text.setHtml(summary_html(details))
        self.text.setToolTip(path)  # the full name of an elided one
        self.tables.setHtml(tables_html(details))
        self.why_button.setEnabled(True)
        if self.why_button.isChecked():
            self._toggle_attention(True)

    def clear(self) -> None:
        """Nothing shown: the result's run left the project (or a new project began)."""
        self.details = None
        self.show_stack([])
        self.why_button.setChecked(False)
        self.why_button.setEnabled(False)
        self.photo.setPixmap(QPixmap())
        self.photo.setWordWrap(True)
        self.photo.setText(EMPTY_TEXT())
        self.text.setHtml("")
        self.text.setToolTip("")
        self.tables.setHtml("")

    def _toggle_attention(self, on: bool) -> None:
        self.attention.setVisible(on)
        self.photo.setVisible(not on)
        if on and self.details is not None:
            path = self.details.prediction.photo_path
            self.attention.show_maps(path, self.attention_lookup(path))
