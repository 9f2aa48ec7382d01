"""Builds the shipped layer styles (resources/styles/<layer>.qml) with the PyQGIS API.

The renderers are made in code and exported with ``exportNamedStyle``, so the QML is
what QGIS itself writes and always loads.  File names are the layer names of
``inference/outputs/schema.py``: the GeoPackage writer stores each style in the file's
``layer_styles`` table, and QGIS applies it when anyone opens the layer.

Regenerate after a change (from the plugin folder):
    QT_QPA_PLATFORM=offscreen .venv/bin/python tools/style_builder.py resources/styles
"""

from __future__ import annotations

import sys
from pathlib import Path
from xml.etree.ElementTree import canonicalize  # nosec B405

from qgis.core import (
    QgsCategorizedSymbolRenderer,
    QgsFontMarkerSymbolLayer,
    QgsPointClusterRenderer,
    QgsProperty,
    QgsSymbolLayer,
    QgsUnitTypes,
    QgsEditorWidgetSetup,
    QgsFillSymbol,
    QgsGraduatedSymbolRenderer,
    QgsMapLayer,
    QgsMarkerSymbol,
    QgsReadWriteContext,
    QgsRendererCategory,
    QgsRendererRange,
    QgsRuleBasedRenderer,
    QgsSingleSymbolRenderer,
    QgsVectorLayer,
)
from qgis.PyQt.QtGui import QColor
from qgis.PyQt.QtXml import QDomDocument

# the photo itself, or (for a GeoPackage handed on with its photos beside it) the
# relative path from the GeoPackage's folder
PHOTO_EXPR = ("replace(if(file_exists(\"photo_path\"), \"photo_path\", "
              "file_path(layer_property(@layer, 'path')) || '/' || \"photo_relpath\"), "
              "'\\\\', '/')")
MAP_TIP = ("<div style=\"max-width:220px\"><b>[% \"file_name\" %]</b><br>"
           # how the point was placed (a track or EXIF GPS), else the model's confidence
           "[% \"place\" %] — [% if(attribute('method') IN ('exif', 'track'), 'placed by ' "
           "|| if(attribute('method') = 'exif', 'EXIF GPS', 'track (± ' || "
           "format_number(attribute('radius_m'), 0) || ' m)'), "
           "format_number(\"confidence\" * 100, 1) || '%') %]<br>"
           # the scene as words where the plugin added the virtual field (services/scenes.py)
           "scene: [% coalesce(attribute('scene_name'), \"scene\") %]<br>"
           "<img src=\"file:///[% regexp_replace(" + PHOTO_EXPR + ", '^/+', '') %]\" "
           "width=\"200\"></div>")
CANDIDATE_TIP = ("<b>[% \"file_name\" %]</b><br>rank [% \"rank\" %]: "
                 "[% format_number(\"probability\" * 100, 1) %]%<br>[% \"place\" %]")
DOCTYPE = "<!DOCTYPE qgis PUBLIC 'http://mrcc.com/qgis.dtd' 'SYSTEM'>"
CATEGORIES = (QgsMapLayer.Symbology | QgsMapLayer.MapTips | QgsMapLayer.Fields
              | QgsMapLayer.Rendering)


def _memory_layer(geometry: str, fields: str) -> QgsVectorLayer:
    spec = "&".join(f"field={f}" for f in fields.split())
    return QgsVectorLayer(f"{geometry}?crs=EPSG:4326&{spec}", "style", "memory")


def _marker(color: str, size: float, outline: str = "#ffffff") -> QgsMarkerSymbol:
    return QgsMarkerSymbol.createSimple({"name": "circle", "color": color, "size": str(size),
                                         "outline_color": outline, "outline_width": "0.3"})


CLUSTER_MM = 3.0  # photos closer than this on the map are drawn as one counted marker


def cluster_symbol() -> QgsMarkerSymbol:
    """A dark disc with the number of photos in it (``@cluster_size``)."""
    symbol = _marker("#3b0f0f", 6.0, "#ffffff")
    count = QgsFontMarkerSymbolLayer("Sans Serif", "0", 3.4, QColor("#ffffff"))
    count.setFontStyle("Bold")
    count.setDataDefinedProperty(QgsSymbolLayer.PropertyCharacter,
                                 QgsProperty.fromExpression("@cluster_size"))
    symbol.appendSymbolLayer(count)
    return symbol


def _shaped(shape: str, color: str, size: float) -> QgsMarkerSymbol:
    return QgsMarkerSymbol.createSimple({"name": shape, "color": color, "size": str(size),
                                         "outline_color": "#1a1a1a", "outline_width": "0.3"})


MODEL_ONLY = "coalesce(attribute('method'), 'model') NOT IN ('exif', 'track')"
RULE_KEY = "{{8d1a7c3e-0000-4000-8000-{:012d}}}"


def predictions_layer() -> QgsVectorLayer:
    layer = _memory_layer("Point", "photo_path:string photo_relpath:string file_name:string "
                                   "place:string confidence:double method:string "
                                   "radius_m:double")
    # by how the point was placed (issue 18): the photo's own EXIF GPS (green squares), a
    # track (blue diamonds), else the model's answer by its confidence; dark outlines: the
    # answer must stand out over the regions and any basemap
    ranges = [(0.0, 0.05, "#fdd49e", 3.2, "below 5%"), (0.05, 0.2, "#fc8d59", 3.6, "5–20%"),
              (0.2, 0.5, "#e34a33", 4.2, "20–50%"), (0.5, None, "#7f0000", 5.0,
                                                     "50% and more")]
    root = QgsRuleBasedRenderer.Rule(None)
    root.setRuleKey(RULE_KEY.format(0))
    root.appendChild(QgsRuleBasedRenderer.Rule(
        _shaped("square", "#33a02c", 3.0), 0, 0, "attribute('method') = 'exif'",
        "placed by the photo's EXIF GPS"))
    root.appendChild(QgsRuleBasedRenderer.Rule(
        _shaped("diamond", "#1f78b4", 3.8), 0, 0, "attribute('method') = 'track'",
        "placed by time on a track"))
    for lo, hi, color, size, label in ranges:
        where = f'{MODEL_ONLY} AND "confidence" >= {lo}' if lo else \
            f'{MODEL_ONLY} AND "confidence" < {hi}'
        if lo and hi is not None:
            where += f' AND "confidence" < {hi}'
        root.appendChild(QgsRuleBasedRenderer.Rule(
            _marker(color, size, "#1a1a1a"), 0, 0, where, f"model: {label}"))
    for i, rule in enumerate(root.children(), start=1):  # keys fixed: the same QML
        rule.setRuleKey(RULE_KEY.format(i))  # at every rebuild (QGIS draws random ones)
    # photos at (nearly) the same point are one marker with their count (issue 20.5: 520
    # photos were 16 stacked dots, no count): QGIS's own cluster renderer around the
    # rules, which still draws a lone photo by how it was placed
    clusters = QgsPointClusterRenderer()
    clusters.setEmbeddedRenderer(QgsRuleBasedRenderer(root))
    clusters.setTolerance(CLUSTER_MM)
    clusters.setToleranceUnit(QgsUnitTypes.RenderMillimeters)
    clusters.setClusterSymbol(cluster_symbol())
    layer.setRenderer(clusters)
    layer.setMapTipTemplate(MAP_TIP)
    idx = layer.fields().indexOf("photo_path")
    layer.setEditorWidgetSetup(idx, QgsEditorWidgetSetup("ExternalResource", {
        "DocumentViewer": 1, "DocumentViewerHeight": 240, "FileWidget": True,
        "FileWidgetButton": True, "StorageMode": 0}))
    return layer


def candidates_layer() -> QgsVectorLayer:
    layer = _memory_layer("Point", "file_name:string rank:integer probability:double "
                                   "place:string")
    ranges = [(1, 1, "#08519c", 3.4, "rank 1"), (2, 3, "#3182bd", 2.6, "rank 2–3"),
              (4, 5, "#6baed6", 2.0, "rank 4–5"), (6, 1000, "#bdd7e7", 1.6, "rank 6+")]
    layer.setRenderer(QgsGraduatedSymbolRenderer("rank", [
        QgsRendererRange(lo - 0.5 if lo > 1 else 0.5, hi + 0.5, _marker(c, s), label)
        for lo, hi, c, s, label in ranges]))
    layer.setMapTipTemplate(CANDIDATE_TIP)
    return layer


CELL_CLASSES = ((0.0, 0.01, "#d0d1e6", "under 1%"), (0.01, 0.05, "#a6bddb", "1–5%"),
                (0.05, 0.2, "#74a9cf", "5–20%"), (0.2, 0.5, "#2b8cbe", "20–50%"),
                (0.5, 1.0, "#045a8d", "50% and more"))


def cells_layer() -> QgsVectorLayer:
    """The coarser levels: thin, light outlines and no fill, so that switched on they
    show the hierarchy without hiding the basemap (they load switched off)."""
    layer = _memory_layer("MultiPolygon", "level:integer rank:integer probability:double")
    symbol = QgsFillSymbol.createSimple({"style": "no", "outline_color": "74,110,150,150",
                                         "outline_width": "0.2"})
    layer.setRenderer(QgsSingleSymbolRenderer(symbol))
    return layer


def cells_finest_layer() -> QgsVectorLayer:
    """The finest level, shaded by probability (light = unlikely), with a legend: what
    an investigator reads first with the regions."""
    layer = _memory_layer("MultiPolygon", "level:integer rank:integer probability:double")
    ranges = []
    for lo, hi, color, label in CELL_CLASSES:
        symbol = QgsFillSymbol.createSimple({"color": color, "outline_color": "#3f6a93",
                                             "outline_width": "0.15"})
        symbol.setOpacity(0.75)
        ranges.append(QgsRendererRange(lo, hi, symbol, label))
    layer.setRenderer(QgsGraduatedSymbolRenderer("probability", ranges))
    return layer


def surface_layer() -> QgsVectorLayer:
    layer = _memory_layer("MultiPolygon", "probability:double")
    ranges = [(0.0, 0.001, "#ffffcc"), (0.001, 0.01, "#fed976"), (0.01, 0.05, "#fd8d3c"),
              (0.05, 0.2, "#e31a1c"), (0.2, 1.0, "#800026")]
    layer.setRenderer(QgsGraduatedSymbolRenderer("probability", [
        QgsRendererRange(lo, hi, QgsFillSymbol.createSimple(
            {"color": color, "outline_style": "no"}), f"{lo:g}–{hi:g}")
        for lo, hi, color in ranges]))
    layer.setOpacity(0.7)
    return layer


def regions_layer() -> QgsVectorLayer:
    layer = _memory_layer("MultiPolygon", "mass:double area_km2:double")
    # light fills: the regions of many photos overlap, and the cells and the basemap
    # must stay readable under them
    inner = QgsFillSymbol.createSimple({"color": "217,65,43,45", "outline_color": "#b2182b",
                                        "outline_width": "0.6"})
    outer = QgsFillSymbol.createSimple({"style": "no", "outline_color": "#d6604d",
                                        "outline_width": "0.4", "outline_style": "dash"})
    layer.setRenderer(QgsCategorizedSymbolRenderer("mass", [
        QgsRendererCategory(0.5, inner, "50% credible region"),
        QgsRendererCategory(0.9, outer, "90% credible region")]))
    return layer


def constraints_layer() -> QgsVectorLayer:
    layer = _memory_layer("MultiPolygon", "kind:string mode:string label:string")
    # outlines only: a constraint frames the answer, it must not hide it
    keep = QgsFillSymbol.createSimple({"style": "no", "outline_color": "#1a9850",
                                       "outline_width": "0.8"})
    drop = QgsFillSymbol.createSimple({"style": "b_diagonal", "color": "#d73027",
                                       "outline_color": "#d73027", "outline_width": "0.6"})
    sun = QgsFillSymbol.createSimple({"color": "254,224,139,70", "outline_color": "#f46d43",
                                      "outline_width": "0.4", "outline_style": "dot"})
    layer.setRenderer(QgsCategorizedSymbolRenderer("concat(\"kind\", ' ', \"mode\")", [
        QgsRendererCategory("area include", keep, "area kept"),
        QgsRendererCategory("area exclude", drop, "area excluded"),
        QgsRendererCategory("sun include", sun, "where the sun stood that high")]))
    return layer


def qml_of(layer: QgsVectorLayer) -> str:
    doc = QDomDocument()
    error = layer.exportNamedStyle(doc, QgsReadWriteContext(), CATEGORIES)
    if error:
        raise RuntimeError(f"cannot export the style: {error}")
    # attributes sorted (C14N) so the files do not change at every rebuild: Qt writes
    # them in hash order, which differs from run to run
    body = canonicalize(xml_data=doc.toString(1))
    return f"{DOCTYPE}\n{body}\n"


def build_styles() -> dict[str, str]:
    """Layer name -> QML text, for every layer that has a style."""
    styles = {"predictions": qml_of(predictions_layer()),
              "candidates": qml_of(candidates_layer()),
              "surface": qml_of(surface_layer()),
              "regions": qml_of(regions_layer()),
              "constraints": qml_of(constraints_layer())}
    styles["cells"] = qml_of(cells_layer())  # every cells_level_<h> layer but the finest
    styles["cells_finest"] = qml_of(cells_finest_layer())
    return styles


def write_styles(folder: Path) -> list[Path]:
    folder.mkdir(parents=True, exist_ok=True)
    written = []
    for name, qml in build_styles().items():
        path = folder / f"{name}.qml"
        path.write_text(qml, encoding="utf-8")
        written.append(path)
    return written


if __name__ == "__main__":
    from qgis.core import QgsApplication

    app = QgsApplication([], False)
    app.initQgis()
    for written_path in write_styles(Path(sys.argv[1] if len(sys.argv) > 1 else "styles")):
        print(written_path)
    app.exitQgis()
