"""One run: photos in, records streamed to any set of writers, all or nothing.

The command line, the dock's task and the Processing algorithm are thin callers of
``run_photos``: it owns the chunking (memory stays flat however many photos), computes the
costly per-chunk parts once for every writer (credible-region unions, place names),
reports progress and honours cancel, keeps the failures list and the run facts, and
commits every writer only when the whole run went through (a cancelled or failed run
aborts them all, so no half-written output replaces a good one).  The commit is in two
phases: every writer prepares (its temporary file finished and checked), then all the
files are renamed together, and a rename that fails undoes the ones before it
(``outputs.files.Publication``): the outputs of a run are replaced all, or none.

A new output format is one ``RunWriter`` subclass, nothing else.
"""

from __future__ import annotations

import contextlib
import dataclasses
import gc
import logging
import math
import threading
import time
from dataclasses import dataclass, field
from typing import Callable, Iterable, List, Optional, Sequence

from .prediction.batching import in_chunks

from .prediction.predict import Predictor
from .records import PhotoFailure, Prediction
from .outputs.writer import RunWriter

log = logging.getLogger(__name__)
CHUNK = 16  # photos per write: memory stays flat however long the run


@dataclass
class Chunk:
    predictions: List[Prediction]
    failures: List[PhotoFailure]
    regions: list  # per prediction, schema.photo_regions
    places: list  # per prediction, places.place_names


@dataclass
class RunResult:
    run: object  # schema.RunInfo with the final seconds
    predicted: int = 0
    failures: List[PhotoFailure] = field(default_factory=list)
    outputs: list = field(default_factory=list)  # what each writer's commit returned
    cancelled: bool = False

    @property
    def total(self) -> int:
        return self.predicted + len(self.failures)


class NothingToDo(ValueError):
    """The inputs held no photo at all: nothing was written."""


def run_photos(photos: Iterable[str], predictor: Predictor, writers: Sequence[RunWriter],
               run, *, progress: Optional[Callable[[int, int], None]] = None,
               should_stop: Optional[Callable[[], bool]] = None,
               on_record: Optional[Callable[[object], None]] = None,
               on_chunk: Optional[Callable[[Chunk], None]] = None,
               chunk_size: Optional[int] = None, placer=None,
               stop_and_keep: Optional[Callable[[], bool]] = None) -> RunResult:
    """Geolocate ``photos`` (files or folders) into ``writers``.

    ``placer`` (``prediction.placing.Placer``, built on the same ``photos``) places each
    prediction by its EXIF GPS or its time on a track before anything sees it, so the
    place names, the writers and ``on_record`` all get the placed point; the cells and
    credible regions stay the model's.

    ``stop_and_keep()`` turning true stops the run like a cancel but commits the photos
    done so far (the run records ``stopped_by_user``: how many of how many), so a long
    run stopped half way keeps its finished photos; with nothing done yet it is a cancel.

    ``run`` is the RunInfo written with the outputs (its ``seconds`` is filled in at the
    end).  ``on_record`` sees every record as it arrives, ``on_chunk`` every chunk once
    all writers have it.  Returns with ``cancelled`` True (and every writer aborted) when
    ``should_stop()`` turned true before the commit; raises NothingToDo (writers aborted)
    when there was no photo at all; any other error aborts the writers and propagates.
    """
    from .outputs.gpkg import WriteCancelled
    from .outputs.places import place_names
    from .outputs.schema import photo_regions

    result = RunResult(run)
    t0 = time.perf_counter()
    finest = predictor.bundle.cells.finest_tokens()
    seen = {"total": 0}

    def counted(done: int, total: int) -> None:
        seen["total"] = total
        if progress is not None:
            progress(done, total)

    def stop() -> bool:
        return bool((should_stop is not None and should_stop())
                    or (stop_and_keep is not None and stop_and_keep()))

    def records():
        for record in predictor.run(photos, progress=counted, should_stop=stop):
            if placer is not None and isinstance(record, Prediction):
                record = placer.place(record)
            if on_record is not None:
                on_record(record)
            yield record

    try:
        with _old_objects_frozen():
            for preds, fails in in_chunks(records(), max(1, int(chunk_size or CHUNK))):
                chunk = Chunk(preds, fails, photo_regions(preds, finest),
                              place_names([(p.lat, p.lon) for p in preds]) if preds else [])
                for w in writers:
                    w.add(chunk.predictions, chunk.failures, regions=chunk.regions,
                          places=chunk.places)
                result.predicted += len(preds)
                result.failures.extend(fails)
                if on_chunk is not None:
                    on_chunk(chunk)
                del chunk, preds, fails  # on disk: let it go before the next one
        kept = stop_and_keep is not None and stop_and_keep()
        if (should_stop is not None and should_stop()) or (kept and result.total == 0):
            result.cancelled = True
        elif result.total == 0:
            raise NothingToDo("no photos found (looked for JPEG, PNG, HEIC, TIFF, WebP, BMP "
                              "and GIF files): nothing written")
        else:
            result.run = dataclasses.replace(run, seconds=time.perf_counter() - t0)
            if kept:  # the file says it is not the whole run
                result.run = dataclasses.replace(result.run, extra=tuple(run.extra) + (
                    ("stopped_by_user", f"{result.total} of {seen['total'] or '?'} photos "
                     "done when the run was stopped; the rest were not geolocated"),))
            result.outputs = _commit_together(writers, result.run)
            return result
    except WriteCancelled:
        result.cancelled = True
    except BaseException:
        _abort(writers)
        raise
    _abort(writers)
    return result


_FROZEN = {"runs": 0, "full_at": -math.inf}
FULL_COLLECT_EVERY = 60.0  # seconds
_FROZEN_LOCK = threading.Lock()


@contextlib.contextmanager
def _old_objects_frozen():
    """The objects that exist when a run starts (torch, numpy, QGIS, the model: ~200,000)
    are left out of Python's cyclic garbage collection until it ends.  A run makes many
    short-lived objects, and each full collection walked all the old ones with the GIL
    held, stopping every thread for ~0.1 s, three times per 128 photos (measured: 0.34
    CPU seconds of such a run; docs/SPEED.md).  Garbage is collected before the freeze,
    so that dead cycles are not kept for the run's length: fully (~75 ms here) when the
    last full collection before a run is more than FULL_COLLECT_EVERY seconds old, else
    the young generations only, so the dock's one-photo runs in a row do not each pay
    for it and old garbage still goes within that time.  ``gc.unfreeze`` at the end hands
    everything back.  Runs that overlap (the dock and Processing) share one freeze: the
    first in makes it, the last out ends it.

    The collection before the freeze happens only on the main thread (the command line,
    or Processing run from the Python console).  In QGIS a run goes in a worker thread
    (the dock's QgsTask, Processing's algorithm task), and a collection there frees the
    main thread's dead cycles on that thread: sip deletes their Qt/QGIS objects (layers,
    timers, with Python slots on their signals) off the thread they live on, and the
    main thread segfaults later, in its event loop (measured; docs/KNOWN_ISSUES.md,
    "One QGIS process").  A worker run freezes only:
    ``gc.freeze`` frees nothing, and the old garbage goes at a later collection."""
    on_main_thread = threading.current_thread() is threading.main_thread()
    with _FROZEN_LOCK:
        if _FROZEN["runs"] == 0:
            now = time.monotonic()
            if not on_main_thread:  # never free other threads' objects here (see above)
                pass
            elif now - _FROZEN["full_at"] > FULL_COLLECT_EVERY:
                gc.collect()
                _FROZEN["full_at"] = now
            else:
                gc.collect(1)
            gc.freeze()
        _FROZEN["runs"] += 1
    try:
        yield
    finally:
        with _FROZEN_LOCK:
            _FROZEN["runs"] -= 1
            if _FROZEN["runs"] == 0:
                gc.unfreeze()


def _commit_together(writers: Sequence[RunWriter], run) -> list:
    """Every writer's output made final, or none: prepare all, rename all the prepared
    files together, then commit the writers without a prepare step (a Processing sink);
    when anything fails, the files already renamed are put back as they were."""
    from .outputs.files import Publication

    staged = [w.prepare(run) for w in writers]
    publication = Publication([r for s in staged if s is not None for r in s.renames])
    publication.publish()
    try:
        outputs = [s.result if s is not None else w.commit(run)
                   for w, s in zip(writers, staged)]
    except BaseException:
        publication.rollback()
        raise
    publication.finish()
    return outputs


def _abort(writers: Sequence[RunWriter]) -> None:
    for w in writers:
        try:
            w.abort()
        except Exception:  # noqa: BLE001 - one writer's cleanup must not skip the others
            log.warning("could not clean up after %s", type(w).__name__, exc_info=True)
