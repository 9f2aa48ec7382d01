"""Placing photos by time in real QGIS: the Processing parameters, the style by method."""

from __future__ import annotations

import pytest
from qgis.core import (QgsProcessingException, QgsProcessingFeedback, QgsRenderContext,
                       QgsVectorLayer)

from inference.__main__ import main
from tests.test_plugin_fixtures import import_plugin
from tests.test_track_run import STEPS, make_collection

import_plugin()
from geodecoder.inference.outputs.styles import style_path  # noqa: E402
from geodecoder.services.native_libs import ensure_own_libraries  # noqa: E402


def predict(*args) -> int:
    """The command line inside QGIS: shapely and pyproj with their own GEOS/PROJ first,
    as the plugin loads them (services/native_libs.py)."""
    ensure_own_libraries()
    return main(["predict", *map(str, args), "--quiet"])

ALG = "geodecoder:geolocate_photos"


class Feedback(QgsProcessingFeedback):
    def __init__(self):
        super().__init__()
        self.warnings, self.infos = [], []

    def pushWarning(self, warning):  # noqa: N802 - QGIS's name
        self.warnings.append(warning)
        super().pushWarning(warning)

    def pushInfo(self, info):  # noqa: N802
        self.infos.append(info)
        super().pushInfo(info)


def test_processing_places_a_collection_by_its_gps_photos(provider, tmp_path,
                                                          tiny_bundle_dir):
    import processing

    folder = make_collection(tmp_path / "trip")
    feedback = Feedback()
    out = str(tmp_path / "pred.gpkg")
    processing.run(ALG, {"INPUT": str(folder), "MODEL": str(tiny_bundle_dir), "DEVICE": 1,
                         "PHOTOS_AS_TRACK": True, "MAX_GAP": 3600, "OUTPUT": out},
                   feedback=feedback)
    layer = QgsVectorLayer(out, "p", "ogr")
    methods = {f["file_name"]: f["method"] for f in layer.getFeatures()}
    del layer  # left open on the GeoPackage, the layer segfaulted the interpreter at exit
    assert methods == {**{f"IMG_{i}.jpg": "exif" if i % 2 == 0 else "track"
                          for i in range(STEPS)}, "late.jpg": "model", "notime.jpg": "model"}
    assert any("4 placed by time" in line for line in feedback.infos), feedback.infos
    with pytest.raises(QgsProcessingException, match="camera offset"):
        processing.run(ALG, {"INPUT": str(folder), "MODEL": str(tiny_bundle_dir),
                             "DEVICE": 1, "PHOTOS_AS_TRACK": True,
                             "CAMERA_OFFSET": "five minutes",
                             "OUTPUT": str(tmp_path / "refused.gpkg")})


def test_the_predictions_style_draws_each_method_its_own_way(tmp_path, tiny_bundle_dir):
    folder = make_collection(tmp_path / "trip")
    gpkg = tmp_path / "run.gpkg"
    assert predict(folder, "--model", tiny_bundle_dir, "--out", gpkg, "--photos-as-track",
                   "--max-gap", "3600") == 0
    layer = QgsVectorLayer(f"{gpkg}|layername=predictions", "p", "ogr")
    assert layer.isValid()
    _, ok = layer.loadNamedStyle(str(style_path("predictions")))
    # photos at one point are counted (a cluster renderer); each by its method inside
    assert ok and layer.renderer().type() == "pointCluster"
    assert layer.renderer().embeddedRenderer().type() == "RuleRenderer"
    renderer = layer.renderer().embeddedRenderer().clone()
    ctx = QgsRenderContext()
    renderer.startRender(ctx, layer.fields())
    try:
        legend = {}
        for f in layer.getFeatures():
            (symbol,) = renderer.symbolsForFeature(f, ctx)
            legend.setdefault(f["method"], set()).add(
                (symbol.color().name(), symbol.symbolLayer(0).shape()))
    finally:
        renderer.stopRender(ctx)
    assert set(legend) == {"exif", "track", "model"}
    assert len(legend["exif"]) == len(legend["track"]) == 1
    assert not (legend["exif"] & legend["track"]) and not (legend["track"] & legend["model"])
    assert not (legend["exif"] & legend["model"])


def test_the_result_view_says_how_each_photo_was_placed(qgis_app, tmp_path, tiny_bundle_dir):
    from osgeo import ogr

    from geodecoder.inference.outputs.prediction_row import read_prediction
    from geodecoder.ui.result_view import placement_rows

    folder = make_collection(tmp_path / "trip")
    gpkg = tmp_path / "run.gpkg"
    assert predict(folder, "--model", tiny_bundle_dir, "--out", gpkg, "--photos-as-track",
                   "--max-gap", "3600") == 0
    ds = ogr.Open(str(gpkg))  # kept: its layers die with it
    layer = ds.GetLayerByName("predictions")
    rows = {}
    for f in layer:
        values = {f.GetFieldDefnRef(i).GetName(): f.GetField(i)
                  for i in range(f.GetFieldCount())}
        rows[values["file_name"]] = " ".join(placement_rows(read_prediction(values)))
    assert "Placed by time on a track" in rows["IMG_3.jpg"]
    assert "IMG_2.jpg + IMG_4.jpg" in rows["IMG_3.jpg"] and "600 s" in rows["IMG_3.jpg"]
    assert "km away" in rows["IMG_3.jpg"]  # the model's own answer beside
    assert rows["IMG_2.jpg"].startswith("Placed by the photo's EXIF GPS.")
    assert "no time in its EXIF" in rows["notime.jpg"]
    assert "maximum gap" in rows["late.jpg"]
