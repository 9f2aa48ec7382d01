"""Issue 20's walk-through in a real QGIS window, driven from inside QGIS (``--code``).

Started by ``tools/walkthrough/run.sh`` under Xvfb (through start.py).  Steps run on QGIS's
main thread, one at a time, each started by a one-shot timer or by a signal of the plugin
(a generator yields what to wait for), so QGIS keeps painting and handling events
between them, modal dialogs included.  The driver never polls: a first version that
checked conditions every 200 ms took QGIS down (SIGSEGV in the driver's own timer
function, every time, as soon as a run started; QGIS lived when the driver stopped
ticking; docs/KNOWN_ISSUES.md).  Buttons are clicked with the X
mouse (``xdotool``) at their place on the screen, as a user would; screenshots are the X
screen (``import -window root``), so dialogs are in them.  Facts measured along the way go
to ``facts.json`` in the output folder.

Environment: WT_OUT (output folder), WT_SAMPLES (the sample photos), WT_MANY (a folder of
hundreds of photos), WT_CASE (a run written by the README's qgis_process command).
"""

from __future__ import annotations

import json
import os
import subprocess
import time
import traceback
from collections import Counter

from qgis.core import (
    QgsCoordinateReferenceSystem,
    QgsCoordinateTransform,
    QgsPointXY,
    QgsProject,
)
from qgis.PyQt.QtCore import QPoint, Qt, QTimer
from qgis.utils import iface, plugins

OUT = os.environ["WT_OUT"]
FACTS: dict = {}
LOG = open(os.path.join(OUT, "log.txt"), "a", encoding="utf-8")  # noqa: SIM115


def log(*parts) -> None:
    print(time.strftime("%H:%M:%S"), *parts, file=LOG, flush=True)


def shot(name: str) -> None:
    subprocess.run(["import", "-window", "root", os.path.join(OUT, f"{name}.png")],
                   check=False)
    log("shot", name)


def xdotool(*args: str) -> None:
    """Waited for: X queues the events, and Qt reads them when this step returns."""
    subprocess.run(["xdotool", *args], check=False)


def click(widget) -> None:
    """The X mouse on the widget's centre."""
    click_at(widget.mapToGlobal(widget.rect().center()), widget.objectName() or widget.text())


def click_at(point: QPoint, what: str = "") -> None:
    xdotool("mousemove", str(point.x()), str(point.y()), "click", "1")
    log("click", what or "at", point.x(), point.y())


def run_group_names():
    root = QgsProject.instance().layerTreeRoot()
    return [child.name() for child in root.children()]


def top_predictions():
    """The Predictions layer of the run on top of the layer tree (the latest)."""
    group = QgsProject.instance().layerTreeRoot().children()[0]
    return next(node.layer() for node in group.findLayers()
                if node.layer().name() == "Predictions")


def thumbnails_then_run(plugin):
    """Run pressed while the photo list still makes thumbnails (its own timer calls
    Python on the main thread while the run's worker imports and predicts)."""
    dock, service = plugin.dock, plugin.service
    dock.add_paths([os.environ["WT_MANY"]])
    yield 2
    FACTS["thumbnails_pending_at_run"] = dock.photos.thumbnails_pending()
    click(dock.run_button)
    yield service.runFinished, lambda *_a: True
    yield 2
    FACTS["thumbnails_pending_after"] = dock.photos.thumbnails_pending()
    FACTS["status"] = dock.status.text()
    shot("thumbnails-run")


def text_clue_seen(plugin):
    """The Clues tab's "Text in the photo": the text pasted, Suggest and Use clicked."""
    dock = plugin.dock
    dock.tabs.setCurrentIndex(1)
    box = dock.clues.text_clue
    scroll = box.parentWidget()
    while scroll is not None and not hasattr(scroll, "ensureWidgetVisible"):
        scroll = scroll.parentWidget()
    if scroll is not None:
        scroll.ensureWidgetVisible(box.use_button)
    yield 1
    click(box.text)
    # xdotool cannot type letters outside Xvfb's keymap (Ś, ż came out as nothing): the
    # text is pasted as a person would paste it, then the buttons are clicked
    box.text.setText("Apteka Świeża")
    yield 1
    click(box.suggest_button)
    yield 2
    FACTS["text_clue_result"] = box.result.text()
    shot("text-clue-suggested")
    click(box.use_button)
    yield 1
    FACTS["keep_only_after_use"] = dock.clues.keep_countries.checkedItemsData()
    FACTS["run_summary_after_use"] = dock.run_summary.text()
    shot("text-clue-used")


def steps(plugin):
    """The walk-through.  Yields what to wait for: seconds (a one-shot timer), or
    (signal, test) (the next step runs once the signal came with arguments that pass
    the test).  Nothing of this driver runs while a run works unless a signal of the
    plugin calls it, as the dock's own slots are called."""
    dock, service = plugin.dock, plugin.service
    finished = []
    service.runFinished.connect(lambda outcome, _layers: finished.append(outcome))
    canvas = iface.mapCanvas()
    any_args = (lambda *_args: True)

    # 1. the 23 samples; a clue about one photo only
    dock.add_paths([os.environ["WT_SAMPLES"]])
    yield 5
    FACTS["samples_listed"] = dock.photos.count()
    shot("01-samples-listed")
    target = next(p for p in dock.photos.paths() if os.path.basename(p) == "exif_test1.jpg")
    for row in range(dock.photos.count()):
        item = dock.photos.item(row)
        item.setSelected(item.data(Qt.UserRole) == target)  # the list's PATH_ROLE
    box = dock.clues.keep_countries
    box.setItemCheckState(box.findData("US"), Qt.Checked)
    dock.selected_only.setChecked(True)
    dock.tabs.setCurrentIndex(1)
    yield 1
    FACTS["run_button_with_clue"] = dock.run_button.text()
    FACTS["run_summary_with_clue"] = dock.run_summary.text()
    shot("02-clue-on-one-photo")
    before = dock.run_button.mapToGlobal(QPoint(0, 0))
    click(dock.run_button)
    yield service.runStarted, any_args
    after = dock.run_button.mapToGlobal(QPoint(0, 0))
    FACTS["run_button_moved_px"] = [after.x() - before.x(), after.y() - before.y()]
    yield service.runFinished, lambda *_a: len(finished) >= 2
    yield 3
    FACTS["sample_runs"] = [(os.path.basename(o.gpkg_path), o.predicted) for o in finished]
    FACTS["status_after_samples"] = dock.status.text()
    FACTS["saved_line"] = dock.saved_run.text()
    FACTS["groups_after_samples"] = run_group_names()
    shot("03-samples-done")

    # 2. the headline of an uncertain photo (lowest confidence of the run without clues)
    lowest = min(top_predictions().getFeatures(), key=lambda f: f["confidence"])
    FACTS["uncertain_photo"] = (lowest["file_name"], lowest["confidence"])
    service.results.show_photo(lowest["photo_path"])
    yield 2
    FACTS["uncertain_headline"] = dock.result_view.text.toPlainText()[:700]
    shot("04-uncertain-headline")
    click(dock.result_view.why_button)
    yield 3
    shot("05-why-here")
    click(dock.result_view.why_button)  # back to the photo
    yield 1

    # 3. hundreds of photos: stop and keep, a full run, a stack picked on the map
    dock.tabs.setCurrentIndex(0)
    dock.photos.clear_photos()
    dock.clues.clear()
    dock.selected_only.setChecked(False)
    dock.add_paths([os.environ["WT_MANY"]])
    yield 15
    FACTS["many_listed"] = dock.photos.count()
    FACTS["run_summary_many"] = dock.run_summary.text()
    shot("06-many-listed")
    n_before = len(finished)
    click(dock.run_button)
    started = time.monotonic()
    yield service.countChanged, lambda done, total: total and done >= 0.3 * total
    yield 0.5
    FACTS["status_while_running"] = dock.status.text()
    shot("07a-running")
    click(dock.keep_button)
    yield service.runFinished, any_args
    yield 3
    kept = finished[-1] if len(finished) > n_before else None
    FACTS["kept"] = (kept.predicted, kept.stopped_early, round(time.monotonic() - started, 1)) \
        if kept else None
    FACTS["status_after_keep"] = dock.status.text()
    FACTS["progress_after_keep"] = dock.progress.value()
    shot("07b-stopped-and-kept")

    click(dock.run_button)
    started = time.monotonic()
    yield service.runFinished, any_args
    FACTS["full_run_s"] = round(time.monotonic() - started, 1)
    FACTS["status_after_full"] = dock.status.text()
    yield 3
    FACTS["groups_after_full"] = run_group_names()
    preds = top_predictions()
    canvas.setExtent(canvas.mapSettings().layerExtentToOutputExtent(preds, preds.extent()))
    canvas.refresh()
    yield 5
    shot("08-many-on-map")
    spots = Counter((round(f.geometry().asPoint().y(), 2), round(f.geometry().asPoint().x(), 2))
                    for f in preds.getFeatures())
    (lat, lon), count = spots.most_common(1)[0]
    FACTS["largest_stack"] = (lat, lon, count, len(spots))
    to_canvas = QgsCoordinateTransform(QgsCoordinateReferenceSystem("EPSG:4326"),
                                       canvas.mapSettings().destinationCrs(),
                                       QgsProject.instance())
    pixel = canvas.getCoordinateTransform().transform(
        to_canvas.transform(QgsPointXY(lon, lat)))
    dock.tabs.setCurrentIndex(3)  # Result: where "Pick on map" is
    yield 1
    click(dock.pick_button)
    yield 1
    click_at(canvas.mapToGlobal(QPoint(int(pixel.x()), int(pixel.y()))))
    yield 3
    FACTS["stack_rows"] = dock.result_view.stack.count()
    shot("09-stack-picked")

    # 4. Cancel: the bar goes back, nothing is added
    groups = len(run_group_names())
    click(dock.run_button)
    yield service.countChanged, lambda done, total: total and done >= 0.1 * total
    click(dock.cancel_button)
    yield service.runCancelled, any_args
    yield 2
    FACTS["after_cancel"] = (dock.progress.value(), dock.status.text(),
                             len(run_group_names()) == groups)
    shot("10-cancelled")

    # 5. the README's qgis_process run, through Open run... (the dialog starts in the runs
    # folder), and its "Why here?"
    dock.tabs.setCurrentIndex(3)
    yield 1
    click(dock.open_run_button)  # a modal dialog: the next steps run in its event loop
    yield 3
    shot("11-open-run-dialog")
    xdotool("type", "--delay", "20", os.environ["WT_CASE"])
    xdotool("key", "Return")
    yield 8
    FACTS["status_after_open"] = dock.status.text()
    FACTS["groups_after_open"] = run_group_names()
    shot("12-case-opened")
    click(dock.result_view.why_button)
    yield 3
    FACTS["reopened_why_maps_shown"] = dock.result_view.attention.isVisible()
    FACTS["reopened_text"] = dock.result_view.text.toPlainText()[:400]
    shot("13-case-why-here")


def main():
    """Wait for the plugin, then run ``steps`` one yield at a time."""
    state = {"gen": None, "slot": None, "deadline": time.monotonic() + 120}

    def advance():
        try:
            wait = next(state["gen"])
        except StopIteration:
            finish(0)
            return
        except Exception:  # noqa: BLE001 - logged, then QGIS ends
            log(traceback.format_exc())
            finish(1)
            return
        if isinstance(wait, (int, float)):
            QTimer.singleShot(int(wait * 1000), advance)
            return
        signal, test = wait

        def on_signal(*args):
            if test(*args):
                signal.disconnect(on_signal)
                QTimer.singleShot(200, advance)
        signal.connect(on_signal)

    def start():
        plugin = plugins.get("geodecoder")
        if plugin is None:
            if time.monotonic() > state["deadline"]:
                log("the plugin did not load")
                finish(1)
            QTimer.singleShot(500, start)
            return
        iface.mainWindow().setGeometry(0, 0, 1600, 1000)  # Xvfb has no window manager
        plugin.action.setChecked(True)
        scenario = {"thumbnails": thumbnails_then_run, "textclue": text_clue_seen}.get(
            os.environ.get("WT_SCENARIO", ""), steps)
        state["gen"] = scenario(plugin)
        QTimer.singleShot(3000, advance)

    def finish(code):
        with open(os.path.join(OUT, "facts.json"), "w", encoding="utf-8") as fh:
            json.dump(FACTS, fh, indent=1, default=str)
        log("done", code)
        QgsProject.instance().setDirty(False)
        os._exit(code)

    QTimer.singleShot(500, start)


main()
