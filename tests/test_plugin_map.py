"""A map you can read (issue 11): what is switched on and how it is drawn, the basemap
under a first run, scene names as words, and the headers and legend of the dock's
result view."""

from __future__ import annotations

import json
import shutil

import numpy as np
import pytest
from qgis.core import (
    QgsExpression,
    QgsExpressionContext,
    QgsExpressionContextUtils,
    QgsProject,
    QgsVectorLayer,
)
from qgis.PyQt.QtCore import Qt

from tests.test_plugin_fixtures import import_plugin, photo_folder  # noqa: F401

import_plugin()
from geodecoder.services.run import basemap, layers as run_layers, pipeline as run_pipeline  # noqa: E402
from geodecoder.services.run.result_details import details_for  # noqa: E402
from geodecoder.ui.result_view import ResultView, details_html  # noqa: E402
from geodecoder.services.scenes import scene_label  # noqa: E402
from geodecoder.inference.modeling.bundle import seal_bundle  # noqa: E402


@pytest.fixture(scope="module")
def s3_run_gpkg(tmp_path_factory, tiny_bundle_dir, photo_folder):  # noqa: F811
    """A run of a bundle whose scene names are the Places365 S3 codes (as the default
    model trained on MP-16's S3_Label has)."""
    bundle = tmp_path_factory.mktemp("s3") / "s3-bundle"
    shutil.copytree(tiny_bundle_dir, bundle)
    config = json.loads((bundle / "config.json").read_text())
    config["scene_names"] = ["0", "1", "2"]
    (bundle / "config.json").write_text(json.dumps(config))
    seal_bundle(bundle)  # a changed config is another model: sealed anew
    stream = run_pipeline.PredictionStream(photo_folder[1]["good"][:4], str(bundle),
                                           device="cpu", batch_size=4, top_k=3)
    out = tmp_path_factory.mktemp("s3run") / "s3.gpkg"
    return run_pipeline.predict_to_geopackage(out, stream)


def _visible(project: QgsProject, layer) -> bool:
    return project.layerTreeRoot().findLayer(layer.id()).itemVisibilityChecked()


def test_on_by_default_is_what_an_investigator_reads_first(s3_run_gpkg, qgis_new_project):
    layers = run_layers.load_run_layers(str(s3_run_gpkg), qgis_new_project, "run")
    assert len(layers.cells) == 3
    on = {layer.name() for layer in layers.all() if layer.isSpatial()
          and _visible(qgis_new_project, layer)}
    assert on == {"Predictions", "Regions (50% / 90%)", "Cells level 2 (finest)"}
    assert [lyr.name() for lyr in layers.cells] == [
        "Cells level 0 (coarsest)", "Cells level 1", "Cells level 2 (finest)"]

    finest = layers.cells[-1].renderer()
    assert finest.type() == "graduatedSymbol" and finest.classAttribute() == "probability"
    legend = [item.label() for item in finest.legendSymbolItems()]
    assert legend == ["under 1%", "1–5%", "5–20%", "20–50%", "50% and more"]
    for coarse in layers.cells[:-1]:  # present, off and light: outlines only, thin
        symbol = coarse.renderer().symbol()
        assert coarse.renderer().type() == "singleSymbol"
        assert symbol.symbolLayer(0).brushStyle() == Qt.NoBrush
        assert symbol.symbolLayer(0).strokeWidth() <= 0.25
        assert symbol.symbolLayer(0).strokeColor().alpha() < 255


def test_scene_codes_are_shown_as_words(s3_run_gpkg, run_gpkg_of_tiny_bundle,
                                        qgis_new_project):
    layers = run_layers.load_run_layers(str(s3_run_gpkg), qgis_new_project, "s3")
    assert layers.scene_names == ["0", "1", "2"]
    predictions = layers.predictions
    words = {f["scene_name"] for f in predictions.getFeatures()}
    assert words and words <= {"indoor", "natural", "urban"}, words
    feature = next(predictions.getFeatures())
    assert details_for(feature, layers).scene in {"indoor", "natural", "urban"}
    context = QgsExpressionContext(QgsExpressionContextUtils.globalProjectLayerScopes(
        predictions))
    context.setFeature(feature)
    tip = QgsExpression.replaceExpressionText(predictions.mapTipTemplate(), context)
    assert f"scene: {feature['scene_name']}<br>" in tip

    plain = run_layers.load_run_layers(str(run_gpkg_of_tiny_bundle), qgis_new_project, "t")
    # a bundle's own names are shown as they are, from the scene field itself: no
    # expression field on the layer (render threads would read the project's scope)
    assert plain.predictions.fields().indexOf("scene_name") < 0
    assert {f["scene"] for f in plain.predictions.getFeatures()} <= {
        "scene 0", "scene 1", "scene 2"}
    feature = next(plain.predictions.getFeatures())
    context = QgsExpressionContext(QgsExpressionContextUtils.globalProjectLayerScopes(
        plain.predictions))
    context.setFeature(feature)
    tip = QgsExpression.replaceExpressionText(plain.predictions.mapTipTemplate(), context)
    assert f"scene: {feature['scene']}<br>" in tip


def test_only_exactly_the_s3_codes_become_words():
    assert scene_label("2", ["0", "1", "2"]) == "urban"
    assert scene_label("0", ["2", "0", "1"]) == "indoor"
    assert scene_label("1", [str(i) for i in range(16)]) == "1"  # S16 codes: unknown words
    assert scene_label("1", None) == "1"
    assert scene_label("pseudo 3", ["pseudo 3"]) == "pseudo 3"


@pytest.fixture(scope="module")
def run_gpkg_of_tiny_bundle(tmp_path_factory, tiny_bundle_dir, photo_folder):  # noqa: F811
    stream = run_pipeline.PredictionStream(photo_folder[1]["good"][:2], str(tiny_bundle_dir),
                                           device="cpu", top_k=3)
    out = tmp_path_factory.mktemp("tiny") / "tiny.gpkg"
    return run_pipeline.predict_to_geopackage(out, stream)


def test_the_world_map_goes_under_a_run_only_when_the_project_has_no_layer(
        run_gpkg_of_tiny_bundle, qgis_new_project):
    layers = run_layers.load_run_layers(str(run_gpkg_of_tiny_bundle), qgis_new_project, "r")
    results = {layer.id() for layer in layers.all()}
    world = basemap.add_basemap_if_none(qgis_new_project, results)
    assert world is not None and world.source().startswith(basemap.world_map_path())
    root = qgis_new_project.layerTreeRoot()
    assert root.children()[-1].layerId() == world.id()
    assert basemap.add_basemap_if_none(qgis_new_project, results) is None  # one is there

    qgis_new_project.clear()
    own = QgsVectorLayer("Point?crs=EPSG:4326", "my survey points", "memory")
    qgis_new_project.addMapLayer(own)
    layers = run_layers.load_run_layers(str(run_gpkg_of_tiny_bundle), qgis_new_project, "r")
    assert basemap.add_basemap_if_none(qgis_new_project,
                                       {lyr.id() for lyr in layers.all()}) is None


def test_result_tables_and_attention_have_headers_and_a_legend(s3_run_gpkg,
                                                               qgis_new_project):
    layers = run_layers.load_run_layers(str(s3_run_gpkg), qgis_new_project, "s3")
    details = details_for(next(layers.predictions.getFeatures()), layers)
    text = details_html(details)
    for header in ("Rank", "Prob.", "Place (lat, lon)", "Level", "S2 cell token"):
        assert f">{header}</th>" in text, header
    assert f"scene: {details.scene}" in text

    maps = np.random.default_rng(0).random((3, 7, 7)).astype(np.float32)
    view = ResultView(lambda _path: maps)
    view.resize(280, 700)
    view.show_details(details)
    view.why_button.setChecked(True)
    attention = view.attention
    assert attention.count() == 3 and attention.tabText(0) == "0"
    assert "0 = coarsest, 2 = finest" in attention.header.text()
    assert attention.legend.isVisibleTo(view)
    assert not view.photo.isVisibleTo(view)  # the maps take the photo's place
