"""Case reports: a real run of the default model on the sample photos, written as PDFs by
the service, the Processing algorithm (in a background task too) and the dock's button
(a QgsTask: progress, cancel), read back with pdftotext."""

from __future__ import annotations

import hashlib
import json
import os
import re
import shutil
import subprocess
import tempfile
from pathlib import Path

import pytest
from osgeo import ogr
from qgis.core import QgsApplication, QgsProcessingException, QgsRectangle

from tests.test_plugin_fixtures import ROOT, import_plugin, spin_until

import_plugin()
from geodecoder.services.case_report import case_map  # noqa: E402
from geodecoder.inference.outputs.prediction_row import (PredictionRow,  # noqa: E402
                                                         read_prediction)
from geodecoder.services.case_report.facts import CaseReportError, read_run  # noqa: E402
from geodecoder.services.case_report.report import report_name, write_case_reports  # noqa: E402
from geodecoder.services.case_report.text import conflict_line  # noqa: E402

SAMPLES = ROOT / "resources" / "samples"
DEFAULT_MODEL = ROOT / "resources" / "models" / "default"
DEFAULT_DIGEST = (json.loads((DEFAULT_MODEL / "config.json").read_text())["digest"]
                  if (DEFAULT_MODEL / "config.json").is_file() else "")
CAVEAT = "not a GPS fix"
ALG = "geodecoder:case_report"


def _tool(name: str) -> str:
    path = shutil.which(name)
    if path is None:
        pytest.skip(f"{name} is absent (Debian package poppler-utils is not installed)")
    return path


def pdf_text(pdf) -> str:
    """The PDF's text without any white space: a label wraps at spaces and at the
    slashes of a path, so phrases are compared without theirs (``squeeze``)."""
    out = subprocess.run([_tool("pdftotext"), str(pdf), "-"], capture_output=True,
                         text=True, check=True, timeout=60)
    return squeeze(out.stdout)


def squeeze(text: str) -> str:
    return "".join(text.split())


def sha256(path) -> str:
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()


def _rows(gpkg, layer: str) -> list[dict]:
    ds = ogr.Open(str(gpkg))
    try:
        return [f.items() for f in ds.GetLayerByName(layer)]
    finally:
        ds = None


@pytest.fixture(scope="module")
def run_gpkg(tmp_path_factory, qgis_app):
    """The sample photos (copied: tests change the copies) geolocated with the default
    model into a run GeoPackage by the plugin's own pipeline."""
    if not (DEFAULT_MODEL / "config.json").is_file():
        pytest.skip("the default model is not installed (resources/models/default)")
    from geodecoder.services.installer.dependencies import REQUIREMENTS, missing_requirements
    if missing_requirements(REQUIREMENTS):
        pytest.skip("the engine's packages are not installed")
    from geodecoder.services.run.pipeline import PredictionStream, predict_to_geopackage

    folder = tmp_path_factory.mktemp("case")
    photos = folder / "photos"
    shutil.copytree(SAMPLES, photos, ignore=shutil.ignore_patterns("NOTICE"))
    stream = PredictionStream([str(photos)], str(DEFAULT_MODEL), device="cpu", top_k=5)
    gpkg = predict_to_geopackage(folder / "run.gpkg", stream)
    assert gpkg is not None
    return Path(gpkg)


@pytest.fixture(scope="module")
def reports(run_gpkg, tmp_path_factory):
    out = tmp_path_factory.mktemp("reports")
    return write_case_reports(str(run_gpkg), str(out / "pdf"))


def test_the_service_writes_a_pdf_per_photo_with_its_facts(run_gpkg, reports):
    predictions = _rows(run_gpkg, "predictions")
    info = {r["key"]: r["value"] for r in _rows(run_gpkg, "run_info")}
    assert len(reports.written) == len(predictions) == 7
    by_photo = dict(reports.written)
    for row in predictions:
        pdf = Path(by_photo[row["photo_path"]])
        assert pdf.is_file() and pdf.read_bytes()[:5] == b"%PDF-"
        text = pdf_text(pdf)
        assert sha256(row["photo_path"]) in text  # computed now, from the file
        assert "MATCHES" in text and "DOESNOTMATCH" not in text
        assert row["place"] and squeeze(row["place"]) in text
        assert info["weights_sha256"] in text and squeeze(CAVEAT) in text
        assert info["bundle_digest"] == row["bundle_digest"] == DEFAULT_DIGEST
        assert DEFAULT_DIGEST in text  # the model: weights and settings
        assert info["started"] in text and "top_k5" in text
        assert "Noconstraints" in text
        # the attention is shown, computed again with the run's own weights
        assert squeeze("recomputed with the run's weights") in text, row["file_name"]
    assert len({Path(p).name for _photo, p in reports.written}) == 7
    assert not list(Path(reports.out_dir).glob("*.tmp*"))  # no temporary file left


def test_the_heic_sample_gets_its_picture(reports):
    heic = [pdf for photo, pdf in reports.written if photo.endswith(".heic")]
    assert heic and squeeze("The photo (upright), sigal_outdoor.heic") in pdf_text(heic[0])


def test_the_first_page_shows_the_map_over_the_offline_basemap(reports, tmp_path):
    """Rendered at 60 dpi the map is there: sea and land colours fill a good part of
    the page (an empty map frame would be white)."""
    from qgis.PyQt.QtGui import QColor, QImage

    pdf = reports.written[0][1]
    subprocess.run([_tool("pdftoppm"), "-png", "-r", "60", "-f", "1", "-l", "1", pdf,
                    str(tmp_path / "page")], check=True, timeout=60)
    image = QImage(str(next(tmp_path.glob("page*.png"))))
    assert image.width() > image.height()  # landscape
    sea, land = case_map.SEA, QColor(246, 243, 236)
    counts = {"sea": 0, "land": 0}
    for y in range(0, image.height(), 3):
        for x in range(0, image.width(), 3):
            c = image.pixelColor(x, y)
            for name, ref in (("sea", sea), ("land", land)):
                if max(abs(c.red() - ref.red()), abs(c.green() - ref.green()),
                       abs(c.blue() - ref.blue())) <= 6:
                    counts[name] += 1
    samples = (image.width() // 3) * (image.height() // 3)
    assert counts["sea"] > 0.03 * samples and counts["land"] > 0.01 * samples, counts


def _edit(gpkg: Path, layer: str, where: str, **values) -> None:
    ds = ogr.Open(str(gpkg), 1)
    try:
        lyr = ds.GetLayerByName(layer)
        lyr.SetAttributeFilter(where)
        for f in lyr:
            for key, value in values.items():
                f.SetField(key, value)
            assert lyr.SetFeature(f) == 0
    finally:
        ds = None


def test_a_missing_or_changed_photo_is_said_in_its_report(run_gpkg, tmp_path):
    copy = tmp_path / "run.gpkg"
    shutil.copy(run_gpkg, copy)
    photos = [r["photo_path"] for r in _rows(copy, "predictions")]
    gone, changed = photos[0], photos[1]
    _edit(copy, "predictions", f"photo_path = '{gone}'", photo_path="/nowhere/gone.jpg",
          photo_relpath="nowhere/gone.jpg")
    _edit(copy, "predictions", f"photo_path = '{changed}'", sha256="0" * 64)
    result = write_case_reports(str(copy), str(tmp_path / "out"), ["/nowhere/gone.jpg",
                                                                  changed])
    texts = [pdf_text(pdf) for _photo, pdf in result.written]
    assert squeeze("PHOTO FILE MISSING: /nowhere/gone.jpg") in texts[0]
    assert squeeze("NOT CHECKED: the photo file is missing") in texts[0]
    assert "DOESNOTMATCH" in texts[1] and sha256(changed) in texts[1]
    assert squeeze("the photo file has changed since the run") in texts[1]  # no attention


def test_attention_needs_the_runs_weights(run_gpkg, tmp_path):
    copy = tmp_path / "run.gpkg"
    shutil.copy(run_gpkg, copy)
    _edit(copy, "run_info", "key = 'weights_sha256'", value="f" * 64)
    photo = _rows(copy, "predictions")[0]["photo_path"]
    result = write_case_reports(str(copy), str(tmp_path / "out"), [photo])
    text = pdf_text(result.written[0][1])
    assert squeeze("no model bundle here has the run's weights") in text
    assert "f" * 64 in text
    assert squeeze("recomputed with the run's weights") not in text


def test_attention_needs_the_runs_model_digest(run_gpkg, tmp_path):
    """The same weights with another temperature or image size are another model."""
    copy = tmp_path / "run.gpkg"
    shutil.copy(run_gpkg, copy)
    _edit(copy, "run_info", "key = 'bundle_digest'", value="e" * 64)
    photo = _rows(copy, "predictions")[0]["photo_path"]
    result = write_case_reports(str(copy), str(tmp_path / "out"), [photo])
    text = pdf_text(result.written[0][1])
    assert squeeze("no model bundle here has the run's weights and digest") in text
    assert "e" * 64 in text
    assert squeeze("recomputed with the run's weights") not in text


def test_a_file_that_is_not_a_run_gets_a_clear_error(tmp_path):
    other = tmp_path / "other.gpkg"
    ds = ogr.GetDriverByName("GPKG").CreateDataSource(str(other))
    ds.CreateLayer("roads", geom_type=ogr.wkbLineString)
    ds = None
    with pytest.raises(CaseReportError, match="is not a GeoDecoder run"):
        write_case_reports(str(other), str(tmp_path / "out"))
    with pytest.raises(CaseReportError, match="does not exist"):
        read_run(str(tmp_path / "absent.gpkg"))
    assert not (tmp_path / "out").exists()


def test_the_processing_algorithm_writes_the_reports(provider, run_gpkg, tmp_path):
    import processing

    alg = QgsApplication.processingRegistry().algorithmById(ALG)
    assert not alg.flags() & alg.FlagNoThreading  # runs in the background (test below)
    out = tmp_path / "reports"
    result = processing.run(ALG, {"INPUT": str(run_gpkg), "ATTENTION": False,
                                  "OUTPUT": str(out)})
    assert result["REPORTS"] == 7 and Path(result["OUTPUT"]) == out
    pdfs = sorted(out.glob("*.pdf"))
    assert len(pdfs) == 7
    text = pdf_text(out / "exif_test1_jpg.pdf")
    photo = next(r for r in _rows(run_gpkg, "predictions")
                 if r["file_name"] == "exif_test1.jpg")
    assert sha256(photo["photo_path"]) in text and squeeze(photo["place"]) in text
    assert squeeze("switched off for this report") in text

    other = tmp_path / "other.gpkg"
    ds = ogr.GetDriverByName("GPKG").CreateDataSource(str(other))
    ds.CreateLayer("roads", geom_type=ogr.wkbLineString)
    ds = None
    with pytest.raises(QgsProcessingException, match="is not a GeoDecoder run"):
        processing.run(ALG, {"INPUT": str(other), "OUTPUT": str(tmp_path / "none")})


def test_the_processing_algorithm_runs_in_a_background_task(provider, run_gpkg, tmp_path):
    """What the Processing dialog does: the algorithm in a QgsProcessingAlgRunnerTask,
    whose worker thread builds and exports the layouts."""
    from qgis.core import (QgsProcessingAlgRunnerTask, QgsProcessingContext,
                           QgsProcessingFeedback, QgsProject)

    alg = QgsApplication.processingRegistry().algorithmById(ALG)
    context, feedback = QgsProcessingContext(), QgsProcessingFeedback()
    context.setProject(QgsProject.instance())
    out = tmp_path / "reports"
    task = QgsProcessingAlgRunnerTask(alg, {"INPUT": str(run_gpkg), "ATTENTION": False,
                                            "OUTPUT": str(out)}, context, feedback)
    ended = []
    task.executed.connect(lambda ok, results: ended.append((ok, results)))
    QgsApplication.taskManager().addTask(task)
    assert spin_until(lambda: ended, seconds=300), "the algorithm's task hangs"
    ok, results = ended[0]
    assert ok and results["REPORTS"] == 7
    assert sorted(p.name for p in out.iterdir()) == sorted(
        name for _photo, name in report_names(run_gpkg))
    assert squeeze("switched off for this report") in pdf_text(out / "sigal_1_jpg.pdf")


def report_names(run_gpkg) -> list:
    taken: set = set()
    return [(r["photo_path"], report_name(photo_facts(r), taken))
            for r in _rows(run_gpkg, "predictions")]


STAMP = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\+00:00")


def same_report(text: str) -> str:
    """A report's text without its time stamps (each report says when it was written)."""
    return STAMP.sub("<time>", text)


def _render_project() -> bool:
    """The project's layers drawn on the main thread, as the map canvas does; True when
    something was drawn."""
    from qgis.core import QgsMapRendererParallelJob, QgsMapSettings, QgsProject
    from qgis.PyQt.QtCore import QSize

    layers = list(QgsProject.instance().mapLayers().values())
    settings = QgsMapSettings()
    settings.setLayers(layers)
    settings.setOutputSize(QSize(300, 150))
    settings.setDestinationCrs(layers[0].crs())
    settings.setExtent(QgsRectangle(-180, -90, 180, 90))
    job = QgsMapRendererParallelJob(settings)
    job.start()
    job.waitForFinished()
    image = job.renderedImage()
    return not image.isNull() and len(set(image.pixel(x, 75) for x in range(0, 300, 5))) > 1


def _scratch_dirs() -> set:
    return set(Path(tempfile.gettempdir()).glob("geodecoder-report-*"))


def _dock_report(plugin, run_gpkg, out, monkeypatch):
    """Open the run, nothing selected (every photo), click Case report…; the task runs."""
    from qgis.PyQt.QtWidgets import QFileDialog

    assert plugin.open_run(str(run_gpkg))
    monkeypatch.setattr(QFileDialog, "getExistingDirectory", lambda *a, **k: str(out))
    plugin.dock.report_button.click()
    task = plugin.reporter.task
    assert task is not None  # the click started a task and returned
    return task


def test_the_dock_writes_the_reports_in_a_task_and_stays_responsive(
        plugin, run_gpkg, reports, tmp_path, monkeypatch):
    from qgis.core import QgsTask
    from qgis.PyQt.QtCore import QTimer

    from geodecoder.services.run.basemap import WORLD, add_basemap

    scratch_before = _scratch_dirs()
    out = tmp_path / "dock-reports"
    progress, outcomes, ticks = [], [], []
    plugin.reporter.reportProgress.connect(lambda done, total: progress.append(
        (done, total, plugin.dock.progress.value())))
    plugin.reporter.reportFinished.connect(outcomes.append)
    # meanwhile the main thread draws the project's map (the run's layers read the same
    # GeoPackage, the world map the same file as the reports' basemap)
    rendered = []
    plugin.reporter.reportProgress.connect(lambda *_: rendered.append(_render_project()))
    add_basemap(WORLD)
    task = _dock_report(plugin, run_gpkg, out, monkeypatch)
    assert not plugin.dock.report_button.isEnabled() and plugin.dock.cancel_button.isEnabled()
    timer = QTimer()  # the main thread's event loop keeps running while the task works
    timer.timeout.connect(lambda: outcomes or ticks.append(
        (task.status(), plugin.dock.status.text())))
    timer.start(20)
    assert spin_until(lambda: outcomes, seconds=600), "the report task hangs"
    timer.stop()

    running = [text for status, text in ticks if status == QgsTask.Running]
    assert len(running) > 10, "the event loop did not run while the reports were written"
    assert any("Writing case reports: 3 of 7 written" in text for text in running)
    assert [(d, t) for d, t, _bar in progress] == [(n, 7) for n in range(1, 8)]
    assert progress[-1][2] == 100
    assert len(rendered) == 7 and all(rendered)
    outcome = outcomes[0]
    assert outcome.ok and not outcome.cancelled and len(outcome.written) == 7
    assert "7 case report(s) written" in plugin.dock.status.text()
    assert plugin.dock.report_button.isEnabled() and not plugin.dock.cancel_button.isEnabled()
    # the same reports as the synchronous service's, but for when they were written
    synchronous = {Path(pdf).name: pdf for _photo, pdf in reports.written}
    assert sorted(p.name for p in out.iterdir()) == sorted(synchronous)
    for pdf in out.iterdir():
        assert same_report(pdf_text(pdf)) == same_report(pdf_text(synchronous[pdf.name]))
    assert _scratch_dirs() <= scratch_before  # the task's scratch images are gone


def test_cancel_stops_the_reports_and_leaves_no_partial_pdf(plugin, run_gpkg, tmp_path,
                                                           monkeypatch):
    scratch_before = _scratch_dirs()
    out = tmp_path / "cancelled"
    outcomes = []
    plugin.reporter.reportFinished.connect(outcomes.append)
    # the user clicks the dock's Cancel once the first report is written
    plugin.reporter.reportProgress.connect(
        lambda done, _total: done == 1 and plugin.dock.cancel_button.click())
    _dock_report(plugin, run_gpkg, out, monkeypatch)
    assert spin_until(lambda: outcomes, seconds=600), "the cancelled task hangs"
    outcome = outcomes[0]
    assert outcome.cancelled and not outcome.ok
    assert 1 <= len(outcome.written) < 7
    files = sorted(out.iterdir())
    assert [p.name for p in files] == sorted(Path(pdf).name for _ph, pdf in outcome.written)
    for pdf in files:  # complete PDFs only: each ends as a PDF ends, and reads
        data = pdf.read_bytes()
        assert data[:5] == b"%PDF-" and b"%%EOF" in data[-1024:]
        assert squeeze(CAVEAT) in pdf_text(pdf)
    assert "cancelled" in plugin.dock.status.text()
    assert plugin.dock.report_button.isEnabled() and not plugin.dock.cancel_button.isEnabled()
    assert _scratch_dirs() <= scratch_before
    assert plugin.service.task is None  # Cancel stopped the reports, no run was started


def test_the_dock_button_reports_the_selected_photo(plugin, run_gpkg, tmp_path, monkeypatch):
    from qgis.PyQt.QtWidgets import QFileDialog

    assert plugin.open_run(str(run_gpkg))
    predictions = plugin.service.results.runs[plugin.service.results.shown_run].predictions
    feature = next(f for f in predictions.getFeatures() if f["file_name"] == "sigal_1.jpg")
    predictions.selectByIds([feature.id()])
    out = tmp_path / "dock-reports"
    monkeypatch.setattr(QFileDialog, "getExistingDirectory", lambda *a, **k: str(out))
    plugin.dock.report_button.click()
    assert "Writing case reports: 0 of 1 written" in plugin.dock.status.text()
    assert plugin.write_case_reports(str(out)) is None  # one at a time
    assert "still being written" in plugin.dock.status.text()
    assert spin_until(lambda: plugin.reporter.task is None, seconds=300)
    assert [p.name for p in out.glob("*.pdf")] == ["sigal_1_jpg.pdf"]
    assert "1 case report(s) written" in plugin.dock.status.text()
    assert sha256(feature["photo_path"]) in pdf_text(out / "sigal_1_jpg.pdf")


# --------------------------------------------------------------- small pure parts


def _photo(**kw) -> PredictionRow:
    """A predictions row as the reader makes it from a feature's values."""
    base = dict(photo_path="/p/a.jpg", file_name="a.jpg", lat=0.0, lon=0.0, confidence=0.1)
    base.update(kw)
    return read_prediction(base)


def test_report_names_are_unique_per_run():
    taken: set = set()
    names = [report_name(_photo(file_name=n, photo_path=f"/{i}/{n}"), taken)
             for i, n in enumerate(["a.jpg", "a.heic", "a.jpg", "b c?.png"])]
    assert names == ["a_jpg.pdf", "a_heic.pdf", "a_jpg-2.pdf", "b_c__png.pdf"]


def test_the_exif_check_reads_as_a_sentence():
    assert conflict_line(_photo())[1] is False
    text, alert = conflict_line(_photo(exif_lat=1.0, exif_lon=2.0, error_km=1234.0,
                                       exif_conflict=True))
    assert alert and text.startswith("CONFLICT") and "1,234 km" in text
    assert conflict_line(_photo(exif_lat=1.0, exif_lon=2.0, exif_conflict=False))[0] \
        .startswith("No conflict")


def test_the_map_stays_inside_the_world_and_leaves_a_free_corner():
    shifted = case_map.inside_world(QgsRectangle(150, 60, 210, 100))
    assert (shifted.xMaximum(), shifted.yMaximum()) == (180, 90)
    assert shifted.width() == 60 and shifted.height() == 40
    extent = QgsRectangle(0, 0, 100, 50)
    assert case_map.free_corner(extent, [(5, 5)], 0.3, 0.3) == "bottom-right"
    assert case_map.free_corner(extent, [(50, 25)], 0.3, 0.3) == "bottom-left"
    assert case_map.grid_interval(360) == 45 and case_map.grid_interval(8) == 1


def test_qgis_process_writes_the_reports_headless(run_gpkg, tmp_path):
    """The command a script runs: ``qgis_process run geodecoder:case_report``."""
    from tests.test_plugin_processing import _qgis_process, qgis_process_config

    config = qgis_process_config(tmp_path)
    out = tmp_path / "reports"
    run = _qgis_process(["run", ALG, "--", f"INPUT={run_gpkg}", "ATTENTION=false",
                         f"OUTPUT={out}"], config, tmp_path)
    assert run.returncode == 0, (run.stdout + run.stderr)[-4000:]
    assert len(list(out.glob("*.pdf"))) == 7
    photo = _rows(run_gpkg, "predictions")[0]
    pdf = out / report_name(photo_facts(photo), set())
    assert sha256(photo["photo_path"]) in pdf_text(pdf)


def photo_facts(row: dict) -> PredictionRow:
    return _photo(photo_path=row["photo_path"], file_name=row["file_name"])


def test_the_constraints_of_a_run_are_reported_and_drawn(run_gpkg, tmp_path):
    """A run with a constraints layer (issue 9's contract): each constraint in words."""
    copy = tmp_path / "run.gpkg"
    shutil.copy(run_gpkg, copy)
    ds = ogr.Open(str(copy), 1)
    srs = ogr.osr.SpatialReference()
    srs.ImportFromEPSG(4326)
    # every run now writes the layer, empty without constraints: replaced here
    layer = ds.CreateLayer("constraints", srs, ogr.wkbMultiPolygon, ["OVERWRITE=YES"])
    for name in ("kind", "mode", "label", "parameters"):
        layer.CreateField(ogr.FieldDefn(name, ogr.OFTString))
    for mode, label, wkt in (
            ("include", "countries: CH, AT",
             "MULTIPOLYGON(((5 45,17 45,17 49,5 49,5 45)))"),
            ("exclude", "area: lakes.gpkg", "MULTIPOLYGON(((6 46,7 46,7 47,6 47,6 46)))")):
        f = ogr.Feature(layer.GetLayerDefn())
        f.SetField("kind", "area")
        f.SetField("mode", mode)
        f.SetField("label", label)
        f.SetField("parameters", '{"source": "countries"}')
        f.SetGeometry(ogr.CreateGeometryFromWkt(wkt))
        layer.CreateFeature(f)
    ds = None
    photo = _rows(copy, "predictions")[0]["photo_path"]
    result = write_case_reports(str(copy), str(tmp_path / "out"), [photo], attention=False)
    text = pdf_text(result.written[0][1])
    assert squeeze("area (only inside): countries: CH, AT (source=countries)") in text
    assert squeeze("area (excluded): area: lakes.gpkg") in text
    assert "Noconstraints" not in text
    assert squeeze("Constraint: only inside") in text  # its legend entry: drawn on the map


def test_a_real_constrained_run_reports_its_constraint_and_the_mass_removed(tmp_path):
    """Two sample photos geolocated with "countries: CH" by the plugin's pipeline: the
    report names the constraint, the probability it removed as the run recorded it (not
    rounded to 100 %), and draws it with the one legend entry it needs."""
    if not (DEFAULT_MODEL / "config.json").is_file():
        pytest.skip("the default model is not installed (resources/models/default)")
    from geodecoder.inference.constraints import Constraints, countries_area
    from geodecoder.services.case_report.text import percent
    from geodecoder.services.run.pipeline import PredictionStream, predict_to_geopackage

    photos = [str(SAMPLES / "sigal_1.jpg"), str(SAMPLES / "exif_test1.jpg")]
    stream = PredictionStream(photos, str(DEFAULT_MODEL), device="cpu", top_k=5,
                              constraints=Constraints(areas=(countries_area(["CH"]),)))
    gpkg = predict_to_geopackage(tmp_path / "ch.gpkg", stream)
    before = sha256(gpkg)
    result = write_case_reports(str(gpkg), str(tmp_path / "out"), attention=False)
    assert sha256(gpkg) == before  # writing a report leaves the run's file as it was
    rows = {r["photo_path"]: r for r in _rows(gpkg, "predictions")}
    candidates = _rows(gpkg, "candidates")
    for photo, pdf in result.written:
        row, text = rows[photo], pdf_text(pdf)
        removed = row["constraint_mass_removed"]
        assert 0 < removed < 1
        assert squeeze("area (only inside): countries: CH") in text
        assert squeeze(f"Probability the constraints removed: {percent(removed)}") in text
        assert "100%" not in percent(removed)
        assert squeeze("Constraint: only inside") in text
        assert squeeze("Constraint: excluded") not in text  # no area was excluded
        assert before in text  # the GeoPackage's SHA-256, unchanged by the report
        top = max(c["probability"] for c in candidates if c["photo_path"] == photo)
        assert (squeeze("not the single most probable cell") in text) == (
            top > row["confidence"] + 1e-6)


def test_custody_without_a_recorded_hash_is_not_called_a_mismatch():
    from geodecoder.services.case_report.facts import Custody

    assert Custody("", "/photo.jpg", "ab" * 32).verdict().startswith("NOT CHECKED")
    assert Custody("ab" * 32, "/photo.jpg", "ab" * 32).verdict().startswith("MATCHES")
    assert Custody("ab" * 32, "/photo.jpg", "cd" * 32).verdict().startswith("DOES NOT MATCH")


# -------------------------------------------- issue 19.4: a NULL is not a zero


def _null_point(run_gpkg, copy) -> str:
    """`copy` of the run with the first photo's point, confidence and EXIF distance
    NULL (its EXIF position set): what a row the run could not fill looks like."""
    shutil.copy(run_gpkg, copy)
    ds = ogr.Open(str(copy), 1)
    layer = ds.GetLayerByName("predictions")
    f = layer.GetNextFeature()
    for name in ("lat", "lon", "confidence", "error_km"):
        f.SetFieldNull(name)
    f.SetField("exif_lat", 12.5)
    f.SetField("exif_lon", -3.25)
    f.SetGeometry(None)
    assert layer.SetFeature(f) == 0
    path = f.GetField("photo_path")
    ds = None
    return path


def test_a_null_point_reads_not_recorded_and_is_not_drawn(run_gpkg, tmp_path):
    from geodecoder.services.case_report.text import prediction_lines

    copy = tmp_path / "run.gpkg"
    path = _null_point(run_gpkg, copy)
    run = read_run(str(copy))
    photo = next(p for p in run.photos if p.photo_path == path)
    assert photo.lat is None and photo.lon is None and photo.confidence is None
    assert photo.candidates and all(c.lat is not None for c in photo.candidates)
    lines = " ".join(prediction_lines(run, photo))
    assert "at not recorded (lat, lon)" in lines and "Probability of its cell: not recorded" \
        in lines
    assert "0.00000" not in lines
    exif, _alert = conflict_line(photo)
    assert "12.50000, -3.25000" in exif and "not recorded" in exif and " 0 km" not in exif
    # the map: no marker for the point, framed on what is recorded (not on 0, 0)
    drawn = case_map.build_case_map(run, photo)
    assert "Predicted point (a cell's estimate)" not in [lyr.name() for lyr in drawn.layers]
    assert "EXIF GPS position" in [lyr.name() for lyr in drawn.layers]
    assert len(drawn.points) == len(photo.candidates) + 1  # candidates and EXIF only
    for lon, lat in drawn.points:
        assert drawn.extent.contains(lon, lat)
    # and the PDF says it in words
    result = write_case_reports(str(copy), str(tmp_path / "out"), [path], attention=False)
    text = pdf_text(result.written[0][1])
    assert squeeze("at not recorded (lat, lon)") in text
    assert "0.00000,0.00000" not in text


def test_a_row_with_nothing_recorded_is_mapped_as_the_whole_world():
    nothing = read_prediction({"photo_path": "/p/a.jpg"})
    assert nothing.lat is None and case_map.points_of(nothing) == []
    assert case_map._extent(nothing, None) == case_map.WORLD


# ------------------------------- issue 21.1: a photo name that is not UTF-8


def test_custody_finds_a_photo_whose_name_is_not_utf8(tmp_path):
    """The run records such a name as readable text plus its exact bytes; the custody
    check hashes the real file (it said PHOTO FILE MISSING for a photo present and
    unchanged)."""
    import numpy as np

    from geodecoder.inference.modeling.cells import build_hierarchy
    from geodecoder.inference.outputs.gpkg import write_geopackage
    from geodecoder.inference.outputs.schema import RunInfo
    from geodecoder.services.case_report.facts import custody_of
    from tests.test_outputs import make_prediction

    try:
        photo = tmp_path / os.fsdecode(b"nonutf8_\xff\xfe.jpg")
        photo.write_bytes(b"the photo's bytes")
    except (OSError, UnicodeEncodeError):
        pytest.skip("this file system does not take non-UTF-8 names")
    rng = np.random.default_rng(0)
    cells = build_hierarchy(list(48.85 + rng.normal(0, 0.5, 200)),
                            list(2.35 + rng.normal(0, 0.5, 200)), 2, [150, 60])
    token = cells.levels[-1].cells[0].token
    gpkg = tmp_path / "run.gpkg"
    write_geopackage(gpkg, [make_prediction(cells, photo, {token: 1.0})], [], cells,
                     RunInfo(model_name="m", model_version="1", weights_sha256="ab" * 32,
                             bundle_path="", device="cpu", started="2026-01-01T00:00:00Z",
                             seconds=1.0))
    (row,) = read_run(str(gpkg)).photos
    custody = custody_of(row, str(gpkg))
    assert custody.path == str(photo) and custody.matches, custody
    assert custody.verdict().startswith("MATCHES")


# ------------------------------------------------- names that do not fit (issue 21.5)


def test_a_long_photo_name_gets_a_shortened_report_and_the_others_theirs(run_gpkg,
                                                                        tmp_path):
    """A 250-byte photo name: its temporary report name (name + owner + .tmp.pdf) went
    over the file system's 255 bytes and stopped every report after it.  Now its report
    has a shortened name (the same each time, said in the result) and the photos after
    it get theirs."""
    copy = tmp_path / "run.gpkg"
    shutil.copy(run_gpkg, copy)
    photos = [r["photo_path"] for r in _rows(copy, "predictions")][:3]
    long_name = "é" + "x" * 244 + ".jpg"  # 250 bytes in UTF-8, a legal file name
    _edit(copy, "predictions", f"photo_path = '{photos[0]}'", file_name=long_name)
    result = write_case_reports(str(copy), str(tmp_path / "out"), photos, attention=False)
    assert result.failed == []
    assert [p for p, _ in result.written] == photos
    (photo, pdf), = result.shortened
    assert photo == photos[0] and Path(pdf) == Path(result.written[0][1])
    assert len(Path(pdf).name.encode()) <= 255 and Path(pdf).name.startswith("éxxx")
    assert squeeze(long_name[:40]) in pdf_text(pdf)  # the report names the photo in full
    again = write_case_reports(str(copy), str(tmp_path / "again"), photos[:1],
                               attention=False)
    assert Path(again.written[0][1]).name == Path(pdf).name  # deterministic
    assert not [p for p in (tmp_path / "out").iterdir() if ".tmp" in p.name]


def test_long_names_that_share_their_start_get_reports_of_their_own():
    taken: set = set()
    a = report_name(_photo(file_name="y" * 300 + "a.jpg", photo_path="/1/a.jpg"), taken)
    b = report_name(_photo(file_name="y" * 300 + "b.jpg", photo_path="/2/b.jpg"), taken)
    assert a != b and len(a.encode()) <= 255 and len(b.encode()) <= 255


def test_one_report_that_cannot_be_written_does_not_stop_the_others(run_gpkg, tmp_path):
    out = tmp_path / "out"
    rows = _rows(run_gpkg, "predictions")[:3]
    photos = [r["photo_path"] for r in rows]
    blocked = out / report_name(read_prediction(rows[1]), set())
    blocked.mkdir(parents=True)  # a folder where the second report goes
    (blocked / "keep.txt").write_text("mine")
    result = write_case_reports(str(run_gpkg), str(out), photos, attention=False)
    assert [p for p, _ in result.written] == [photos[0], photos[2]]
    (photo, why), = result.failed
    assert photo == photos[1] and why and "\n" not in why
    assert (blocked / "keep.txt").read_text() == "mine"
    assert not [p for p in out.iterdir() if ".tmp" in p.name]


def test_the_dock_task_and_processing_report_a_failed_photo(provider, run_gpkg, tmp_path):
    import processing

    from geodecoder.services.case_report.task import CaseReportTask

    rows = _rows(run_gpkg, "predictions")
    blocked = tmp_path / "out" / report_name(read_prediction(rows[0]), set())
    blocked.mkdir(parents=True)
    ended = []
    task = CaseReportTask(str(run_gpkg), str(tmp_path / "out"),
                          [r["photo_path"] for r in rows[:2]], ended.append, attention=False)
    assert task.run() is True
    task.finished(True)
    outcome = ended[0]
    assert not outcome.ok and len(outcome.written) == 1 and len(outcome.failed) == 1
    assert "1 could not be written" in outcome.message and rows[0]["photo_path"] in \
        outcome.message
    result = processing.run(ALG, {"INPUT": str(run_gpkg), "ATTENTION": False,
                                  "OUTPUT": str(tmp_path / "out")})
    assert result["REPORTS"] == 6 and result["FAILED"] == 1
