"""What a run leaves behind: a GeoPackage a colleague can open (styles inside), the
shipped styles themselves, the basemap, and the attention overlay."""

from __future__ import annotations

import importlib.util
import shutil
import subprocess
import xml.etree.ElementTree as ET

import numpy as np
import pytest
from qgis.core import QgsProject, QgsVectorLayer
from qgis.PyQt.QtCore import Qt
from qgis.PyQt.QtGui import QColor, QImage

from tests.test_plugin_fixtures import ROOT, import_plugin, photo_folder  # noqa: F401

import_plugin()
from geodecoder.inference.outputs import schema, styles  # noqa: E402
from geodecoder.services.run import basemap, layers as run_layers, pipeline as run_pipeline  # noqa: E402
from geodecoder.services.run.attention_image import attention_overlay, heat_rgba  # noqa: E402


def _style_builder():
    """tools/style_builder.py (a build tool, not shipped in the plugin zip)."""
    spec = importlib.util.spec_from_file_location("geodecoder_style_builder",
                                                  ROOT / "tools" / "style_builder.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def run_gpkg(tmp_path_factory, tiny_bundle_dir, photo_folder):  # noqa: F811
    folder = photo_folder[0]
    stream = run_pipeline.PredictionStream([str(folder)], str(tiny_bundle_dir), device="cpu",
                                           batch_size=4, top_k=3)
    out = tmp_path_factory.mktemp("share") / "for colleague.gpkg"
    return run_pipeline.predict_to_geopackage(out, stream)


def test_gpkg_opens_in_a_fresh_project_with_its_styles(run_gpkg):
    project = QgsProject()  # a colleague's empty project, not the plugin's
    layers = {}
    for name in ("predictions", "candidates", "cells_level_0", "cells_level_2", "regions",
                 "surface"):
        layer = QgsVectorLayer(f"{run_gpkg}|layername={name}", name, "ogr")
        assert layer.isValid(), name
        project.addMapLayer(layer)
        layers[name] = layer
        count, _ids, style_names, _descriptions, error = layer.listStylesInDatabase()
        assert count >= 1 and name in style_names, (name, error)
    # photos on one point counted (issue 20.5), each photo by how it was placed, then by
    # its confidence (issue 18)
    assert layers["predictions"].renderer().type() == "pointCluster"
    rules = layers["predictions"].renderer().embeddedRenderer().rootRule().children()
    assert [r.filterExpression().startswith("attribute('method')") for r in rules[:2]] == [
        True, True] and all('"confidence"' in r.filterExpression() for r in rules[2:])
    assert "<img" in layers["predictions"].mapTipTemplate()
    assert layers["candidates"].renderer().classAttribute() == "rank"
    assert layers["regions"].renderer().type() == "categorizedSymbol"
    assert layers["surface"].renderer().classAttribute() == "probability"
    fill = layers["cells_level_0"].renderer().symbol().symbolLayer(0)
    assert fill.brushStyle() == Qt.NoBrush  # coarse levels: light outlines only
    assert layers["cells_level_2"].renderer().classAttribute() == "probability"  # finest


def test_gpkg_lists_every_layer_in_ogrinfo(run_gpkg):
    ogrinfo = shutil.which("ogrinfo")
    if ogrinfo is None:
        pytest.skip("ogrinfo (gdal-bin) is not installed")
    out = subprocess.run([ogrinfo, "-so", "-q", str(run_gpkg)], capture_output=True,
                         text=True, timeout=60, check=True).stdout
    for name in ("predictions", "candidates", "cells_level_0", "cells_level_1", "cells_level_2",
                 "surface", "regions", "failures", "run_info"):
        assert f": {name} (" in out, out


def test_layers_load_under_one_group_from_any_gpkg(run_gpkg, qgis_new_project):
    layers = run_layers.load_run_layers(str(run_gpkg), qgis_new_project, "GeoDecoder test")
    assert qgis_new_project.layerTreeRoot().findGroup("GeoDecoder test") is layers.group
    assert [lyr.name() for lyr in layers.cells][0] == "Cells level 0 (coarsest)"
    assert len(layers.all()) == 8
    root_node = qgis_new_project.layerTreeRoot().findLayer(layers.surface.id())
    assert not root_node.itemVisibilityChecked()  # the surface would hide the rest


def test_shipped_styles_are_what_the_builder_makes():
    built = _style_builder().build_styles()
    shipped = styles.shipped_styles()
    assert set(shipped) == set(built)
    for levels in (1, 3, 7):  # every layer but the tables is styled, at any depth
        styled = set(styles.applicable_styles(levels))
        spatial = {d.name for d in schema.layer_defs(levels) if d.geometry}
        assert styled == spatial, spatial ^ styled
    for name, qml in built.items():
        assert shipped[name] == qml, (f"{name}.qml differs: run "
                                      "`python tools/style_builder.py resources/styles`")


@pytest.mark.parametrize("name", ["predictions", "candidates", "cells_level_1", "surface",
                                  "regions"])
def test_each_style_loads_into_its_schema_layer_without_error(name):
    spec = next(d for d in schema.layer_defs(3) if d.name == name)
    kinds = {"String": "string", "Integer": "integer", "Real": "double", "DateTime": "datetime"}
    fields = "&".join(f"field={f.name}:{kinds[f.type]}" for f in spec.fields)
    layer = QgsVectorLayer(f"{spec.geometry}?crs=EPSG:4326&{fields}", name, "memory")
    path = styles.style_path(name)
    ET.parse(path)  # well-formed XML
    message, ok = layer.loadNamedStyle(str(path))
    assert ok, message
    assert layer.renderer() is not None


def test_world_basemap_goes_under_the_results_once(qgis_new_project, run_gpkg):
    run_layers.load_run_layers(str(run_gpkg), qgis_new_project, "GeoDecoder run")
    layer = basemap.add_basemap(basemap.WORLD, qgis_new_project)
    assert layer.isValid() and layer.source().startswith(basemap.world_map_path())
    root = qgis_new_project.layerTreeRoot()
    assert root.children()[-1].layerId() == layer.id()  # at the bottom, under the run
    assert root.children()[0].name() == "GeoDecoder run"
    assert basemap.add_basemap(basemap.WORLD, qgis_new_project) is layer
    assert len(root.findLayers()) == 9  # 8 run layers + one basemap


def test_osm_is_a_web_layer_made_only_on_request():
    layer = basemap.make_basemap(basemap.OSM)
    assert layer.providerType() == "wms" and "tile.openstreetmap.org" in layer.source()


def test_attention_overlay_heats_where_the_model_looked():
    photo = QImage(224, 224, QImage.Format_RGB32)
    photo.fill(QColor(128, 128, 128))
    grid = np.zeros((7, 7), dtype=np.float32)
    grid[0, 6] = 1.0  # top-right token
    out = attention_overlay(photo, grid)
    assert (out.width(), out.height()) == (224, 224)
    hot, cold = QColor(out.pixel(220, 4)), QColor(out.pixel(4, 220))
    assert cold.getRgb()[:3] == (128, 128, 128)  # no attention: photo unchanged
    assert hot.red() > 190 and hot.green() > 190 and hot.blue() < 160  # bright, warm
    rgba = heat_rgba(grid)
    assert rgba.shape == (7, 7, 4) and rgba[0, 6, 3] > rgba[6, 0, 3] == 0
