"""The dock's result panel: the clicked photo, its answer, and "Why here?"."""

from __future__ import annotations

import html
from typing import Callable, Optional

from qgis.PyQt.QtCore import Qt
from qgis.PyQt.QtGui import QPixmap
from qgis.PyQt.QtWidgets import QLabel, QPushButton, QTextBrowser, QVBoxLayout, QWidget

from .attention_view import AttentionView
from .i18n import tr
from .image_loading import read_qimage
from .result_details import ResultDetails

PREVIEW_SIZE = 224  # fits a dock about 300 px wide


def _preview(path: str) -> Optional[QPixmap]:
    image = read_qimage(path, PREVIEW_SIZE)
    return None if image is None else QPixmap.fromImage(image)


def _km2(value: Optional[float]) -> str:
    return "—" if value is None else tr("{v:,.0f} km²").format(v=value)


def details_html(d: ResultDetails) -> str:
    """The text part of the panel (HTML, every value escaped)."""
    e = html.escape
    rows = [f"<b>{e(d.file_name)}</b>",
            tr("Predicted: {lat:.4f}, {lon:.4f} — {place}").format(
                lat=d.lat, lon=d.lon, place=e(d.place or tr("no place name"))),
            tr("Confidence: {c:.1%}; scene: {s}").format(c=d.confidence, s=e(d.scene)),
            tr("Credible regions: 50% {a}, 90% {b}").format(a=_km2(d.region50_km2),
                                                           b=_km2(d.region90_km2))]
    if d.exif_lat is not None and d.exif_lon is not None:
        rows.append(tr("EXIF GPS (true point): {lat:.4f}, {lon:.4f}; error {err:,.0f} km")
                    .format(lat=d.exif_lat, lon=d.exif_lon, err=d.error_km or 0.0))
        if d.exif_conflict:
            rows.append("<b>" + tr("The EXIF position lies outside the 90% region: the model "
                                   "or the metadata is wrong.") + "</b>")
    cands = "".join(f"<tr><td>{c.rank}</td><td>{c.probability:.1%}</td>"
                    f"<td>{c.lat:.3f}, {c.lon:.3f}</td><td>{e(c.place)}</td></tr>"
                    for c in d.candidates)
    cells = "".join(f"<tr><td>{c.level}</td><td><code>{e(c.token)}</code></td>"
                    f"<td>{c.probability:.1%}</td></tr>" for c in d.cells)
    cand_head = _header_row(tr("Rank"), tr("Probability"), tr("Lat, lon"), tr("Place"))
    cell_head = _header_row(tr("Level"), tr("S2 cell token"), tr("Probability"))
    return ("<br>".join(rows)
            + f"<h4>{tr('Top candidates')}</h4>{TABLE}{cand_head}{cands}</table>"
            + f"<h4>{tr('Best S2 cell per level')}</h4>"
            + "<small>" + tr("Level 0 is the coarsest; the token names the cell in the S2 "
                             "geometry (the Cells layers hold it in cell_token).") + "</small>"
            + f"{TABLE}{cell_head}{cells}</table>")


TABLE = "<table cellspacing=\"0\" cellpadding=\"2\">"


def _header_row(*titles: str) -> str:
    return "<tr>" + "".join(f"<th align=\"left\">{html.escape(t)}</th>" for t in titles) \
        + "</tr>"


class ResultView(QWidget):
    """Shows one ``ResultDetails``; "Why here?" asks `attention_lookup` for the maps."""

    def __init__(self, attention_lookup: Callable[[str], object],
                 parent: Optional[QWidget] = None):
        super().__init__(parent)
        self.setObjectName("geodecoderResultView")
        self.attention_lookup = attention_lookup
        self.details: Optional[ResultDetails] = None
        self.photo = QLabel(tr("Select a prediction on the map to see it here."))
        self.photo.setAlignment(Qt.AlignCenter)
        self.photo.setWordWrap(True)
        self.text = QTextBrowser()
        self.text.setObjectName("geodecoderResultText")
        self.text.setMinimumHeight(160)
        self.why_button = QPushButton(tr("Why here?"))
        self.why_button.setObjectName("geodecoderWhyHereButton")
        self.why_button.setCheckable(True)
        self.why_button.setEnabled(False)
        self.why_button.toggled.connect(self._toggle_attention)
        self.attention = AttentionView()
        self.attention.setVisible(False)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        # "Why here?" right under the photo, and its maps in the photo's place: the
        # answer and its reason stay in view in a narrow dock
        for widget in (self.photo, self.attention, self.why_button, self.text):
            layout.addWidget(widget)

    def show_details(self, details: ResultDetails) -> None:
        self.details = details
        pixmap = _preview(details.photo_path)
        # word wrap only for text: a wrapping label lays a pixmap out 0 px high
        self.photo.setWordWrap(pixmap is None)
        if pixmap is None:
            self.photo.setText(tr("The photo cannot be shown: {path}").format(
                path=details.photo_path))
        else:
            self.photo.setPixmap(pixmap)
        self.text.setHtml(details_html(details))
        self.why_button.setEnabled(True)
        if self.why_button.isChecked():
            self._toggle_attention(True)

    def _toggle_attention(self, on: bool) -> None:
        self.attention.setVisible(on)
        self.photo.setVisible(not on)
        if on and self.details is not None:
            self.attention.show_maps(self.details.photo_path,
                                     self.attention_lookup(self.details.photo_path))
