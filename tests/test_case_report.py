"""Case reports: a real run of the default model on the sample photos, written as PDFs by
the service, the Processing algorithm and the dock's button, read back with pdftotext."""

from __future__ import annotations

import hashlib
import shutil
import subprocess
from pathlib import Path

import pytest
from osgeo import ogr
from qgis.core import QgsApplication, QgsProcessingException, QgsRectangle

from tests.test_plugin_fixtures import ROOT, import_plugin

import_plugin()
from geodecoder.processing_provider.provider import GeoDecoderProvider  # noqa: E402
from geodecoder.services import case_map  # noqa: E402
from geodecoder.services.case_facts import (CaseReportError, PhotoFacts,  # noqa: E402
                                            read_run)
from geodecoder.services.case_report import report_name, write_case_reports  # noqa: E402
from geodecoder.services.case_text import conflict_line  # noqa: E402

SAMPLES = ROOT / "resources" / "samples"
DEFAULT_MODEL = ROOT / "resources" / "models" / "default"
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
    from geodecoder.services.dependencies import REQUIREMENTS, missing_requirements
    if missing_requirements(REQUIREMENTS):
        pytest.skip("the engine's packages are not installed")
    from geodecoder.services.run_pipeline import PredictionStream, predict_to_geopackage

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


@pytest.fixture()
def provider(qgis_processing):
    registry = QgsApplication.processingRegistry()
    if registry.providerById("geodecoder") is not None:
        yield registry.providerById("geodecoder")
        return
    instance = GeoDecoderProvider()
    registry.addProvider(instance)
    yield instance
    registry.removeProvider(instance)


def test_the_processing_algorithm_writes_the_reports(provider, run_gpkg, tmp_path):
    import processing

    alg = QgsApplication.processingRegistry().algorithmById(ALG)
    assert alg.flags() & alg.FlagNoThreading
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


def test_the_dock_button_reports_the_selected_photo(plugin, run_gpkg, tmp_path, monkeypatch):
    from qgis.PyQt.QtWidgets import QFileDialog

    assert plugin.open_run(str(run_gpkg))
    predictions = plugin.service.runs[plugin.service.shown_run].predictions
    feature = next(f for f in predictions.getFeatures() if f["file_name"] == "sigal_1.jpg")
    predictions.selectByIds([feature.id()])
    out = tmp_path / "dock-reports"
    monkeypatch.setattr(QFileDialog, "getExistingDirectory", lambda *a, **k: str(out))
    plugin.dock.report_button.click()
    assert [p.name for p in out.glob("*.pdf")] == ["sigal_1_jpg.pdf"]
    assert "1 case report(s) written" in plugin.dock.status.text()
    assert sha256(feature["photo_path"]) in pdf_text(out / "sigal_1_jpg.pdf")


# --------------------------------------------------------------- small pure parts


def _photo(**kw) -> PhotoFacts:
    base = dict(photo_path="/p/a.jpg", file_name="a.jpg", relpath="", sha256="", lat=0.0,
                lon=0.0, confidence=0.1, place="", scene="", scene_confidence=None, cells=(),
                candidates=())
    base.update(kw)
    return PhotoFacts(**base)


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
    from tests.test_plugin_processing import QGIS_PROCESS, _qgis_process

    if not QGIS_PROCESS.exists():
        pytest.skip(f"{QGIS_PROCESS} is absent (Debian package 'qgis' not installed)")
    config = tmp_path / "config"
    plugins = config / "profiles" / "default" / "python" / "plugins"
    plugins.mkdir(parents=True)
    (plugins / "geodecoder").symlink_to(ROOT, target_is_directory=True)
    assert _qgis_process(["plugins", "enable", "geodecoder"], config, tmp_path).returncode == 0
    out = tmp_path / "reports"
    run = _qgis_process(["run", ALG, "--", f"INPUT={run_gpkg}", "ATTENTION=false",
                         f"OUTPUT={out}"], config, tmp_path)
    assert run.returncode == 0, (run.stdout + run.stderr)[-4000:]
    assert len(list(out.glob("*.pdf"))) == 7
    photo = _rows(run_gpkg, "predictions")[0]
    pdf = out / report_name(photo_facts(photo), set())
    assert sha256(photo["photo_path"]) in pdf_text(pdf)


def photo_facts(row: dict) -> PhotoFacts:
    return _photo(photo_path=row["photo_path"], file_name=row["file_name"])


def test_the_constraints_of_a_run_are_reported_and_drawn(run_gpkg, tmp_path):
    """A run with a constraints layer (issue 9's contract): each constraint in words."""
    copy = tmp_path / "run.gpkg"
    shutil.copy(run_gpkg, copy)
    ds = ogr.Open(str(copy), 1)
    srs = ogr.osr.SpatialReference()
    srs.ImportFromEPSG(4326)
    layer = ds.CreateLayer("constraints", srs, ogr.wkbMultiPolygon)
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
