"""The map of a case report: one photo's regions and candidates over the offline world map.

The layers live in a private QgsProject made for the report, not in the user's: a
report written from the dock neither adds nor restyles anything on their map, and one
written by ``qgis_process`` needs no project at all.  The run's features are copied into
memory layers through a read-only OGR dataset: QGIS's own OGR provider opens a
GeoPackage for update (a subset string made it rewrite the file, so its SHA-256 in the
report changed from one report to the next, and made the next layer of the same file
fail with "unable to open database file"), and a report written in a background task
then shares no connection with the project's layers of the same run.  The basemap is
the world map QGIS ships (``basemap.world_map_path``), so a report renders the same
without internet.  Styles are set here, not taken from the run: a report reads the same
whatever a user did to the layers' styles.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Optional

from osgeo import ogr
from qgis.core import (
    QgsCoordinateReferenceSystem,
    QgsFeature,
    QgsFillSymbol,
    QgsGeometry,
    QgsMarkerSymbol,
    QgsPalLayerSettings,
    QgsPointXY,
    QgsProject,
    QgsRectangle,
    QgsRuleBasedRenderer,
    QgsSingleSymbolRenderer,
    QgsTextBufferSettings,
    QgsTextFormat,
    QgsVectorLayer,
    QgsVectorLayerSimpleLabeling,
)
from qgis.PyQt.QtGui import QColor, QFont

from ...inference.outputs.layer_names import CANDIDATES, REGIONS
from ...inference.outputs.prediction_row import PredictionRow
from ..run.basemap import world_map_path
from .facts import CONSTRAINTS, RunFacts
from ..i18n import tr
from ..run.result_details import zoom_extent

MIN_SPAN_DEG = 8.0  # the world map's borders say nothing closer than this
PAD = 1.15
MAX_DETAIL_DEG = 200.0  # wider than this, the points crowd: regions go to the corner map
WORLD = QgsRectangle(-180, -90, 180, 90)
SEA = QColor(214, 230, 242)


@dataclass
class CaseMap:
    project: QgsProject
    layers: list  # top first, as a map item wants them
    extent: QgsRectangle
    basemap: Optional[QgsVectorLayer]
    untitled: list  # layers whose legend entries need no layer title (rule labels say it)
    overview_layers: list  # for the small world map: the regions over the basemap
    points: list  # (lon, lat) the map must not hide: see points_of


def _photo_filter(path: str) -> str:
    """An OGR attribute filter on a GeoPackage: SQLite's SQL, not a QGIS expression.
    SQLite's only escape in a string literal is ``''`` (a backslash is a character), so
    doubling ``'`` quotes any path (tests/test_case_report.py checks ``\\`` and ``'``).
    A QGIS expression needs ``QgsExpression.quotedValue`` (result_details.photo_request)."""
    return "photo_path = '{}'".format(path.replace("'", "''"))


def _rules(layer: QgsVectorLayer, rules) -> None:
    """A rule-based renderer from (label, expression, symbol) triples."""
    root = QgsRuleBasedRenderer.Rule(None)
    for label, expression, symbol in rules:
        root.appendChild(QgsRuleBasedRenderer.Rule(symbol, 0, 0, expression, label))
    layer.setRenderer(QgsRuleBasedRenderer(root))


def _text_format(size: float, bold: bool = False) -> QgsTextFormat:
    fmt = QgsTextFormat()
    font = QFont("DejaVu Sans")
    font.setBold(bold)
    fmt.setFont(font)
    fmt.setSize(size)
    buffer = QgsTextBufferSettings()
    buffer.setEnabled(True)
    buffer.setSize(0.8)
    buffer.setColor(QColor("white"))
    fmt.setBuffer(buffer)
    return fmt


def _label(layer: QgsVectorLayer, expression: str, size: float, placement=None) -> None:
    settings = QgsPalLayerSettings()
    settings.fieldName = expression
    settings.isExpression = True
    settings.setFormat(_text_format(size, bold=True))
    settings.placement = QgsPalLayerSettings.OverPoint if placement is None else placement
    settings.dist = 1.5
    layer.setLabeling(QgsVectorLayerSimpleLabeling(settings))
    layer.setLabelsEnabled(True)


def _gpkg_layer(path: str, name: str, title: str, geometry: str, fields: str,
               where: str = "") -> Optional[QgsVectorLayer]:
    """The features of layer `name` of the GeoPackage `path` (those matching the OGR
    `where`) in a memory layer of `geometry` with `fields` ("name:type&..."); None when
    the file or layer cannot be read."""
    ds = ogr.Open(path, 0)  # read-only: a report never changes the run it reports on
    if ds is None:
        return None
    try:
        source = ds.GetLayerByName(name)
        if source is None:
            return None
        if where and source.SetAttributeFilter(where) != 0:
            return None
        layer = QgsVectorLayer(f"{geometry}?crs=EPSG:4326&field=" + fields.replace(
            "&", "&field="), title, "memory")
        names = layer.fields().names()
        features = []
        for row in source:
            feature = QgsFeature(layer.fields())
            ref = row.GetGeometryRef()
            if ref is not None:
                geom = QgsGeometry()
                geom.fromWkb(bytes(ref.ExportToIsoWkb()))
                if geometry.startswith("Multi"):
                    geom.convertToMultiType()
                feature.setGeometry(geom)
            for i, field in enumerate(names):
                idx = row.GetFieldIndex(field)
                if idx >= 0 and row.IsFieldSetAndNotNull(idx):
                    feature.setAttribute(i, row.GetField(idx))
            features.append(feature)
    finally:
        ds = None
    layer.dataProvider().addFeatures(features)
    layer.updateExtents()
    return layer


def _basemap() -> Optional[QgsVectorLayer]:
    layer = QgsVectorLayer(f"{world_map_path()}|layername=countries",
                           tr("World map (offline)"), "ogr")
    if not layer.isValid():
        return None
    layer.setLabelsEnabled(False)
    layer.setRenderer(QgsSingleSymbolRenderer(QgsFillSymbol.createSimple(
        {"color": "246,243,236", "outline_color": "150,150,150", "outline_width": "0.15"})))
    return layer


def _regions(run: RunFacts, photo: PredictionRow) -> Optional[QgsVectorLayer]:
    layer = _gpkg_layer(run.gpkg_path, REGIONS, tr("Credible regions"), "MultiPolygon",
                        "mass:double", _photo_filter(photo.photo_path))
    if layer is None:
        return None
    _rules(layer, [
        (tr("50% credible region"), '"mass" <= 0.5', QgsFillSymbol.createSimple(
            {"color": "230,85,13,140", "outline_color": "166,54,3", "outline_width": "0.3"})),
        (tr("90% credible region"), '"mass" > 0.5', QgsFillSymbol.createSimple(
            {"color": "253,174,107,90", "outline_color": "230,85,13", "outline_width": "0.3"})),
    ])
    return layer


def _constraints(run: RunFacts) -> Optional[QgsVectorLayer]:
    if not run.constraints:
        return None
    layer = _gpkg_layer(run.gpkg_path, CONSTRAINTS, tr("Constraints"), "MultiPolygon",
                        "kind:string&mode:string&label:string")
    if layer is None:
        return None
    modes = {c.mode == "include" for c in run.constraints}  # a legend entry per mode used
    _rules(layer, [rule for include, rule in (
        (True, (tr("Constraint: only inside"), "\"mode\" = 'include'",
                QgsFillSymbol.createSimple({"color": "0,0,0,0", "outline_color": "35,139,69",
                                            "outline_width": "0.6", "outline_style": "dash"}))),
        (False, (tr("Constraint: excluded"), "\"mode\" <> 'include'",
                 QgsFillSymbol.createSimple({"color": "120,120,120,70",
                                             "outline_color": "90,90,90",
                                             "outline_width": "0.4",
                                             "outline_style": "dot"})))) if include in modes])
    return layer


def _candidates(run: RunFacts, photo: PredictionRow) -> Optional[QgsVectorLayer]:
    layer = _gpkg_layer(run.gpkg_path, CANDIDATES, tr("Top candidates (rank)"), "Point",
                        "rank:integer", _photo_filter(photo.photo_path))
    if layer is None:
        return None
    layer.setRenderer(QgsSingleSymbolRenderer(QgsMarkerSymbol.createSimple(
        {"name": "circle", "color": "255,255,255", "outline_color": "40,40,40",
         "outline_width": "0.35", "size": "2.6"})))
    _label(layer, '"rank"', 7.0, QgsPalLayerSettings.AroundPoint)
    return layer


def _point_layer(title: str, lat: float, lon: float, symbol: QgsMarkerSymbol,
                 label: str = "") -> QgsVectorLayer:
    layer = QgsVectorLayer("Point?crs=EPSG:4326&field=name:string", title, "memory")
    feature = QgsFeature(layer.fields())
    feature.setGeometry(QgsGeometry.fromPointXY(QgsPointXY(lon, lat)))
    feature.setAttribute("name", label)
    layer.dataProvider().addFeatures([feature])
    layer.updateExtents()
    layer.setRenderer(QgsSingleSymbolRenderer(symbol))
    if label:
        _label(layer, '"name"', 7.5, QgsPalLayerSettings.AroundPoint)
    return layer


def points_of(photo: PredictionRow) -> list[tuple[float, float]]:
    """(lon, lat) of what the map must show: the predicted point, the candidates and
    the EXIF position, those of them recorded (a NULL point is not at 0, 0)."""
    pairs = [(photo.lon, photo.lat), *((c.lon, c.lat) for c in photo.candidates),
             (photo.exif_lon, photo.exif_lat)]
    return [(lon, lat) for lon, lat in pairs if lon is not None and lat is not None]


def _padded(rect: QgsRectangle) -> QgsRectangle:
    width = min(max(rect.width() * PAD, MIN_SPAN_DEG), WORLD.width())
    height = min(max(rect.height() * PAD, MIN_SPAN_DEG / 2), WORLD.height())
    centre = rect.center()
    return QgsRectangle(centre.x() - width / 2, centre.y() - height / 2,
                        centre.x() + width / 2, centre.y() + height / 2)


def _extent(photo: PredictionRow, regions: Optional[QgsVectorLayer]) -> QgsRectangle:
    """The points (``points_of``) and the credible regions (their part on the point's
    side of the antimeridian), padded, at least MIN_SPAN_DEG wide.  A region too wide to
    leave the points readable (a weak model's 90% region may cover half the Earth) is
    left to the world map in the corner, the 90% first, then the 50% one.  With
    nothing recorded to show (no point, no candidate, no region), the whole world."""
    located = points_of(photo)
    points = QgsRectangle()
    points.setMinimal()
    for lon, lat in located:
        points.combineExtentWith(lon, lat)
    boxes = {}
    for feature in regions.getFeatures() if regions is not None else ():
        if feature.hasGeometry():
            mass = float(feature["mass"] or 0.0)
            boxes[mass] = zoom_extent(feature.geometry(), photo.lon, photo.lat)
    for mass in sorted(boxes, reverse=True) + [None]:
        parts = ([points] if located else []) + [
            boxes[other] for other in sorted(boxes) if mass is not None and other <= mass]
        if not parts:
            continue
        rect = QgsRectangle(parts[0])
        for part in parts[1:]:
            rect.combineExtentWith(part)
        rect = _padded(rect)
        if mass is None or rect.width() <= MAX_DETAIL_DEG:
            return inside_world(rect)
    return QgsRectangle(WORLD)  # nothing recorded to show closer (no point, no region)


CORNERS = ("bottom-left", "bottom-right", "top-left", "top-right")


def free_corner(extent: QgsRectangle, points, fraction_w: float, fraction_h: float) -> str:
    """The corner of `extent` where a box of that fraction of its size covers the fewest
    `points` (lon, lat): where the small world map hides nothing, if anywhere."""
    def covered(corner: str) -> int:
        w, h = extent.width() * fraction_w, extent.height() * fraction_h
        x0 = extent.xMinimum() if corner.endswith("left") else extent.xMaximum() - w
        y0 = extent.yMinimum() if corner.startswith("bottom") else extent.yMaximum() - h
        return sum(x0 <= lon <= x0 + w and y0 <= lat <= y0 + h for lon, lat in points)
    return min(CORNERS, key=lambda c: (covered(c), CORNERS.index(c)))


def inside_world(rect: QgsRectangle) -> QgsRectangle:
    """`rect` shifted (not shrunk) to lie in the world's bounds where it fits; a rect
    wider (higher) than the world is centred on it in that direction."""
    def shift(low: float, high: float, world_low: float, world_high: float) -> float:
        if high - low >= world_high - world_low:
            return (world_low + world_high) / 2 - (low + high) / 2
        return max(0.0, world_low - low) - max(0.0, high - world_high)

    dx = shift(rect.xMinimum(), rect.xMaximum(), WORLD.xMinimum(), WORLD.xMaximum())
    dy = shift(rect.yMinimum(), rect.yMaximum(), WORLD.yMinimum(), WORLD.yMaximum())
    return QgsRectangle(rect.xMinimum() + dx, rect.yMinimum() + dy,
                        rect.xMaximum() + dx, rect.yMaximum() + dy)


def grid_interval(span_deg: float) -> float:
    """A round graticule step giving about four to eight lines across `span_deg`."""
    for step in (0.5, 1, 2, 5, 10, 15, 30, 45, 60):
        if span_deg / step <= 8:
            return float(step)
    return 90.0


def build_case_map(run: RunFacts, photo: PredictionRow) -> CaseMap:
    """The report's layers for `photo`, in a new private project (made in the calling
    thread: a report task builds it in its worker, never touching the user's)."""
    project = QgsProject()
    project.setCrs(QgsCoordinateReferenceSystem("EPSG:4326"))  # the layout's maps need one
    basemap = _basemap()
    regions = _regions(run, photo)
    layers = [
        _point_layer(tr("EXIF GPS position"), photo.exif_lat, photo.exif_lon,
                     QgsMarkerSymbol.createSimple(
                         {"name": "cross2", "color": "33,102,172", "outline_color":
                          "33,102,172", "outline_width": "0.8", "size": "4.5"}),
                     tr("EXIF GPS"))
        if photo.exif_lat is not None and photo.exif_lon is not None else None,
        _point_layer(tr("Predicted point (a cell's estimate)"), photo.lat, photo.lon,
                     QgsMarkerSymbol.createSimple(
                         {"name": "star", "color": "215,25,28", "outline_color": "255,255,255",
                          "outline_width": "0.3", "size": "5"}))
        if photo.has_point else None,  # a point not recorded is drawn nowhere
        _candidates(run, photo), regions, _constraints(run), basemap,
    ]
    constraints = layers[4]
    layers = [layer for layer in layers if layer is not None]
    for layer in layers:
        project.addMapLayer(layer)
    return CaseMap(project, layers, _extent(photo, regions), basemap,
                   untitled=[lyr for lyr in (regions, constraints) if lyr is not None],
                   overview_layers=[lyr for lyr in (regions, basemap) if lyr is not None],
                   points=points_of(photo))

