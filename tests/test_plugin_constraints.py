"""The plugin's constraint services with real QGIS layers: any CRS, selected features,
a drawn rectangle, and the run services carrying a Constraints object to the file."""

from __future__ import annotations

import pytest
from osgeo import ogr
from qgis.core import (QgsCoordinateReferenceSystem, QgsRectangle,
                       QgsVectorLayer)
from shapely.geometry import Point

from tests.test_plugin_fixtures import import_plugin, memory_layer, photo_folder  # noqa: F401

import_plugin()
from geodecoder.inference.constraints import (ConstraintError, Constraints,  # noqa: E402
                                              countries_area)
from geodecoder.services.run import pipeline as run_pipeline  # noqa: E402
from geodecoder.services.clues.qgis_areas import (area_from_layer,  # noqa: E402
                                                   area_from_rectangle)
from geodecoder.services.errors import expected_errors  # noqa: E402

# Web Mercator boxes: x/y in metres
ZURICH_3857 = "POLYGON((890000 5980000, 1010000 5980000, 1010000 6060000, 890000 6060000, " \
              "890000 5980000))"
PARIS_3857 = "POLYGON((240000 6230000, 290000 6230000, 290000 6270000, 240000 6270000, " \
             "240000 6230000))"


def _layer(kind: str, wkts, crs="EPSG:3857") -> QgsVectorLayer:
    return memory_layer(wkts, kind, crs)


def test_a_projected_layer_becomes_a_lon_lat_area():
    area = area_from_layer(_layer("Polygon", [ZURICH_3857, PARIS_3857]), include=False)
    assert not area.include and area.source == "layer" and area.label == "layer: zones"
    assert area.geometry.contains(Point(8.54, 47.37))  # Zurich
    assert area.geometry.contains(Point(2.35, 48.86))  # Paris
    assert dict(area.details)["crs"] == "EPSG:3857"


def test_selected_features_only():
    layer = _layer("Polygon", [ZURICH_3857, PARIS_3857])
    layer.selectByIds([f.id() for f in layer.getFeatures()
                       if f.geometry().boundingBox().xMinimum() < 500000])  # Paris
    area = area_from_layer(layer, selected_only=True)
    assert area.geometry.contains(Point(2.35, 48.86))
    assert not area.geometry.contains(Point(8.54, 47.37))
    layer.removeSelection()
    with pytest.raises(ConstraintError, match="no selected features"):
        area_from_layer(layer, selected_only=True)


def test_empty_and_line_layers_are_refused_with_their_reason():
    with pytest.raises(ConstraintError, match="is empty"):
        area_from_layer(_layer("Polygon", []))
    with pytest.raises(ConstraintError, match="not a polygon layer"):
        area_from_layer(_layer("LineString", ["LINESTRING(0 0, 1 1)"]))
    assert issubclass(ConstraintError, expected_errors())  # the dock shows the message


def test_a_rectangle_drawn_in_a_projected_crs():
    rect = QgsRectangle(890000, 5980000, 1010000, 6060000)
    area = area_from_rectangle(rect, QgsCoordinateReferenceSystem("EPSG:3857"))
    assert area.include and area.source == "rectangle"
    from pyproj import Transformer

    to_lonlat = Transformer.from_crs(3857, 4326, always_xy=True)
    corners = [to_lonlat.transform(x, y) for x, y in ((890000, 5980000), (1010000, 6060000))]
    assert area.geometry.bounds == pytest.approx((*corners[0], *corners[1]), abs=1e-6)
    whole = area_from_rectangle(QgsRectangle(-200, -100, 200, 100),
                                QgsCoordinateReferenceSystem("EPSG:4326"))
    assert whole.geometry.bounds == (-180.0, -90.0, 180.0, 90.0)  # clipped to the world
    with pytest.raises(ConstraintError, match="rectangle is empty"):
        area_from_rectangle(QgsRectangle(5, 5, 5, 5), QgsCoordinateReferenceSystem("EPSG:4326"))


def test_the_run_services_write_the_constrained_run(tmp_path, tiny_bundle_dir,
                                                    photo_folder):  # noqa: F811
    layer_area = area_from_layer(_layer("Polygon", [PARIS_3857]))
    france = countries_area("FR")
    stream = run_pipeline.PredictionStream([str(photo_folder[0])], str(tiny_bundle_dir),
                                           device="cpu", top_k=3,
                                           constraints=Constraints((france, layer_area)))
    out = run_pipeline.predict_to_geopackage(tmp_path / "run.gpkg", stream)
    ds = ogr.Open(str(out))
    labels = [f["label"] for f in ds.GetLayerByName("constraints")]
    assert labels == ["countries: FR", "layer: zones"]
    for f in ds.GetLayerByName("predictions"):
        point = Point(f["lon"], f["lat"])
        assert layer_area.geometry.contains(point) and france.geometry.contains(point)
        assert f["constraint_mass_removed"] is not None


def test_constraints_that_leave_nothing_stop_the_run_before_any_file(tmp_path,
                                                                     tiny_bundle_dir,
                                                                     photo_folder):  # noqa: F811
    out = tmp_path / "run.gpkg"
    out.write_bytes(b"an earlier run")
    with pytest.raises(expected_errors(), match="leave nothing"):
        stream = run_pipeline.PredictionStream(
            [str(photo_folder[0])], str(tiny_bundle_dir), device="cpu",
            constraints=Constraints((countries_area("CH"),)))
        run_pipeline.predict_to_geopackage(out, stream)
    assert out.read_bytes() == b"an earlier run"


def test_a_constrained_run_loads_with_its_constraints_layer(tmp_path, tiny_bundle_dir,
                                                           photo_folder,  # noqa: F811
                                                           qgis_new_project):
    from geodecoder.services.run.layers import load_run_layers

    plain = run_pipeline.predict_to_geopackage(
        tmp_path / "plain.gpkg", run_pipeline.PredictionStream(
            [str(photo_folder[0])], str(tiny_bundle_dir), device="cpu", top_k=2))
    constrained = run_pipeline.predict_to_geopackage(
        tmp_path / "fr.gpkg", run_pipeline.PredictionStream(
            [str(photo_folder[0])], str(tiny_bundle_dir), device="cpu", top_k=2,
            constraints=Constraints((countries_area("FR"),))))
    assert load_run_layers(str(plain), qgis_new_project, "plain").constraints is None
    layers = load_run_layers(str(constrained), qgis_new_project, "fr")
    assert layers.constraints is not None and layers.constraints.featureCount() == 1
    assert layers.constraints.renderer().type() == "categorizedSymbol"  # its shipped style
    assert layers.constraints in layers.all()


def test_areas_across_the_antimeridian_stay_where_they_were_drawn():
    from qgis.core import QgsRectangle as Rect

    # a Web Mercator box around Fiji: 175.2 E .. 175.8 W once in lon/lat
    fiji = area_from_rectangle(Rect(19.5e6, -2.2e6, 20.5e6, -1.8e6),
                               QgsCoordinateReferenceSystem("EPSG:3857"))
    assert fiji.geometry.contains(Point(178.4, -18.1))  # Suva
    assert fiji.geometry.contains(Point(-179.5, -18.1))
    assert not fiji.geometry.contains(Point(0.0, -18.1))  # not the rest of the world
    # a box drawn past 180 on a lon/lat canvas keeps its part beyond, shifted by 360
    wide = area_from_rectangle(Rect(170, -10, 190, 10), QgsCoordinateReferenceSystem(
        "EPSG:4326"))
    assert wide.geometry.contains(Point(175, 0)) and wide.geometry.contains(Point(-175, 0))
    assert not wide.geometry.contains(Point(0, 0))
    # the same for a layer in a Pacific projection
    layer = _layer("Polygon", ["POLYGON((19500000 -2200000, 20500000 -2200000, "
                               "20500000 -1800000, 19500000 -1800000, 19500000 -2200000))"])
    area = area_from_layer(layer)
    assert area.geometry.contains(Point(178.4, -18.1))
    assert not area.geometry.contains(Point(0.0, -18.1))


def test_a_self_intersecting_polygon_is_repaired_or_refused_with_a_message():
    bowtie = "POLYGON((0 0, 1000000 1000000, 1000000 0, 0 1000000, 0 0))"
    square = "POLYGON((500000 500000, 1500000 500000, 1500000 1500000, 500000 1500000, " \
             "500000 500000))"
    try:
        area = area_from_layer(_layer("Polygon", [bowtie, square]))
    except ConstraintError as exc:  # refused: with words, not a GEOS traceback
        assert "zones" in str(exc)
    else:
        assert area.geometry.is_valid and not area.geometry.is_empty


def test_a_rectangle_without_a_valid_crs_is_refused():
    with pytest.raises(ConstraintError, match="coordinate system"):
        area_from_rectangle(QgsRectangle(0, 0, 10, 10), QgsCoordinateReferenceSystem())
