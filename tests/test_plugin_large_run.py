"""A large run in QGIS (issue 10): the GeoPackage is indexed for reading one photo at a
time, a run of many photos draws the regions and cells of the photo shown in the dock
only (every feature stays in the layers), and the photo list makes its thumbnails in
small steps.  Timings are measured by benchmarks/bench_qgis.py, not asserted here."""

from __future__ import annotations

import sqlite3

import pytest
from qgis.core import (
    QgsExpressionContext,
    QgsExpressionContextUtils,
    QgsRenderContext,
)

from tests.test_plugin_fixtures import import_plugin, photo_folder  # noqa: F401

import_plugin()
from geodecoder.services.run import layers as run_layers  # noqa: E402
from geodecoder.services.run import pipeline as run_pipeline  # noqa: E402
from geodecoder.services.run.service import GeolocateService  # noqa: E402
from geodecoder.ui import photo_list  # noqa: E402


@pytest.fixture(scope="module")
def run_gpkg(tmp_path_factory, tiny_bundle_dir, photo_folder):  # noqa: F811
    stream = run_pipeline.PredictionStream(photo_folder[1]["good"], str(tiny_bundle_dir),
                                           device="cpu", top_k=3)
    out = tmp_path_factory.mktemp("large") / "run.gpkg"
    return str(run_pipeline.predict_to_geopackage(out, stream))


@pytest.fixture()
def large(monkeypatch):
    """Runs of more than 3 photos count as large (the threshold is a plain number)."""
    monkeypatch.setattr(run_layers, "PER_PHOTO_ABOVE", 3)


def drawn_photos(layer) -> set:
    """The photo_path of every feature the layer's renderer draws now."""
    ctx = QgsRenderContext()
    ctx.setExpressionContext(QgsExpressionContext(
        QgsExpressionContextUtils.globalProjectLayerScopes(layer)))
    renderer = layer.renderer().clone()
    renderer.startRender(ctx, layer.fields())
    try:
        return {str(f["photo_path"]) for f in layer.getFeatures()
                if renderer.willRenderFeature(f, ctx)}
    finally:
        renderer.stopRender(ctx)


def test_the_run_is_indexed_by_photo_and_by_place(run_gpkg):
    db = sqlite3.connect(run_gpkg)
    try:
        indexes = {r[0] for r in db.execute(
            "SELECT name FROM sqlite_master WHERE type = 'index'")}
        rtrees = {r[0] for r in db.execute(
            "SELECT table_name FROM gpkg_extensions WHERE extension_name = 'gpkg_rtree_index'")}
        plan = " ".join(str(r) for r in db.execute(
            "EXPLAIN QUERY PLAN SELECT fid FROM regions WHERE photo_path = 'x'"))
        surface_plan = " ".join(str(r) for r in db.execute(
            "EXPLAIN QUERY PLAN SELECT * FROM surface WHERE photo_path = 'x'"))
    finally:
        db.close()
    layers = ["predictions", "candidates", "cells_level_0", "cells_level_1", "cells_level_2",
              "regions"]
    assert {f"{name}_photo_path" for name in layers} | {"surface_values_photo"} <= indexes
    assert set(layers + ["surface_cells"]) <= rtrees
    assert "regions_photo_path" in plan
    # the surface is a view: the photo's predictions row by its path index, its values
    # by their photo index, each joined to its cell's outline by fid; nothing scanned
    assert "predictions_photo_path" in surface_plan
    assert "surface_values_photo " in surface_plan and "SCAN" not in surface_plan


def test_a_large_run_draws_the_shown_photos_regions_and_cells(run_gpkg, large,
                                                              qgis_new_project):
    layers = run_layers.load_run_layers(run_gpkg, qgis_new_project, "run")
    photos = sorted({str(f["photo_path"]) for f in layers.predictions.getFeatures()})
    assert layers.predictions.featureCount() == len(photos) == 8
    per_photo = [layers.candidates, *layers.cells, layers.surface, layers.regions]
    for layer in per_photo:
        assert layer.renderer().type() == "RuleRenderer"
        assert {str(f["photo_path"]) for f in layer.getFeatures()} == set(photos)
        assert drawn_photos(layer) == set()  # nothing until a result is shown
    assert layers.regions.featureCount() == 2 * len(photos)  # the data is all there
    assert layers.predictions.renderer().type() == "pointCluster"  # photos counted
    assert layers.predictions.renderer().embeddedRenderer().type() == "RuleRenderer"
    assert drawn_photos(layers.predictions) == set(photos)

    run_layers.show_photo_in_layers(layers, photos[2])
    for layer in per_photo:
        assert drawn_photos(layer) == {photos[2]}
    # the legend says what is drawn, above the run's own classes
    labels = [item.label() for item in layers.regions.renderer().legendSymbolItems()]
    assert labels[0] == "Photo shown in the dock" and len(labels) == 3


def test_a_small_run_draws_every_photo(run_gpkg, qgis_new_project):
    """Every photo's regions, the shown photo's first (issue 20.4: tests/
    test_plugin_reading.py checks which are faint)."""
    layers = run_layers.load_run_layers(run_gpkg, qgis_new_project, "run")
    assert layers.regions.renderer().type() == "RuleRenderer"
    assert len(drawn_photos(layers.regions)) == 8
    assert not layers.regions.customProperty(run_layers.SHOWN_PHOTO_ONLY, False)


def test_the_service_draws_the_result_it_shows(run_gpkg, large, qgis_new_project):
    service = GeolocateService(None, qgis_new_project)
    shown = []
    service.results.resultSelected.connect(
        lambda details: shown.append(details.prediction.photo_path))
    layers = service.results.open_run(run_gpkg)  # shows the first prediction
    assert drawn_photos(layers.regions) == {shown[-1]}
    other = next(str(f["photo_path"]) for f in layers.predictions.getFeatures()
                 if str(f["photo_path"]) != shown[-1])
    assert service.results.show_photo(other)
    assert shown[-1] == other
    assert drawn_photos(layers.regions) == drawn_photos(layers.cells[-1]) == {other}
    service.shutdown()


def test_thumbnails_are_made_a_little_at_a_time(photo_folder, monkeypatch):  # noqa: F811
    """Each tick makes thumbnails until its time budget is spent, and at least one."""
    files = photo_folder[1]["good"]
    widget = photo_list.PhotoListWidget()
    widget.add_paths(files)
    widget._timer.stop()  # ticks by hand  # noqa: SLF001
    monkeypatch.setattr(photo_list, "TICK_BUDGET_S", 0.0)
    widget._thumbnail_tick()  # noqa: SLF001
    assert widget.thumbnails_pending() == len(files) - 1
    monkeypatch.setattr(photo_list, "TICK_BUDGET_S", 60.0)
    widget._thumbnail_tick()  # noqa: SLF001
    assert widget.thumbnails_pending() == 0
    assert all(not widget.item(i).icon().isNull() for i in range(widget.count()))


def test_a_long_photo_list_has_rows_of_one_height(photo_folder, monkeypatch):  # noqa: F811
    """Rows of their own heights make Qt lay out the whole list after every status."""
    monkeypatch.setattr(photo_list, "UNIFORM_ROWS_ABOVE", 3)
    files = photo_folder[1]["good"]
    widget = photo_list.PhotoListWidget()
    widget.add_paths(files[:3])
    assert not widget.uniformItemSizes()
    widget.add_paths(files[3:])
    assert widget.uniformItemSizes()
    widget.set_status(files[0], "failed: a reason long enough to wrap over several lines")
    assert "several lines" in widget.item(0).toolTip()  # all of it, whatever the row shows
    widget.clear_photos()
    assert not widget.uniformItemSizes()
