"""Render the README screenshots headless: the dock, and a run's layers over a basemap.

    QT_QPA_PLATFORM=offscreen .venv/bin/python tools/render_screenshots.py [--model DIR]

Runs the plugin's own code (pipeline, writer, layer loading, dock) on the sample photos
and writes ``docs/screenshot-dock.png`` and ``docs/screenshot-map.png``.  The basemap is
QGIS's offline world map.  Without ``--model`` and without a default model, an
UNTRAINED demo bundle is made (cells from the MP-16 coordinates in ../shared/data when
present): its locations are meaningless, and the pictures say so in their status text.
"""

from __future__ import annotations

import argparse
import importlib.util
import os
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
COORDS = ROOT.parent / "shared" / "data" / "mp16-coordinates-100k" / "coordinates_100k.csv"
DEMO_CELLS = dict(t_min=20, t_max=[5000, 1000, 250])
DEMO_MODEL = dict(width=64, scenes=4, hid_layers=1, hdd_layers=1, heads=2, ffn=128)


def import_plugin():
    spec = importlib.util.spec_from_file_location(
        "geodecoder", ROOT / "__init__.py", submodule_search_locations=[str(ROOT)])
    module = importlib.util.module_from_spec(spec)
    sys.modules["geodecoder"] = module
    spec.loader.exec_module(module)
    return module


def demo_bundle(folder: Path) -> str:
    """An untrained bundle whose cells follow real photo density (or a few cities)."""
    from geodecoder.inference.modeling.bundle import init_bundle
    from geodecoder.inference.modeling.cells import build_hierarchy, read_coordinates_csv

    if COORDS.is_file():
        lats, lons = read_coordinates_csv(COORDS)
        cells = build_hierarchy(lats, lons, **DEMO_CELLS)
    else:
        import numpy as np

        rng = np.random.default_rng(0)
        centres = [(48.85, 2.35), (35.68, 139.65), (-33.87, 151.2), (40.71, -74.0),
                   (-1.29, 36.82), (-23.55, -46.63), (55.75, 37.62), (28.61, 77.2)]
        lats = np.concatenate([c[0] + rng.normal(0, 2, 300) for c in centres])
        lons = np.concatenate([c[1] + rng.normal(0, 2, 300) for c in centres])
        cells = build_hierarchy(lats, lons, t_min=5, t_max=[600, 150, 40])
    return str(init_bundle(cells, folder / "demo-untrained", name="demo", **DEMO_MODEL))


def render_image(layers, extent, size):
    from qgis.core import (
        QgsCoordinateReferenceSystem,
        QgsMapRendererParallelJob,
        QgsMapSettings,
    )
    from qgis.PyQt.QtCore import QSize
    from qgis.PyQt.QtGui import QColor

    settings = QgsMapSettings()
    settings.setLayers(layers)
    settings.setDestinationCrs(QgsCoordinateReferenceSystem("EPSG:4326"))
    settings.setExtent(extent)
    settings.setOutputSize(QSize(*size))
    settings.setBackgroundColor(QColor("#dcebf5"))
    job = QgsMapRendererParallelJob(settings)
    job.start()
    job.waitForFinished()
    return job.renderedImage()


def zoom_extent(predictions, aspect: float):
    """Around the first photo's answer, as the dock zooms when it is clicked."""
    from qgis.core import QgsRectangle

    point = next(predictions.getFeatures()).geometry().asPoint()
    half_h = 9.0
    return QgsRectangle(point.x() - half_h * aspect, point.y() - half_h,
                        point.x() + half_h * aspect, point.y() + half_h)


def render_map(layers, predictions, out: Path, width: int = 1400) -> None:
    """The world (top) and the first photo's neighbourhood (below), as the layer tree
    shows them: what QGIS shows after a run, and after a click on a result."""
    from qgis.core import QgsRectangle
    from qgis.PyQt.QtGui import QColor, QImage, QPainter

    gap = 12
    world_h = int(width * 146 / 360)
    zoom_h = 520
    world = render_image(layers, QgsRectangle(-180, -62, 180, 84), (width, world_h))
    zoom = render_image(layers, zoom_extent(predictions, width / zoom_h), (width, zoom_h))
    sheet = QImage(width, world_h + gap + zoom_h, QImage.Format_RGB32)
    sheet.fill(QColor("#ffffff"))
    painter = QPainter(sheet)
    painter.drawImage(0, 0, world)
    painter.drawImage(0, world_h + gap, zoom)
    painter.end()
    sheet.save(str(out))


DOCK_SIZE = (300, 820)  # QGIS opens a dock about 290 px wide


def render_dock(plugin_ui, service_attention, photos, outcome, layers, out: Path) -> None:
    """The dock at a narrow width, its four tabs side by side in one picture (the Clues
    tab with a country ticked, as an investigator would)."""
    from geodecoder.ui.dock import GeolocateDock
    from qgis.PyQt.QtCore import QCoreApplication, Qt
    from qgis.PyQt.QtGui import QColor, QImage, QPainter
    from geodecoder.services.run.result_details import details_for
    from geodecoder.services.run.service import describe_outcome

    dock = GeolocateDock(attention_lookup=service_attention)
    dock.add_paths(photos)
    while dock.photos.thumbnails_pending():  # thumbnails are made by a timer
        QCoreApplication.processEvents()
    failed = dict(outcome.failures)
    from geodecoder.services.run.task import percent  # the words the run's list shows

    for feature in layers.predictions.getFeatures():
        dock.photo_done(feature["photo_path"], True,
                        plugin_ui.tr("confidence {c}").format(c=percent(feature["confidence"])))
    for path, reason in failed.items():
        dock.photo_done(path, False, reason)
    from geodecoder.services.run.pipeline import default_bundle_path

    if outcome.bundle_path == default_bundle_path():  # the Model tab as a user sees it
        dock.options.set_choice("default")
    else:
        dock.options.model.setFilePath(outcome.bundle_path)
    dock.run_ended(describe_outcome(outcome.outcome), outcome.outcome.device_used)
    dock.progress.setValue(100)
    first = next(layers.predictions.getFeatures())
    dock.show_result(details_for(first, layers))
    dock.result_view.why_button.setChecked(True)
    clues = dock.clues.keep_countries
    for code in ("CH", "AT"):
        clues.setItemCheckState(clues.findData(code), Qt.Checked)
    dock.resize(*DOCK_SIZE)
    dock.show()  # lays the widgets out (offscreen platform: nothing appears)
    QCoreApplication.processEvents()
    gap = 12
    tabs = dock.tabs.count()
    sheet = QImage(tabs * DOCK_SIZE[0] + (tabs - 1) * gap, DOCK_SIZE[1], QImage.Format_RGB32)
    sheet.fill(QColor("#ffffff"))
    painter = QPainter(sheet)
    for i in range(tabs):
        dock.tabs.setCurrentIndex(i)
        QCoreApplication.processEvents()
        shot = dock.grab().toImage().scaled(DOCK_SIZE[0], DOCK_SIZE[1], Qt.KeepAspectRatio,
                                            Qt.SmoothTransformation)
        painter.drawImage(i * (DOCK_SIZE[0] + gap), 0, shot)
    painter.end()
    sheet.save(str(out))
    dock.close()


def visible_layers(project) -> list:
    """The layers the map shows, top first, as the layer tree has them switched on."""
    root = project.layerTreeRoot()
    return [layer for layer in root.layerOrder()
            if root.findLayer(layer.id()) is not None and root.findLayer(layer.id()).isVisible()]


class _Outcome:
    def __init__(self, outcome, bundle_path):
        self.outcome, self.bundle_path, self.failures = outcome, bundle_path, outcome.failures


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--model", help="model bundle folder (default: default or demo)")
    parser.add_argument("--photos", default=str(ROOT / "resources" / "samples"))
    parser.add_argument("--out", default=str(ROOT / "docs"))
    args = parser.parse_args(argv)
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    from qgis.core import QgsApplication, QgsProject

    app = QgsApplication([], True)
    app.initQgis()
    import_plugin()
    from geodecoder.services import i18n
    from geodecoder.services.run import pipeline as run_pipeline
    from geodecoder.services.run.basemap import WORLD, add_basemap
    from geodecoder.services.run.task import RunOutcome, photo_key
    from geodecoder.services.run.layers import load_run_layers, show_photo_in_layers

    work = Path(tempfile.mkdtemp(prefix="geodecoder-shots-"))
    bundle = args.model or run_pipeline.default_bundle_path() or demo_bundle(work)
    stream = run_pipeline.PredictionStream([args.photos], bundle, device="cpu", top_k=5,
                                           attention=True)
    attention, failures = {}, []

    def keep(record):  # the dock view needs the attention maps and the failures
        if hasattr(record, "reason"):
            failures.append((record.path, record.reason))
        else:
            attention[photo_key(record.path)] = record.attention

    gpkg = run_pipeline.predict_to_geopackage(work / "screenshots.gpkg", stream, on_record=keep)
    outcome = RunOutcome(str(gpkg), stream.n_predicted, tuple(failures), stream.device_used,
                         stream.bundle.label, bool(stream.bundle.info.untrained), stream.seconds,
                         stream.num_levels)
    project = QgsProject.instance()
    layers = load_run_layers(str(gpkg), project, "GeoDecoder screenshots")
    world = add_basemap(WORLD, project)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    assert world is not None
    # as after a click on the first photo: its regions drawn, the others' faint
    show_photo_in_layers(layers, str(next(layers.predictions.getFeatures())["photo_path"]))
    render_map(visible_layers(project), layers.predictions, out / "screenshot-map.png")
    photos = [str(p) for p in sorted(Path(args.photos).iterdir()) if p.suffix.lower() in
              (".jpg", ".jpeg", ".png", ".heic")]
    render_dock(i18n, lambda path: attention.get(photo_key(path)), photos,
                _Outcome(outcome, bundle), layers, out / "screenshot-dock.png")
    print(f"wrote {out / 'screenshot-map.png'} and {out / 'screenshot-dock.png'}"
          + (" (UNTRAINED demo model: locations are meaningless)" if outcome.untrained else ""))
    project.clear()
    app.exitQgis()
    return 0


if __name__ == "__main__":
    sys.exit(main())
