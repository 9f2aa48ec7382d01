"""The dock's "Clues" tab: what the investigator already knows, to narrow the answer.

Areas (countries, a polygon layer or its selected features, a rectangle drawn on the
map) and the sun (a UTC time with the sun's elevation or an object's shadow).  The
panel only gathers a ``ConstraintRequest``; the run service checks it and turns it into
the engine's constraints, so a bad clue is refused before anything runs.
"""

from __future__ import annotations

from datetime import datetime, timezone
from typing import Callable, Optional

from qgis.core import QgsGeometry, QgsMapLayerProxyModel, QgsRectangle, QgsWkbTypes
from qgis.gui import QgsCheckableComboBox, QgsMapLayerComboBox, QgsMapToolExtent, QgsRubberBand
from qgis.PyQt.QtCore import QDateTime, Qt, pyqtSignal
from qgis.PyQt.QtGui import QColor
from qgis.PyQt.QtWidgets import (
    QCheckBox,
    QComboBox,
    QDateTimeEdit,
    QDoubleSpinBox,
    QFormLayout,
    QGroupBox,
    QHBoxLayout,
    QInputDialog,
    QLabel,
    QPushButton,
    QRadioButton,
    QVBoxLayout,
    QWidget,
)

from ..services.clues.request import (EXCLUDE, KEEP, AreaRequest, ConstraintRequest,
                                            SunRequest)
from ..services.clues.constraints import utc_from_photo_time
from ..services.i18n import tr
from .text_clue_box import TextClueBox


def _mode_box(name: str) -> QComboBox:
    box = QComboBox()
    box.setObjectName(name)
    box.addItem(tr("Keep only"), KEEP)
    box.addItem(tr("Exclude"), EXCLUDE)
    return box


def _spin(name: str, low: float, high: float, value: float, suffix: str,
          decimals: int = 1) -> QDoubleSpinBox:
    spin = QDoubleSpinBox()
    spin.setObjectName(name)
    spin.setRange(low, high)
    spin.setDecimals(decimals)
    spin.setValue(value)
    spin.setSuffix(suffix)
    return spin


class CluesPanel(QWidget):
    changed = pyqtSignal()  # any clue set or cleared: the dock updates its summary

    def __init__(self, countries: list[tuple[str, str]], canvas=None,
                 selected_photo: Optional[Callable[[], Optional[str]]] = None,
                 photo_time: Optional[Callable[[str], object]] = None,
                 parent: Optional[QWidget] = None):
        """``countries``: (ISO alpha-2, English name) pairs; ``canvas``: where rectangles
        are drawn (None: the button is off); ``selected_photo()``: the dock's current
        photo for "Time from photo"; ``photo_time(path)``: its EXIF time (local datetime
        and UTC offset, or None), read through the services."""
        super().__init__(parent)
        self.canvas = canvas
        self.selected_photo = selected_photo or (lambda: None)
        self.photo_time = photo_time
        self._rectangle: Optional[QgsRectangle] = None
        self._rectangle_crs = ""
        self._tool = None
        self._previous_tool = None
        self._band = None

        self.keep_countries = self._countries_box("geodecoderKeepCountries", countries)
        self.exclude_countries = self._countries_box("geodecoderExcludeCountries", countries)
        self.text_clue = TextClueBox()
        self.text_clue.use_countries.connect(self.keep_only)
        self.layer = QgsMapLayerComboBox()
        self.layer.setObjectName("geodecoderAreaLayer")
        self.layer.setFilters(QgsMapLayerProxyModel.PolygonLayer)
        self.layer.setAllowEmptyLayer(True)
        self.layer.setLayer(None)
        self.layer.layerChanged.connect(lambda _layer: self.changed.emit())
        self.layer_mode = _mode_box("geodecoderAreaLayerMode")
        self.selected_only = QCheckBox(tr("Selected features only"))
        self.selected_only.setObjectName("geodecoderAreaSelectedOnly")
        self.rect_mode = _mode_box("geodecoderRectangleMode")
        self.draw_button = QPushButton(tr("Draw on map"))
        self.draw_button.setObjectName("geodecoderDrawRectangle")
        self.draw_button.setCheckable(True)
        self.draw_button.setEnabled(canvas is not None)
        self.draw_button.toggled.connect(self._toggle_drawing)
        self.clear_rect_button = QPushButton(tr("Clear"))
        self.clear_rect_button.setObjectName("geodecoderClearRectangle")
        self.clear_rect_button.clicked.connect(self.clear_rectangle)
        self.rect_label = QLabel(tr("No rectangle"))
        self.rect_label.setObjectName("geodecoderRectangleLabel")
        self.rect_label.setWordWrap(True)

        self.sun = QGroupBox(tr("Sun and shadow"))
        self.sun.setObjectName("geodecoderSunGroup")
        self.sun.setCheckable(True)
        self.sun.setChecked(False)
        self.sun.toggled.connect(lambda _on: self.changed.emit())
        self.sun_time = QDateTimeEdit()
        self.sun_time.setObjectName("geodecoderSunTime")
        self.sun_time.setTimeSpec(Qt.UTC)
        self.sun_time.setDisplayFormat("yyyy-MM-dd HH:mm:ss")
        self.sun_time.setDateTime(QDateTime.currentDateTimeUtc())
        self.exif_button = QPushButton(tr("Time from the photo…"))
        self.exif_button.setObjectName("geodecoderSunFromExif")
        self.exif_button.setToolTip(tr("Take the time from the selected photo's EXIF; you "
                                       "confirm its offset to UTC"))
        self.exif_button.clicked.connect(self.time_from_photo)
        self.by_elevation = QRadioButton(tr("The sun's elevation"))
        self.by_elevation.setObjectName("geodecoderSunByElevation")
        self.by_shadow = QRadioButton(tr("An object's shadow"))
        self.by_shadow.setObjectName("geodecoderSunByShadow")
        self.by_elevation.setChecked(True)
        self.elevation = _spin("geodecoderSunElevation", -90.0, 90.0, 45.0, " °")
        self.height = _spin("geodecoderShadowHeight", 0.0, 10000.0, 1.8, " m", 2)
        self.length = _spin("geodecoderShadowLength", 0.0, 100000.0, 2.5, " m", 2)
        self.tolerance = _spin("geodecoderSunTolerance", 0.1, 30.0, 2.0, " °")
        for radio in (self.by_elevation, self.by_shadow):
            radio.toggled.connect(self._sync_sun)
        self.summary = QLabel()
        self.summary.setObjectName("geodecoderCluesSummary")
        self.summary.setWordWrap(True)
        for combo in (self.keep_countries, self.exclude_countries):
            # the model's signal: checkedItemsChanged misses ticks set from code
            combo.model().dataChanged.connect(lambda *_args: self.changed.emit())
        self.changed.connect(self._update_summary)
        self._layout()
        self._sync_sun()
        self._update_summary()

    @staticmethod
    def _countries_box(name: str, countries) -> QgsCheckableComboBox:
        box = QgsCheckableComboBox()
        box.setObjectName(name)
        box.setDefaultText(tr("none"))
        for code, label in countries:
            box.addItemWithCheckState(f"{label} ({code})", Qt.Unchecked, code)
        box.setSizeAdjustPolicy(QComboBox.AdjustToMinimumContentsLengthWithIcon)
        box.setMinimumContentsLength(6)
        return box

    def _layout(self) -> None:
        """One column: the dock is about 290 px wide."""
        countries = QGroupBox(tr("Countries"))
        form = QFormLayout(countries)
        form.setRowWrapPolicy(QFormLayout.WrapLongRows)
        form.addRow(tr("Keep only"), self.keep_countries)
        form.addRow(tr("Exclude"), self.exclude_countries)
        layer = QGroupBox(tr("Polygon layer"))
        lay = QVBoxLayout(layer)
        for widget in (self.layer, self.layer_mode, self.selected_only):
            lay.addWidget(widget)
        rect = QGroupBox(tr("Rectangle on the map"))
        rlay = QVBoxLayout(rect)
        rlay.addWidget(self.rect_mode)
        row = QHBoxLayout()
        row.addWidget(self.draw_button)
        row.addWidget(self.clear_rect_button)
        rlay.addLayout(row)
        rlay.addWidget(self.rect_label)
        sun = QVBoxLayout(self.sun)
        sun.addWidget(QLabel(tr("When (UTC)")))
        for widget in (self.sun_time, self.exif_button, self.by_elevation):
            sun.addWidget(widget)
        numbers = QFormLayout()
        numbers.addRow(tr("Elevation"), self.elevation)
        sun.addLayout(numbers)
        sun.addWidget(self.by_shadow)
        numbers = QFormLayout()
        numbers.addRow(tr("Height"), self.height)
        numbers.addRow(tr("Shadow"), self.length)
        numbers.addRow(tr("Tolerance"), self.tolerance)
        sun.addLayout(numbers)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        intro = QLabel(tr("What you know narrows the answer: cells outside lose their "
                          "probability and the rest is renormalised."))
        intro.setWordWrap(True)
        for widget in (intro, countries, self.text_clue, layer, rect, self.sun, self.summary):
            layout.addWidget(widget)

    def keep_only(self, codes) -> None:
        """Tick exactly ``codes`` in Keep only (the text clue's suggestion); the person
        can still edit the list."""
        wanted = set(codes)
        for index in range(self.keep_countries.count()):
            state = Qt.Checked if self.keep_countries.itemData(index) in wanted \
                else Qt.Unchecked
            if self.keep_countries.itemCheckState(index) != state:  # one signal per change
                self.keep_countries.setItemCheckState(index, state)

    # ---------------------------------------------------------------- rectangle
    def _toggle_drawing(self, on: bool) -> None:
        if self.canvas is None:
            return
        if on:
            self._previous_tool = self.canvas.mapTool()
            self._tool = QgsMapToolExtent(self.canvas)
            self._tool.extentChanged.connect(self._rectangle_drawn)
            self.canvas.setMapTool(self._tool)
        elif self._tool is not None:
            if self.canvas.mapTool() is self._tool:
                self.canvas.unsetMapTool(self._tool)
                if self._previous_tool is not None:
                    self.canvas.setMapTool(self._previous_tool)
            self._tool = None

    def _rectangle_drawn(self, rect: QgsRectangle) -> None:
        if rect.isEmpty():
            return
        crs = self.canvas.mapSettings().destinationCrs()
        self.set_rectangle(rect, crs.toWkt())
        self.draw_button.setChecked(False)

    def set_rectangle(self, rect: Optional[QgsRectangle], crs_wkt: str = "") -> None:
        """The rectangle clue (also what drawing on the map ends with)."""
        self._rectangle = None if rect is None or rect.isEmpty() else QgsRectangle(rect)
        self._rectangle_crs = crs_wkt if self._rectangle is not None else ""
        if self._band is not None:
            self._band.reset(QgsWkbTypes.PolygonGeometry)
        if self._rectangle is None:
            self.rect_label.setText(tr("No rectangle"))
        else:
            r = self._rectangle
            self.rect_label.setText(tr("x {x0:.4g} … {x1:.4g}, y {y0:.4g} … {y1:.4g}").format(
                x0=r.xMinimum(), x1=r.xMaximum(), y0=r.yMinimum(), y1=r.yMaximum()))
            if self.canvas is not None:
                if self._band is None:
                    self._band = QgsRubberBand(self.canvas, QgsWkbTypes.PolygonGeometry)
                    self._band.setStrokeColor(QColor(200, 30, 30))
                    self._band.setFillColor(QColor(200, 30, 30, 30))
                    self._band.setWidth(2)
                self._band.setToGeometry(QgsGeometry.fromRect(r), None)
        self.changed.emit()

    def clear_rectangle(self) -> None:
        self.set_rectangle(None)

    # ---------------------------------------------------------------------- sun
    def _sync_sun(self, *_args) -> None:
        shadow = self.by_shadow.isChecked()
        self.elevation.setEnabled(not shadow)
        self.height.setEnabled(shadow)
        self.length.setEnabled(shadow)
        self.changed.emit()

    def time_from_photo(self) -> bool:
        """Fill the UTC time from the selected photo's EXIF, once the user has confirmed
        the offset to UTC (EXIF times are the camera's local clock; OffsetTimeOriginal,
        when the camera wrote it, is proposed).  Returns whether the time was set."""
        path = self.selected_photo()
        if not path or self.photo_time is None:
            self.summary.setText(tr("Select a photo in the Photos tab first."))
            return False
        try:
            found = self.photo_time(path)
        except ValueError as exc:
            self.summary.setText(str(exc))
            return False
        if found is None:
            self.summary.setText(tr("This photo's EXIF holds no date and time."))
            return False
        known = found.offset is not None
        text, ok = QInputDialog.getText(
            self, tr("Offset to UTC"),
            tr("The photo says it was taken at {t} (the camera's clock).\nIts offset to "
               "UTC ({known}), e.g. +02:00:").format(
                t=found.local.strftime("%Y-%m-%d %H:%M:%S"),
                known=tr("from the EXIF: confirm it") if known
                else tr("not in the EXIF: type it"))
            + ("" if found.source == "DateTimeOriginal" else "\n" + tr(
                "Careful: the photo has no capture time; this is its EXIF DateTime, which "
                "editing software rewrites.")),
            text=found.offset_text() if known else "")
        if not ok:
            return False
        try:
            self.set_time_utc(utc_from_photo_time(found, text))
        except ValueError as exc:
            self.summary.setText(str(exc))
            return False
        self.sun.setChecked(True)
        return True

    def set_time_utc(self, when: datetime) -> None:
        when = when.astimezone(timezone.utc)
        self.sun_time.setDateTime(QDateTime.fromString(
            when.strftime("%Y-%m-%dT%H:%M:%SZ"), Qt.ISODate).toUTC())
        self.changed.emit()

    def time_utc_iso(self) -> str:
        return self.sun_time.dateTime().toUTC().toString("yyyy-MM-ddTHH:mm:ss") + "Z"

    # ------------------------------------------------------------------ request
    def request(self) -> ConstraintRequest:
        areas = []
        keep = tuple(self.keep_countries.checkedItemsData())
        if keep:
            text = self.text_clue.applied  # the text that suggested them, recorded
            areas.append(AreaRequest(KEEP, countries=tuple(map(str, keep)),
                                     text=text.text if text else "",
                                     text_languages=text.languages if text else ()))
        drop = tuple(self.exclude_countries.checkedItemsData())
        if drop:
            areas.append(AreaRequest(EXCLUDE, countries=tuple(map(str, drop))))
        layer = self.layer.currentLayer()
        if layer is not None:
            areas.append(AreaRequest(self.layer_mode.currentData(), layer_id=layer.id(),
                                     selected_only=self.selected_only.isChecked()))
        if self._rectangle is not None:
            r = self._rectangle
            areas.append(AreaRequest(self.rect_mode.currentData(),
                                     rectangle=(r.xMinimum(), r.yMinimum(), r.xMaximum(),
                                                r.yMaximum()),
                                     rectangle_crs=self._rectangle_crs))
        sun = None
        if self.sun.isChecked():
            shadow = self.by_shadow.isChecked()
            sun = SunRequest(self.time_utc_iso(), tolerance_deg=self.tolerance.value(),
                             elevation_deg=None if shadow else self.elevation.value(),
                             object_height=self.height.value() if shadow else None,
                             shadow_length=self.length.value() if shadow else None)
        return ConstraintRequest(tuple(areas), sun)

    def clear(self) -> None:
        for combo in (self.keep_countries, self.exclude_countries):
            combo.deselectAllOptions()
        self.text_clue.clear()
        self.layer.setLayer(None)
        self.clear_rectangle()
        self.sun.setChecked(False)

    def _update_summary(self) -> None:
        request = self.request()
        n = len(request.areas) + (request.sun is not None)
        self.summary.setText(tr("No clue set: the model's answer is used as it is.") if n == 0
                             else tr("{n} clue(s) will narrow the next run.").format(n=n))

    def close_tools(self) -> None:
        """The dock goes away: leave no map tool or rubber band behind."""
        self.draw_button.setChecked(False)
        if self._band is not None and self.canvas is not None:
            self.canvas.scene().removeItem(self._band)
            self._band = None
