"""The dock's result lookups in real QGIS, on a real run GeoPackage.

Issue 21.2: the features of a photo were found with an expression quoted by hand (``'``
doubled only); QGIS reads a backslash as an escape, so ``back\\slash.jpg`` matched
nothing (every Windows path ``C:\\...`` likewise) and ``x\\' OR 1=1 OR 'y.jpg`` was a
parser error.  Issue 19.4: a NULL point was shown as 0.0000, 0.0000.
"""

from __future__ import annotations

import shutil

import pytest
from osgeo import ogr
from qgis.core import (
    QgsExpression,
    QgsExpressionContext,
    QgsFeature,
    QgsFeatureRequest,
    QgsField,
    QgsFields,
    QgsVectorLayer,
)
from qgis.PyQt.QtCore import QVariant

from tests.test_plugin_fixtures import import_plugin, photo_folder  # noqa: F401

import_plugin()
from geodecoder.services.run import layers as run_layers  # noqa: E402
from geodecoder.services.run import pipeline as run_pipeline  # noqa: E402
from geodecoder.services.run.result_details import (details_for,  # noqa: E402
                                                first_feature_of_photo, photo_request)
from geodecoder.services.scenes import scene_expression  # noqa: E402
from geodecoder.ui.result_view import summary_html, tables_html  # noqa: E402

ODD_NAMES = ("back\\slash.jpg", "it's.jpg", "x\\' OR 1=1 OR 'y.jpg")


@pytest.fixture(scope="module")
def odd_run(tmp_path_factory, tiny_bundle_dir, photo_folder):  # noqa: F811
    """Three real photos under names holding a backslash, a ``'`` and both, geolocated by
    the plugin's own pipeline into a run GeoPackage (besides a plain one)."""
    folder = tmp_path_factory.mktemp("odd") / "photos"
    folder.mkdir()
    good = photo_folder[1]["good"]
    paths = []
    for name, source in zip(ODD_NAMES + ("plain.jpg",), good):
        shutil.copy(source, folder / name)
        paths.append(str(folder / name))
    stream = run_pipeline.PredictionStream(paths, str(tiny_bundle_dir), device="cpu",
                                           batch_size=4, top_k=3)
    gpkg = run_pipeline.predict_to_geopackage(folder.parent / "odd.gpkg", stream)
    assert gpkg is not None
    return gpkg, paths


def _photo_feature(path: str):
    fields = QgsFields()
    fields.append(QgsField("photo_path", QVariant.String))
    feature = QgsFeature(fields)
    feature.setAttribute("photo_path", path)
    return feature


def test_the_request_matches_exactly_its_path():
    """Evaluated by QGIS: true for a feature of that path, false for any other (the
    injected ``OR 1=1`` is part of the name, not a condition)."""
    odd = (*ODD_NAMES, "C:\\Users\\a'b\\p.jpg")
    for path in odd:
        request = photo_request(path)
        expression = QgsExpression(request.filterExpression().expression())
        assert not expression.hasParserError(), (path, expression.parserErrorString())
        for other in (*odd, "plain.jpg"):
            context = QgsExpressionContext()
            context.setFeature(_photo_feature(other))
            assert bool(expression.evaluate(context)) is (other == path), (path, other)


@pytest.mark.parametrize("index", range(len(ODD_NAMES)), ids=ODD_NAMES)
def test_a_photo_with_a_backslash_or_a_quote_in_its_path_is_found(odd_run, qgis_new_project,
                                                                  index):
    gpkg, paths = odd_run
    path = paths[index]
    layers = run_layers.load_run_layers(str(gpkg), qgis_new_project, "odd")
    feature = first_feature_of_photo(layers.predictions, path)
    assert feature is not None and feature["photo_path"] == path
    details = details_for(feature, layers)
    assert details.prediction.photo_path == path
    # candidates and regions are looked up by the path too
    assert [c.rank for c in details.prediction.candidates] == [1, 2, 3]
    assert details.extent is not None and not details.extent.isEmpty()
    # nothing else matches: the expression is the path, not a condition that holds
    assert len(list(layers.predictions.getFeatures(photo_request(path)))) == 1
    assert len(list(layers.candidates.getFeatures(photo_request(path)))) == 3


def test_the_dock_shows_the_photo_of_an_odd_path(plugin, odd_run):
    gpkg, paths = odd_run
    shown = []
    plugin.service.results.resultSelected.connect(shown.append)
    plugin.service.results.open_run(str(gpkg))
    for path in paths[:len(ODD_NAMES)]:
        assert plugin.service.results.show_photo(path), path
        assert shown[-1].prediction.photo_path == path
        assert shown[-1].prediction.candidates


def test_a_memory_copy_of_the_layer_is_searched_the_same(odd_run):
    """A Processing temporary output is a memory layer: QGIS evaluates the expression
    itself there, not the GeoPackage's SQL."""
    gpkg, paths = odd_run
    layer = QgsVectorLayer(f"{gpkg}|layername=predictions", "p", "ogr")
    memory = layer.materialize(QgsFeatureRequest())
    assert memory.providerType() == "memory"
    for path in paths:
        assert first_feature_of_photo(memory, path)["photo_path"] == path


def test_the_case_map_reads_the_features_of_an_odd_path(odd_run):
    """The case map filters with OGR on the GeoPackage (SQLite's SQL, where only ``'``
    is doubled and a backslash is a character): each odd path gets its own rows."""
    from geodecoder.services.case_report import case_map

    gpkg, paths = odd_run
    for path in paths:
        layer = case_map._gpkg_layer(str(gpkg), "candidates", "c", "Point",
                                     "photo_path:string&rank:integer",
                                     case_map._photo_filter(path))
        assert layer is not None, path
        assert sorted((f["photo_path"], f["rank"]) for f in layer.getFeatures()) == [
            (path, 1), (path, 2), (path, 3)]


def test_scene_words_with_a_quote_make_a_valid_expression(monkeypatch):
    """The scene words are translations: one with ``'`` (Italian "all'aperto") or
    ``\\`` must not break the layer's scene_name expression."""
    from geodecoder.services import scenes

    monkeypatch.setattr(scenes, "s3_words",
                        lambda: {"0": "all'interno", "1": "all'aperto", "2": "c\\ittà"})
    expression = QgsExpression(scene_expression(["0", "1", "2"]))
    assert not expression.hasParserError(), expression.parserErrorString()
    fields = QgsFields()
    fields.append(QgsField("scene", QVariant.String))
    feature = QgsFeature(fields)
    context = QgsExpressionContext()
    for code, word in scenes.s3_words().items():
        feature.setAttribute("scene", code)
        context.setFeature(feature)
        assert expression.evaluate(context) == word


def test_a_null_point_is_not_recorded_in_the_dock_never_zero(odd_run, qgis_new_project,
                                                            tmp_path):
    """A predictions row whose point, confidence and EXIF distance are NULL: the dock
    says "not recorded" and no 0.0000, 0.0000."""
    gpkg, paths = odd_run
    copy = tmp_path / "nulls.gpkg"
    shutil.copy(gpkg, copy)
    ds = ogr.Open(str(copy), 1)
    layer = ds.GetLayerByName("predictions")
    for f in layer:
        if f.GetField("photo_path") == paths[-1]:
            for name in ("lat", "lon", "confidence", "error_km", "unconstrained_lat"):
                f.SetFieldNull(name)
            f.SetField("exif_lat", 12.5)
            f.SetField("exif_lon", -3.25)
            f.SetField("constraint_mass_removed", 0.25)
            f.SetGeometry(None)
            assert layer.SetFeature(f) == 0
    ds = None
    layers = run_layers.load_run_layers(str(copy), qgis_new_project, "nulls")
    feature = first_feature_of_photo(layers.predictions, paths[-1])
    details = details_for(feature, layers)
    row = details.prediction
    assert row.lat is None and row.lon is None and row.confidence is None
    text = summary_html(details)
    assert "Exact point: not recorded" in text and "Confidence: not recorded" in text
    assert "Rough point: not recorded" in text  # the headline says so too, no 0, 0
    assert "error not recorded" in text and "12.5000, -3.2500" in text
    assert "0.0000" not in text and "0.0%" not in text.replace("25.0%", "")
    assert tables_html(details)  # the candidates still render
