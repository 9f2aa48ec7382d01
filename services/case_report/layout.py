"""The print layout of a case report: two A4 landscape pages per photo.

Page 1 answers "where, and how sure?": the map (big), the photo and where the model
looked, the candidates, the EXIF facts with the conflict flag, and the caveat.  Page 2
is the record: the chain of custody, the constraints and every parameter of the run.
Positions are millimetres on the page; text is exported as text (not outlines) so a
report can be searched and its hashes copied.  A layout and its private project may be
built and exported in a worker thread (``case_report``); they must then stay in it.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Optional, Sequence

from qgis.core import (
    QgsFillSymbol,
    QgsLayoutExporter,
    QgsLayoutFrame,
    QgsLayoutItemLabel,
    QgsLayoutItemLegend,
    QgsLayoutItemManualTable,
    QgsLayoutItemMap,
    QgsLayoutItemMapGrid,
    QgsLayoutItemMapOverview,
    QgsLayoutItemPage,
    QgsLayoutItemPicture,
    QgsLayoutMeasurement,
    QgsLayoutPoint,
    QgsLayoutSize,
    QgsLayoutTable,
    QgsLayoutTableColumn,
    QgsLayoutUtils,
    QgsLegendRenderer,
    QgsLegendStyle,
    QgsPrintLayout,
    QgsRenderContext,
    QgsTableCell,
    QgsTextFormat,
    QgsUnitTypes,
)
from qgis.PyQt.QtCore import Qt
from qgis.PyQt.QtGui import QColor, QFont

from .case_map import SEA, WORLD, CaseMap, free_corner, grid_interval, inside_world
from ..i18n import tr

SANS, MONO = "DejaVu Sans", "DejaVu Sans Mono"
MARGIN = 10.0
PAGE_W, PAGE_H = 297.0, 210.0
TEXT = QColor(30, 30, 30)
MUTED = QColor(90, 90, 90)
ALERT = QColor(190, 20, 20)
OVERVIEW_BELOW_DEG = 200.0  # a main map narrower than this gets a world map in its corner
MAX_CANDIDATE_ROWS = 6
CANDIDATES_H = 46.0  # mm: six candidates, two lines each at most, and the header


@dataclass(frozen=True)
class Block:
    """A titled block of lines on the page."""

    title: str
    lines: tuple[str, ...]
    alert: bool = False


@dataclass(frozen=True)
class Sheet:
    """Everything one photo's report shows, already put into words and pictures."""

    title: str
    subtitle: str
    photo_png: Optional[str]  # None: the photo cannot be shown
    photo_caption: str
    photo_ok: bool  # the file's SHA-256 matches the run's (else the caption is an alert)
    attention_png: Optional[str]
    attention_caption: str
    legend_png: Optional[str]  # the heat ramp
    candidates: tuple[tuple[str, str, str, str], ...]  # rank, place, probability, lat/lon
    prediction: Block
    exif: Block
    caveat_short: str
    custody: tuple[tuple[str, str], ...]
    custody_check_row: str  # the title of the custody row with the photo check
    constraints: Block
    parameters: tuple[tuple[str, str], ...]
    caveat: str


def _font(family: str, size: float, bold: bool = False) -> QFont:
    """`family` without ligatures: Qt draws "fi" and "ff" as one glyph otherwise, and a
    report's text (a hash, "GPS fix") must copy and search as the letters it shows."""
    font = QFont(family)
    font.setPointSizeF(size)
    font.setBold(bold)
    font.setStyleStrategy(QFont.PreferNoShaping)
    return font


def _place(item, page: int, x: float, y: float, w: float, h: float) -> None:
    item.attemptResize(QgsLayoutSize(w, h, QgsUnitTypes.LayoutMillimeters))
    item.attemptMove(QgsLayoutPoint(x, y, QgsUnitTypes.LayoutMillimeters), page=page)


def _label(layout, page: int, text: str, x: float, y: float, w: float, h: float,
           size: float = 8.0, bold: bool = False, color: QColor = TEXT,
           family: str = SANS) -> QgsLayoutItemLabel:
    item = QgsLayoutItemLabel(layout)
    item.setText(text)
    item.setFont(_font(family, size, bold))
    item.setFontColor(color)
    item.setMarginX(0.0)
    item.setMarginY(0.0)
    item.setHAlign(Qt.AlignLeft)
    item.setVAlign(Qt.AlignTop)
    layout.addLayoutItem(item)
    _place(item, page, x, y, w, h)
    return item


def _block(layout, page: int, block: Block, x: float, y: float, w: float, h: float,
           size: float = 8.0) -> None:
    _label(layout, page, block.title, x, y, w, 5, size=9.5, bold=True,
           color=ALERT if block.alert else TEXT)
    _label(layout, page, "\n".join(block.lines), x, y + 5.5, w, h - 5.5, size=size,
           color=ALERT if block.alert else TEXT)


def _text_format(family: str, size: float, bold: bool = False) -> QgsTextFormat:
    fmt = QgsTextFormat()
    fmt.setFont(_font(family, size, bold))
    fmt.setSize(size)
    fmt.setColor(TEXT)
    return fmt


def _table(layout, page: int, headers: Sequence[str], rows, x: float, y: float, w: float,
           h: float, widths: Sequence[float], size: float = 7.5,
           mono_columns: Sequence[int] = (), alert_rows: Sequence[int] = ()) -> None:
    """A manual table in one frame (no header row when `headers` is empty); cells of
    `mono_columns` in a fixed-width font, so hashes line up and stay on one line; rows
    of `alert_rows` in bold red."""
    table = QgsLayoutItemManualTable.create(layout)
    layout.addMultiFrame(table)
    table.setHeaderTextFormat(_text_format(SANS, size, bold=True))
    table.setContentTextFormat(_text_format(SANS, size))
    table.setCellMargin(0.9)
    table.setGridStrokeWidth(0.15)
    table.setGridColor(QColor(170, 170, 170))
    table.setWrapBehavior(QgsLayoutTable.WrapText)
    if headers:
        table.setHeaders([QgsLayoutTableColumn(title) for title in headers])
        table.setIncludeTableHeader(True)
        table.setHeaderMode(QgsLayoutTable.FirstFrame)
        table.setHeaderHAlignment(QgsLayoutTable.HeaderLeft)
    else:
        table.setIncludeTableHeader(False)
        table.setHeaderMode(QgsLayoutTable.NoHeaders)
    contents = []
    for r, row in enumerate(rows):
        cells = []
        for i, text in enumerate(row):
            cell = QgsTableCell(str(text))
            fmt = _text_format(MONO, size - 0.4) if i in mono_columns else None
            if r in alert_rows:
                fmt = _text_format(MONO if i in mono_columns else SANS, size - 0.4, bold=True)
                fmt.setColor(ALERT)
            if fmt is not None:
                cell.setTextFormat(fmt)
            cells.append(cell)
        contents.append(cells)
    table.setTableContents(contents)
    table.setColumnWidths(list(widths))
    frame = QgsLayoutFrame(layout, table)
    table.addFrame(frame)
    _place(frame, page, x, y, w, h)


def _picture(layout, page: int, path: str, x: float, y: float, w: float, h: float) -> None:
    item = QgsLayoutItemPicture(layout)
    item.setResizeMode(QgsLayoutItemPicture.Zoom)
    item.setPictureAnchor(QgsLayoutItemPicture.Middle)
    item.setPicturePath(path)
    layout.addLayoutItem(item)
    _place(item, page, x, y, w, h)


def _map_item(layout, layers, x: float, y: float, w: float, h: float) -> QgsLayoutItemMap:
    """A framed map frame on page 1 showing exactly ``layers`` over the sea colour."""
    item = QgsLayoutItemMap(layout)
    item.setLayers(layers)
    item.setKeepLayerSet(True)
    item.setBackgroundColor(SEA)
    item.setFrameEnabled(True)
    item.setFrameStrokeWidth(QgsLayoutMeasurement(0.3))
    layout.addLayoutItem(item)
    _place(item, 0, x, y, w, h)
    return item


def _map(layout, case_map: CaseMap, x: float, y: float, w: float, h: float
         ) -> QgsLayoutItemMap:
    item = _map_item(layout, case_map.layers, x, y, w, h)
    item.setCrs(case_map.layers[0].crs() if case_map.layers else item.crs())
    item.zoomToExtent(case_map.extent)
    extent = inside_world(item.extent())  # the page's shape added sky beyond a pole
    item.setExtent(extent)
    grid = QgsLayoutItemMapGrid(tr("Graticule"), item)
    step = grid_interval(max(extent.width(), extent.height()))
    grid.setIntervalX(step)
    grid.setIntervalY(step)
    grid.setStyle(QgsLayoutItemMapGrid.Solid)
    grid.setGridLineColor(QColor(120, 140, 160, 110))
    grid.setGridLineWidth(0.1)
    grid.setAnnotationEnabled(True)
    grid.setAnnotationFormat(QgsLayoutItemMapGrid.DegreeMinuteNoSuffix
                             if step < 1 else QgsLayoutItemMapGrid.DecimalWithSuffix)
    grid.setAnnotationPrecision(0)
    grid.setAnnotationTextFormat(_text_format(SANS, 6.0))
    for side in (QgsLayoutItemMapGrid.Left, QgsLayoutItemMapGrid.Right,
                 QgsLayoutItemMapGrid.Top, QgsLayoutItemMapGrid.Bottom):
        grid.setAnnotationPosition(QgsLayoutItemMapGrid.InsideMapFrame, side)
    item.grids().addGrid(grid)
    return item


def _legend(layout, map_item: QgsLayoutItemMap, case_map: CaseMap, x: float, y: float,
            w: float) -> float:
    """The map's legend below it, three columns, the regions' and constraints' entries
    without their layer title; returns its height (mm)."""
    legend = QgsLayoutItemLegend(layout)
    legend.setLinkedMap(map_item)
    legend.setAutoUpdateModel(False)
    root = legend.model().rootGroup()
    root.removeAllChildren()
    for layer in case_map.layers:
        if layer is case_map.basemap:
            continue
        node = root.addLayer(layer)
        if layer in case_map.untitled:
            QgsLegendRenderer.setNodeLegendStyle(node, QgsLegendStyle.Hidden)
    legend.setTitle("")
    legend.setColumnCount(3)
    legend.setSplitLayer(True)
    legend.setEqualColumnWidth(True)
    legend.setSymbolHeight(3.5)
    legend.setSymbolWidth(5.5)
    for style in (QgsLegendStyle.Subgroup, QgsLegendStyle.SymbolLabel, QgsLegendStyle.Group):
        legend.rstyle(style).setFont(_font(SANS, 7.5))
    legend.setBackgroundEnabled(False)
    legend.setFrameEnabled(False)
    legend.setBoxSpace(1.0)
    legend.setResizeToContents(False)
    layout.addLayoutItem(legend)
    context = QgsLayoutUtils.createRenderContextForLayout(layout, None)
    size = QgsLegendRenderer(legend.model(), legend.legendSettings()).minimumSize(context)
    _place(legend, 0, x, y, w, size.height())
    return size.height()


def _overview(layout, main: QgsLayoutItemMap, case_map: CaseMap, x: float, y: float,
              w: float, h: float) -> None:
    """A small world map in the main map's corner, with the main map's extent framed:
    where on Earth a zoomed map is."""
    item = _map_item(layout, case_map.overview_layers, x, y, w, h)
    item.setCrs(main.crs())
    item.zoomToExtent(WORLD)
    overview = QgsLayoutItemMapOverview(tr("Main map"), item)
    overview.setLinkedMap(main)
    overview.setFrameSymbol(QgsFillSymbol.createSimple(
        {"color": "215,25,28,40", "outline_color": "215,25,28", "outline_width": "0.5"}))
    item.overviews().addOverview(overview)


def build_layout(project, sheet: Sheet, case_map: CaseMap) -> QgsPrintLayout:
    layout = QgsPrintLayout(project)
    layout.initializeDefaults()  # one A4 page
    layout.setName(sheet.title)
    collection = layout.pageCollection()
    collection.page(0).setPageSize("A4", QgsLayoutItemPage.Landscape)
    second = QgsLayoutItemPage(layout)
    second.setPageSize("A4", QgsLayoutItemPage.Landscape)
    collection.addPage(second)
    _first_page(layout, sheet, case_map)
    _second_page(layout, sheet)
    return layout


def _header(layout, page: int, sheet: Sheet, suffix: str) -> None:
    _label(layout, page, sheet.title, MARGIN, 7, PAGE_W - 2 * MARGIN, 8, size=15, bold=True)
    _label(layout, page, f"{sheet.subtitle} · {suffix}", MARGIN, 15.5, PAGE_W - 2 * MARGIN,
           5, size=7.5, color=MUTED)


def _first_page(layout, sheet: Sheet, case_map: CaseMap) -> None:
    _header(layout, 0, sheet, tr("page 1 of 2: where, and how sure"))
    top, map_w, map_h = 23.0, 180.0, 122.0
    map_item = _map(layout, case_map, MARGIN, top, map_w, map_h)
    if case_map.extent.width() < OVERVIEW_BELOW_DEG:
        w, h, pad = 54.0, 28.0, 1.5
        corner = free_corner(map_item.extent(), case_map.points, (w + pad) / map_w,
                             (h + pad) / map_h)
        x = MARGIN + pad if corner.endswith("left") else MARGIN + map_w - w - pad
        y = top + map_h - h - pad if corner.startswith("bottom") else top + pad
        _overview(layout, map_item, case_map, x, y, w, h)
    y = top + map_h + 1.5
    y += _legend(layout, map_item, case_map, MARGIN, y, map_w) + 2
    _label(layout, 0, sheet.caveat_short, MARGIN, y, map_w, 5, size=8.5, bold=True,
           color=ALERT)
    _block(layout, 0, sheet.prediction, MARGIN, y + 7, map_w, PAGE_H - MARGIN - y - 7,
           size=8)
    right = MARGIN + map_w + 6
    col_w = PAGE_W - MARGIN - right
    pic = (col_w - 3) / 2
    if sheet.photo_png:
        _picture(layout, 0, sheet.photo_png, right, top, pic, pic)
        _label(layout, 0, sheet.photo_caption, right, top + pic + 1.5, pic, 22, size=7,
               color=TEXT if sheet.photo_ok else ALERT, bold=not sheet.photo_ok)
    else:  # a framed empty place, so the gap reads as "missing", not as a layout fault
        box = _label(layout, 0, sheet.photo_caption, right, top, pic, pic, size=7.5,
                     bold=True, color=ALERT)
        box.setFrameEnabled(True)
        box.setFrameStrokeColor(ALERT)
        box.setMarginX(2.0)
        box.setMarginY(2.0)
    x = right + pic + 3
    caption_y = top
    if sheet.attention_png:
        _picture(layout, 0, sheet.attention_png, x, top, pic, pic)
        if sheet.legend_png:
            _picture(layout, 0, sheet.legend_png, x, top + pic + 1, pic, 2.5)
            _label(layout, 0, tr("less"), x, top + pic + 4, 12, 3.5, size=6, color=MUTED)
            _label(layout, 0, tr("more attention"), x + pic - 17, top + pic + 4, 17, 3.5,
                   size=6, color=MUTED)
        caption_y = top + pic + 8
    _label(layout, 0, sheet.attention_caption, x, caption_y, pic,
           top + pic + 24 - caption_y, size=7, color=TEXT if sheet.attention_png else MUTED)
    y = top + pic + 25
    shown = sheet.candidates[:MAX_CANDIDATE_ROWS]
    title = tr("Top candidates") if len(shown) == len(sheet.candidates) else tr(
        "Top candidates ({n} of {total}; all in the run's Candidates layer)").format(
        n=len(shown), total=len(sheet.candidates))
    _label(layout, 0, title, right, y, col_w, 5, size=9.5, bold=True)
    _table(layout, 0, [tr("#"), tr("Place"), tr("Prob."), tr("Lat, lon")], shown,
           right, y + 5.5, col_w, CANDIDATES_H, [3.5, 46, 9.5, 23], size=6.8)
    y += 7.5 + CANDIDATES_H
    _block(layout, 0, sheet.exif, right, y, col_w, PAGE_H - MARGIN - y, size=7.5)


def _second_page(layout, sheet: Sheet) -> None:
    _header(layout, 1, sheet, tr("page 2 of 2: the record"))
    top, width = 23.0, PAGE_W - 2 * MARGIN
    _label(layout, 1, tr("Chain of custody"), MARGIN, top, width, 5, size=9.5, bold=True)
    rows = len(sheet.custody)
    alerts = [i for i, (what, _value) in enumerate(sheet.custody)
              if what == sheet.custody_check_row and not sheet.photo_ok]
    _table(layout, 1, [], sheet.custody, MARGIN, top + 5.5, width, 4.6 * rows + 2,
           [46, 222], size=7.5, mono_columns=(1,), alert_rows=alerts)
    y = top + 10 + 4.6 * rows
    left_w = 128.0
    _block(layout, 1, sheet.constraints, MARGIN, y, left_w, 36, size=8)
    _label(layout, 1, tr("Caveat"), MARGIN, y + 38, left_w, 5, size=9.5, bold=True,
           color=ALERT)
    _label(layout, 1, sheet.caveat, MARGIN, y + 43.5, left_w, PAGE_H - MARGIN - y - 43.5,
           size=8.5)
    right = MARGIN + left_w + 8
    col_w = PAGE_W - MARGIN - right
    _label(layout, 1, tr("Parameters of the run (as recorded)"), right, y, col_w, 5,
           size=9.5, bold=True)
    _table(layout, 1, [], sheet.parameters, right, y + 5.5, col_w,
           PAGE_H - MARGIN - y - 5.5, [32, col_w - 36], size=7, mono_columns=(1,))


def export_pdf(layout: QgsPrintLayout, path: str) -> None:
    """Write `layout` to `path`; RuntimeError with QGIS's reason when it fails."""
    settings = QgsLayoutExporter.PdfExportSettings()
    settings.dpi = 200
    settings.rasterizeWholeImage = False
    settings.forceVectorOutput = False
    settings.textRenderFormat = QgsRenderContext.TextFormatAlwaysText
    settings.exportMetadata = True
    result = QgsLayoutExporter(layout).exportToPdf(path, settings)
    if result != QgsLayoutExporter.Success:
        raise RuntimeError(tr("QGIS could not write the PDF {path} (exporter result {code})")
                           .format(path=path, code=int(result)))
