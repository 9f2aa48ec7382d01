"""`make bench`, QGIS part: a finished run of 10,000 photos, added to QGIS and drawn.

Issue 10: the layers of a 10,000-photo run are added and the map canvas has drawn them
in under 5 s, and the dock's result list stays responsive.  Per variant, in fresh
processes:

  1. ``generate``: the sample photos and one 12 MP phone photo are geolocated with the
     default model (the Predictor a run uses) and their records replicated to N photos
     (points jittered by up to 2 degrees; each photo its own file, a link to its base
     photo; cells, candidates and regions as predicted), written with the real
     ``GeoPackageWriter`` in a run's chunks and with its styles.  ``uncertain``: the
     shipped, calibrated model (90 % regions of ~280 cells, a third of the globe);
     ``confident``: the same network at temperature 1 (its raw logits: 1-22 cells).
  2. ``qgis``: QgsApplication offscreen, what the run service does when a run ends
     (``load_run_layers``, then following the run and adding the offline world map), and
     a 1280 x 800 px QgsMapCanvas drawing the visible layers at the run's full extent,
     timed to ``mapCanvasRefreshed``.  Then the dock (the real GeolocateDock wired to the
     run service as plugin.py does): its photo list filled with the N photos, their
     statuses set as a run sets them, the longest stall of the event loop while the
     thumbnails are made, and a double-click on a photo row until the result is in the
     Result tab and the canvas has drawn it.

    .venv/bin/python benchmarks/bench_qgis.py [--photos 10000] [--variant both]
        [--keep DIR [--reuse]]

Ends with one line per variant for scripts:
``qgis 10000 uncertain: load+draw 0.9 s (under 5 s)``.
"""

from __future__ import annotations

import argparse
import dataclasses
import hashlib
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

LIMIT_S = 5.0
JITTER_DEG = 2.0
CANVAS_PX = (1280, 800)
VARIANTS = ("uncertain", "confident")


# ---------------------------------------------------------------------- photos


def make_photos(folder: Path, n: int) -> list[Path]:
    """N photo files: links to the sample photos and one 12 MP phone photo."""
    from benchmarks.bench import phone_photos

    base = folder / "base"
    base.mkdir(parents=True)
    for f in sorted((REPO / "resources" / "samples").iterdir()):
        if f.suffix.lower() in (".jpg", ".heic"):
            shutil.copy(f, base / f.name)
    phone_photos(base, 1, 0)
    bases = sorted(base.iterdir())
    links = []
    for k in range(n):
        src = bases[k % len(bases)]
        link = folder / f"batch{k // 1000:02d}" / f"IMG_{k:05d}{src.suffix}"
        link.parent.mkdir(exist_ok=True)
        link.symlink_to(src)
        links.append(link)
    return links


def photo_list(folder: Path) -> list[str]:
    return sorted(str(p) for p in folder.glob("batch*/IMG_*"))


# ---------------------------------------------------------------------- generate


def base_records(variant: str, folder: Path):
    """The base photos' real predictions and regions, in the order of their files."""
    from inference.modeling.defaults import default_bundle_path
    from inference.outputs.schema import photo_regions
    from inference.prediction.predict import Predictor
    from inference.records import Prediction

    bundle = default_bundle_path()
    if bundle is None:
        raise SystemExit("no default model bundle: nothing to generate a run from")
    predictor = Predictor(bundle, device="cpu")
    if variant == "confident":
        predictor.temperature = 1.0
    preds = [r for r in predictor.run([str(folder / "base")]) if isinstance(r, Prediction)]
    preds.sort(key=lambda p: os.path.realpath(p.path))
    finest = tuple(c.token for c in predictor.bundle.cells.levels[-1].cells)
    return predictor, preds, photo_regions(preds, finest)


def replicate(pred, path: str, rng):
    """A photo of the run: its base photo's record, the point moved, its own file."""
    lat = float(min(89.0, max(-89.0, pred.lat + rng.uniform(-JITTER_DEG, JITTER_DEG))))
    lon = float(((pred.lon + rng.uniform(-JITTER_DEG, JITTER_DEG) + 180.0) % 360.0) - 180.0)
    return dataclasses.replace(pred, path=path, lat=lat, lon=lon, exif_gps=None,
                               error_km=None, sha256=hashlib.sha256(path.encode()).hexdigest())


def phase_generate(args) -> dict:
    import numpy as np

    from inference.outputs.gpkg import GeoPackageWriter
    from inference.outputs.places import place_names
    from inference.outputs.schema import RunInfo, utc_now_iso
    from inference.outputs.styles import applicable_styles
    from inference.run import CHUNK

    t0 = time.perf_counter()
    folder = Path(args.photo_dir)
    predictor, preds, regions = base_records(args.variant, folder)
    by_base = {os.path.realpath(p.path): i for i, p in enumerate(preds)}
    photos = photo_list(folder)
    base_of = [by_base[os.path.realpath(p)] for p in photos]
    run = RunInfo.for_bundle(predictor.bundle, "cpu", utc_now_iso(), 0.0)
    cells = predictor.bundle.cells
    rng = np.random.default_rng(0)
    t1 = time.perf_counter()
    writer = GeoPackageWriter(args.out, cells, run, styles=applicable_styles(cells.num_levels))
    with writer:
        for start in range(0, len(photos), CHUNK):
            ks = range(start, min(start + CHUNK, len(photos)))
            chunk = [replicate(preds[base_of[k]], photos[k], rng) for k in ks]
            places = place_names([(p.lat, p.lon) for p in chunk])
            writer.add(chunk, regions=[regions[base_of[k]] for k in ks], places=places)
        writer.commit(dataclasses.replace(run, seconds=time.perf_counter() - t1))
    return {"variant": args.variant, "photos": len(photos), "predict_s": t1 - t0,
            "write_s": time.perf_counter() - t1, "mb": os.path.getsize(args.out) / 1e6,
            "region90_cells": [r[-1].n_cells for r in regions],
            "region90_mkm2": [round(r[-1].area_km2 / 1e6) for r in regions]}


# -------------------------------------------------------------------------- qgis


def phase_qgis(args) -> dict:
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    from qgis.core import QgsApplication

    app = QgsApplication([], True)
    app.initQgis()
    try:
        return measure_in_qgis(args, app)
    finally:
        app.exitQgis()


class Canvas:
    """A QgsMapCanvas on screen (offscreen), and the time its next drawing ends."""

    def __init__(self, app):
        from qgis.gui import QgsMapCanvas

        self.app = app
        self.widget = QgsMapCanvas()
        self.widget.resize(*CANVAS_PX)
        self.widget.show()
        self.drawn: list[float] = []
        self.widget.mapCanvasRefreshed.connect(lambda: self.drawn.append(time.perf_counter()))

    def wait_drawn(self, since: float, timeout: float) -> float | None:
        deadline = time.perf_counter() + timeout
        while time.perf_counter() < deadline:
            done = [t for t in self.drawn if t >= since]
            if done:
                return done[0] - since
            self.app.processEvents()
            time.sleep(0.001)
        return None


class Iface:
    """What the run service asks of QGIS's iface: the canvas."""

    def __init__(self, canvas):
        self.canvas = canvas

    def mapCanvas(self):  # noqa: N802 - QGIS's name
        return self.canvas

    def activeLayer(self):  # noqa: N802 - QGIS's name
        return None


def plugin_module(name: str):
    from tests.test_plugin_fixtures import import_plugin

    import importlib

    return importlib.import_module(f"{import_plugin().__name__}.{name}")


def measure_in_qgis(args, app) -> dict:
    from qgis.core import QgsProject

    run_layers = plugin_module("services.run.layers")
    run_service = plugin_module("services.run.service")
    project = QgsProject.instance()
    canvas = Canvas(app)
    service = run_service.GeolocateService(Iface(canvas.widget), project)
    out: dict = {"variant": args.variant}

    # the end of a run (GeolocateService._task_finished): layers, follow, basemap
    t0 = time.perf_counter()
    layers = run_layers.load_run_layers(args.gpkg, project)
    service._add_run(layers)  # noqa: SLF001 - the very step a finished run takes
    out["load_s"] = time.perf_counter() - t0
    out["features"] = {lyr.name(): lyr.featureCount() for lyr in layers.all()}
    visible = [node.layer() for node in project.layerTreeRoot().findLayers()
               if node.isVisible() and node.layer() is not None]
    out["visible"] = [lyr.name() for lyr in visible]
    extent = layers.predictions.extent()
    basemap = service.basemap.id() if service.basemap is not None else None
    for lyr in visible:
        if lyr.isSpatial() and lyr.id() != basemap:
            extent.combineExtentWith(lyr.extent())
    t1 = time.perf_counter()
    canvas.widget.setDestinationCrs(layers.predictions.crs())
    canvas.widget.setLayers(visible)
    canvas.widget.setExtent(extent)
    canvas.widget.refresh()
    out["draw_s"] = canvas.wait_drawn(t1, args.timeout)
    canvas.widget.saveAsImage(str(Path(args.gpkg).with_suffix(".png")))
    out.update(measure_dock(args, app, canvas, service))
    return out


def measure_dock(args, app, canvas: Canvas, service) -> dict:
    """The dock after a large run: filling its list, statuses, thumbnails, a click."""
    from qgis.PyQt.QtCore import QTimer

    dock_module = plugin_module("ui.dock")
    dock = dock_module.GeolocateDock(canvas=canvas.widget)
    dock.photoChosen.connect(lambda path: path and service.show_photo(path))
    service.resultSelected.connect(dock.show_result)
    shown: list[float] = []
    service.resultSelected.connect(lambda _details: shown.append(time.perf_counter()))
    dock.resize(320, 900)
    dock.show()
    photos = photo_list(Path(args.photo_dir))
    out: dict = {}
    t = time.perf_counter()
    dock.photos.add_paths(photos)  # what a folder scan hands over when it ends
    out["list_add_s"] = time.perf_counter() - t
    t = time.perf_counter()
    dock.photos.reset_statuses()  # Run pressed
    out["list_reset_s"] = time.perf_counter() - t
    t = time.perf_counter()
    for p in photos:  # one photoDone per photo during the run
        dock.photo_done(p, True, "near Paris, France — 0.3 %")
    out["list_status_s"] = time.perf_counter() - t

    # thumbnails: the longest time the event loop is away while they are made (after
    # one pass that lays out and paints the filled list)
    app.processEvents()
    gaps, last = [], [time.perf_counter()]

    def tick():
        now = time.perf_counter()
        gaps.append(now - last[0])
        last[0] = now

    probe = QTimer()
    probe.setInterval(5)
    probe.timeout.connect(tick)
    probe.start()
    deadline = time.perf_counter() + args.thumb_seconds
    done_before = dock.photos.thumbnails_pending()
    while time.perf_counter() < deadline and dock.photos.thumbnails_pending():
        app.processEvents()
    probe.stop()
    out["thumbs_made"] = done_before - dock.photos.thumbnails_pending()
    out["thumb_stall_ms"] = 1e3 * max(gaps) if gaps else None

    # a double-click on the last photo's row: its result shown, the canvas redrawn
    item = dock.photos.item(dock.photos.count() - 1)
    t = time.perf_counter()
    dock.photos.itemActivated.emit(item)
    out["click_shown_s"] = (shown[0] - t) if shown else None
    out["click_drawn_s"] = canvas.wait_drawn(t, args.timeout)
    out["click_tab"] = dock.tabs.currentIndex() == dock_module.TAB_RESULT
    canvas.widget.saveAsImage(str(Path(args.gpkg).with_name(
        Path(args.gpkg).stem + "-clicked.png")))
    dock.photos.clear_photos()
    return out


# -------------------------------------------------------------------------- main


def run_phase(name: str, **kw) -> dict:
    cmd = [sys.executable, str(Path(__file__).resolve()), "--phase", name]
    for key, value in kw.items():
        cmd += [f"--{key.replace('_', '-')}", str(value)]
    res = subprocess.run(cmd, cwd=REPO, capture_output=True, text=True)
    if res.returncode != 0:
        raise SystemExit(f"phase {name} failed ({res.returncode}):\n{res.stderr[-4000:]}")
    return json.loads(res.stdout.strip().splitlines()[-1])


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--photos", type=int, default=10_000)
    p.add_argument("--variant", choices=(*VARIANTS, "both"), default="both")
    p.add_argument("--keep", help="write the photos, GeoPackages and canvas images here")
    p.add_argument("--reuse", action="store_true",
                   help="with --keep: measure the GeoPackages written there before")
    p.add_argument("--timeout", type=float, default=600.0, help="give up drawing after (s)")
    p.add_argument("--thumb-seconds", type=float, default=5.0,
                   help="how long thumbnails are made while the event loop is probed")
    p.add_argument("--phase", choices=["generate", "qgis"], help=argparse.SUPPRESS)
    p.add_argument("--out", help=argparse.SUPPRESS)
    p.add_argument("--gpkg", help=argparse.SUPPRESS)
    p.add_argument("--photo-dir", help=argparse.SUPPRESS)
    args = p.parse_args()
    if args.phase == "generate":
        print(json.dumps(phase_generate(args)))
        return 0
    if args.phase == "qgis":
        print(json.dumps(phase_qgis(args)))
        return 0
    variants = VARIANTS if args.variant == "both" else (args.variant,)
    with tempfile.TemporaryDirectory(prefix="geodecoder-bench-qgis-") as tmp:
        folder = Path(args.keep) if args.keep else Path(tmp)
        folder.mkdir(parents=True, exist_ok=True)
        photo_dir = folder / f"photos-{args.photos}"
        if not (args.reuse and photo_dir.is_dir()):
            shutil.rmtree(photo_dir, ignore_errors=True)
            make_photos(photo_dir, args.photos)
        rows = []
        for variant in variants:
            gpkg = folder / f"run-{args.photos}-{variant}.gpkg"
            facts = gpkg.with_suffix(".json")
            if args.reuse and gpkg.is_file() and facts.is_file():
                gen = json.loads(facts.read_text())
            else:
                gen = run_phase("generate", photos=args.photos, variant=variant, out=gpkg,
                                photo_dir=photo_dir)
                facts.write_text(json.dumps(gen))
            print(f"{gpkg.name}: {gen['mb']:.0f} MB, written in {gen['write_s']:.0f} s",
                  flush=True)
            q = run_phase("qgis", variant=variant, gpkg=gpkg, photo_dir=photo_dir,
                          timeout=args.timeout, thumb_seconds=args.thumb_seconds)
            rows.append((gen, q))
            if not args.keep:
                gpkg.unlink()
                facts.unlink()
    report(rows)
    return 0


def _s(value, digits: int = 2) -> str:
    return "-" if value is None else f"{value:.{digits}f}"


def report(rows) -> None:
    print()
    for gen, q in rows:
        print(f"{gen['variant']} run of {gen['photos']} photos: GeoPackage {gen['mb']:.0f} MB "
              f"(written in {gen['write_s']:.0f} s); 90 % regions of "
              f"{min(gen['region90_cells'])}-{max(gen['region90_cells'])} cells, "
              f"{min(gen['region90_mkm2'])}-{max(gen['region90_mkm2'])} million km2")
        print(f"  layers added {_s(q['load_s'])} s, canvas drawn {_s(q['draw_s'])} s; "
              f"visible: {', '.join(q['visible'])}")
        print(f"  dock: list of {gen['photos']} filled {_s(q['list_add_s'])} s, statuses "
              f"reset {_s(q['list_reset_s'])} s, {gen['photos']} statuses set "
              f"{_s(q['list_status_s'])} s; longest stall while making "
              f"{q['thumbs_made']} thumbnails {_s(q['thumb_stall_ms'], 0)} ms; double-click "
              f"-> result shown {_s(q['click_shown_s'])} s, drawn {_s(q['click_drawn_s'])} s")
    print()
    for gen, q in rows:
        total = None if q["draw_s"] is None else q["load_s"] + q["draw_s"]
        verdict = "not drawn" if total is None else (
            "under 5 s" if total < LIMIT_S else "OVER 5 s")
        print(f"qgis {gen['photos']} {gen['variant']}: load+draw {_s(total, 1)} s ({verdict})")


if __name__ == "__main__":
    sys.exit(main())
