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

from tests.test_plugin_fixtures import import_plugin, photo_folder  # noqa: F401

import_plugin()
from geodecoder.services import run_layers, run_pipeline  # noqa: E402
from geodecoder.services.result_details import (details_for,  # noqa: E402
                                                first_feature_of_photo)
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
    assert "Predicted: not recorded" in text and "Confidence: not recorded" in text
    assert "error not recorded" in text and "12.5000, -3.2500" in text
    assert "0.0000" not in text and "0.0%" not in text.replace("25.0%", "")
    assert tables_html(details)  # the candidates still render
