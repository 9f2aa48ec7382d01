"""The one run path: chunks to every writer, commit all or abort all."""

from __future__ import annotations

import sys
import time

import pytest

from inference.outputs.csv_out import CsvWriter
from inference.outputs.gpkg import GeoPackageWriter
from inference.prediction.predict import Predictor
from inference.run import NothingToDo, run_photos
from inference.outputs.schema import RunInfo
from inference.outputs.writer import RunWriter
from tests.photo_factory import make_jpeg


class ListWriter(RunWriter):
    """A new output format is one writer class: this one keeps what it is given."""

    def __init__(self):
        self.chunks, self.committed, self.aborted = [], None, False

    def add(self, predictions, failures=(), *, regions=None, places=None):
        assert len(regions) == len(predictions) == len(places)  # computed once, passed in
        self.chunks.append(([p.path for p in predictions], [f.path for f in failures]))

    def commit(self, run=None):
        self.committed = run
        return "listed"

    def abort(self):
        self.aborted = True


@pytest.fixture
def photos(tmp_path):
    folder = tmp_path / "in"
    folder.mkdir()
    for i in range(7):
        make_jpeg(folder / f"p{i}.jpg", size=(96, 72), color=(30 * i, 90, 160))
    (folder / "broken.jpg").write_bytes(b"not a jpeg")
    return folder


def _run_info(bundle):
    return RunInfo.for_bundle(bundle, "cpu", "2026-01-01T00:00:00+00:00")


def test_every_writer_gets_every_chunk_and_all_commit(tiny_bundle, photos, tmp_path):
    predictor = Predictor(tiny_bundle, device="cpu", batch_size=4)
    run = _run_info(tiny_bundle)
    listed = ListWriter()
    gpkg = GeoPackageWriter(tmp_path / "r.gpkg", tiny_bundle.cells, run)
    csv_out = CsvWriter(tmp_path / "r.csv", run, tiny_bundle.cells.num_levels, 5)
    chunks = []
    result = run_photos([str(photos)], predictor, [listed, gpkg, csv_out], run,
                        chunk_size=3, on_chunk=lambda c: chunks.append(len(c.predictions)))
    assert result.predicted == 7 and [f.path for f in result.failures] == [
        str(photos / "broken.jpg")]
    assert all(len(p) + len(f) <= 3 for p, f in listed.chunks) and len(listed.chunks) == 3
    assert sum(chunks) == 7
    assert listed.committed is result.run and result.run.seconds > 0
    assert result.outputs[0] == "listed" and (tmp_path / "r.gpkg").is_file()
    assert (tmp_path / "r.csv").is_file() and not listed.aborted


def test_a_cancel_aborts_every_writer_and_keeps_an_older_file(tiny_bundle, photos, tmp_path):
    predictor = Predictor(tiny_bundle, device="cpu", batch_size=2)
    run = _run_info(tiny_bundle)
    old = tmp_path / "r.gpkg"
    old.write_bytes(b"the previous good run")
    listed = ListWriter()
    gpkg = GeoPackageWriter(old, tiny_bundle.cells, run)
    seen = []

    def stop():
        return len(seen) >= 3

    result = run_photos([str(photos)], predictor, [listed, gpkg], run, should_stop=stop,
                        on_record=seen.append, chunk_size=2)
    assert result.cancelled and listed.aborted and listed.committed is None
    assert old.read_bytes() == b"the previous good run"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["in", "r.gpkg"]  # no temp left


def test_no_photos_is_an_error_and_writes_nothing(tiny_bundle, tmp_path):
    empty = tmp_path / "empty"
    empty.mkdir()
    listed = ListWriter()
    with pytest.raises(NothingToDo, match="no photos found"):
        run_photos([str(empty)], Predictor(tiny_bundle, device="cpu"), [listed],
                   _run_info(tiny_bundle))
    assert listed.aborted and listed.committed is None


def test_an_error_in_one_writer_aborts_the_others(tiny_bundle, photos, tmp_path):
    class Broken(ListWriter):
        def add(self, *args, **kwargs):
            raise OSError("disk full")

    run = _run_info(tiny_bundle)
    listed = ListWriter()
    gpkg = GeoPackageWriter(tmp_path / "r.gpkg", tiny_bundle.cells, run)
    with pytest.raises(OSError, match="disk full"):
        run_photos([str(photos)], Predictor(tiny_bundle, device="cpu"), [listed, gpkg,
                                                                         Broken()], run)
    assert listed.aborted and not (tmp_path / "r.gpkg").exists()


def test_dead_cycles_from_before_a_run_go_at_its_start_at_least_once_a_minute(
        tiny_bundle, photos, monkeypatch):
    """Before the freeze: a full collection when the last one (before a run) is over a
    minute old, else only the young generations (a full one cost ~75 ms a run)."""
    import gc
    import weakref

    from inference import run as run_module

    class Node:
        pass

    predictor = Predictor(tiny_bundle, device="cpu", batch_size=4)
    info = _run_info(tiny_bundle)

    def alive_during_a_run(last_full_at):
        node = Node()
        node.me = node  # a cycle: only the cyclic collector frees it
        ref = weakref.ref(node)
        gc.collect()  # the node (still in use) is now an old object
        del node
        monkeypatch.setitem(run_module._FROZEN, "full_at", last_full_at)
        seen = []
        run_photos([str(photos)], predictor, [ListWriter()], info,
                   on_chunk=lambda c: seen.append(ref() is not None))
        gc.collect()
        assert ref() is None  # gone after the run either way
        return any(seen)

    if sys.version_info < (3, 14):  # 3.14's incremental collector takes old ones too
        assert alive_during_a_run(time.monotonic())  # a full one just before: skipped
    assert not alive_during_a_run(time.monotonic() - run_module.FULL_COLLECT_EVERY - 1)


class _Node:
    """An object in a reference cycle: only Python's cyclic collector frees it.  Its
    finaliser notes the thread that freed it."""

    def __init__(self, freed_on: list):
        import threading
        import weakref

        self.me = self
        weakref.finalize(self, lambda: freed_on.append(threading.current_thread().name))


def test_old_objects_sit_out_garbage_collection_only_while_a_run_goes(tiny_bundle, photos):
    """Objects older than the run are left out of collections during it (full collections
    would walk them all with the GIL held) and handed back at its end, also when it fails:
    one that dies during the run is freed by the first collection after it."""
    import gc

    class DropsTheNode(ListWriter):
        """Lets go of the old node at its first chunk and collects; fails if asked."""

        def __init__(self, held, fail):
            super().__init__()
            self.held, self.fail, self.freed_during = held, fail, None

        def add(self, *args, **kwargs):
            if self.freed_during is None:
                self.held.clear()  # the last reference goes during the run ...
                gc.collect()  # ... and even a full collection leaves it be
                self.freed_during = list(self.held_freed_on)
            if self.fail:
                raise OSError("disk full")
            super().add(*args, **kwargs)

    predictor = Predictor(tiny_bundle, device="cpu", batch_size=4)
    run = _run_info(tiny_bundle)
    for fail in (False, True):
        freed_on = []
        writer = DropsTheNode({"node": _Node(freed_on)}, fail)  # the node: older than the run
        writer.held_freed_on = freed_on
        if fail:
            with pytest.raises(OSError, match="disk full"):
                run_photos([str(photos)], predictor, [writer], run)
        else:
            run_photos([str(photos)], predictor, [writer], run)
        assert writer.freed_during == [] and freed_on == [], fail
        gc.collect()
        assert freed_on == ["MainThread"], fail  # handed back: the collector frees it


def test_a_run_in_a_worker_thread_frees_nothing_of_other_threads(tiny_bundle, photos,
                                                                 monkeypatch):
    """In QGIS runs go in worker threads (QgsTask).  A collection there would free the
    main thread's dead cycles on the worker, and with them their Qt/QGIS objects off their
    thread (how the QGIS tests crashed in one process): a worker's run collects nothing
    before it starts, even when a full collection is due; its freeze still holds."""
    import gc
    import threading

    from inference import run as run_module

    predictor = Predictor(tiny_bundle, device="cpu", batch_size=4)
    info = _run_info(tiny_bundle)
    freed_on = []
    node = _Node(freed_on)
    gc.collect()  # the node (still in use) is now an old object
    del node  # dead, in a cycle: waits for a collection
    monkeypatch.setitem(run_module._FROZEN, "full_at", -float("inf"))  # a full one is due
    seen, errors = [], []

    def worker():
        try:
            run_photos([str(photos)], predictor, [ListWriter()], info,
                       on_chunk=lambda c: (gc.collect(), seen.append(list(freed_on))))
        except BaseException as exc:  # noqa: BLE001 - reported below, on the test's thread
            errors.append(exc)

    thread = threading.Thread(target=worker, name="run-worker")
    thread.start()
    thread.join(120)
    assert not thread.is_alive() and errors == []
    assert seen and all(s == [] for s in seen)  # not freed at the start nor while frozen
    assert freed_on == []
    gc.collect()
    assert freed_on == ["MainThread"]


# ------------------------------------------- issue 21.6: all the outputs of a run, or none


def _listing(folder):
    return sorted(p.name for p in folder.iterdir())


def test_a_csv_that_cannot_be_renamed_leaves_the_geopackage_as_it_was(tiny_bundle, photos,
                                                                       tmp_path):
    """The CSV's target turns into a folder while the run goes (as a reviewer's ``--csv``
    folder did): the GeoPackage, renamed first, is put back byte for byte, the CSV pair
    stays as it was, and no temporary file or backup is left."""
    run = _run_info(tiny_bundle)
    out, out_csv = tmp_path / "r.gpkg", tmp_path / "r.csv"
    predictor = Predictor(tiny_bundle, device="cpu")
    run_photos([str(photos)], predictor,
               [GeoPackageWriter(out, tiny_bundle.cells, run),
                CsvWriter(out_csv, run, tiny_bundle.cells.num_levels, predictor.top_k)], run)
    before = {p.name: p.read_bytes() for p in (out, out_csv, tmp_path / "r_failures.csv")}
    out_csv.unlink()
    before.pop("r.csv")
    writers = [GeoPackageWriter(out, tiny_bundle.cells, run),
               CsvWriter(out_csv, run, tiny_bundle.cells.num_levels, predictor.top_k)]
    with pytest.raises(IsADirectoryError):
        run_photos([str(photos)], predictor, writers, run,
                   on_chunk=lambda chunk: out_csv.mkdir(exist_ok=True))
    assert {n: (tmp_path / n).read_bytes() for n in before} == before
    assert _listing(tmp_path) == ["in", "r.csv", "r.gpkg", "r_failures.csv"]
    assert out_csv.is_dir() and not list(out_csv.iterdir())


def test_a_commit_without_a_prepare_step_that_fails_puts_the_files_back(tiny_bundle, photos,
                                                                         tmp_path):
    """A writer with no prepare step (a Processing sink) commits after the files are in
    place: when it fails, they go back to what they were."""
    class FailingSink(ListWriter):
        def commit(self, run=None):
            raise RuntimeError("sink refused the features")

    run = _run_info(tiny_bundle)
    out = tmp_path / "r.gpkg"
    out.write_bytes(b"an earlier run")
    sink = FailingSink()
    with pytest.raises(RuntimeError, match="sink refused"):
        run_photos([str(photos)], Predictor(tiny_bundle, device="cpu"),
                   [GeoPackageWriter(out, tiny_bundle.cells, run), sink], run)
    assert out.read_bytes() == b"an earlier run" and sink.aborted
    assert _listing(tmp_path) == ["in", "r.gpkg"]


def test_stop_and_keep_commits_the_photos_done_and_says_so(tiny_bundle, photos, tmp_path):
    """Issue 20 item 9: a long run stopped half way keeps what it finished."""
    from osgeo import ogr

    predictor = Predictor(tiny_bundle, device="cpu", batch_size=2)
    run = _run_info(tiny_bundle)
    listed = ListWriter()
    gpkg = GeoPackageWriter(tmp_path / "r.gpkg", tiny_bundle.cells, run)
    seen = []
    result = run_photos([str(photos)], predictor, [listed, gpkg], run, chunk_size=2,
                        on_record=seen.append, stop_and_keep=lambda: len(seen) >= 3)
    assert not result.cancelled and not listed.aborted
    assert 3 <= result.total < 8  # stopped after the batch in hand, not at the end
    assert result.total == len(seen)
    ds = ogr.Open(str(tmp_path / "r.gpkg"))
    rows = ds.GetLayerByName("predictions").GetFeatureCount()
    info = {f.GetField("key"): f.GetField("value") for f in ds.GetLayerByName("run_info")}
    assert rows == result.predicted
    assert info["stopped_by_user"].startswith(f"{result.total} of 8 photos done")
    # stopped before any photo: nothing to keep, so it is a cancel
    empty = ListWriter()
    result = run_photos([str(photos)], predictor, [empty], run, stop_and_keep=lambda: True)
    assert result.cancelled and empty.aborted and empty.committed is None
