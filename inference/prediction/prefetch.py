"""Stages of a run that overlap: photos decode while the model works on earlier ones.

On a small CPU a phone photo costs as much to decode as the network costs to look at it,
and after the network the run still dissolves regions and writes rows.  Done one after
the other, each waits for the others; here they overlap:

* ``prefetch`` decodes the batches ahead in worker threads (Pillow and libjpeg release
  the GIL), at most ``depth`` batches in flight, so memory stays flat however many
  photos there are;
* ``ahead`` runs a stage (the model) in its own thread, at most ``depth`` results ahead
  of whoever consumes them (the run's regions and writers), in order.

Both stop at once when the consumer stops or closes the generator; nothing is left
running after it.
"""

from __future__ import annotations

import queue
import threading
from collections import deque
from collections.abc import Callable, Iterable, Iterator, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from typing import TypeVar

T = TypeVar("T")
R = TypeVar("R")

_DONE = object()


def prefetch(batches: Sequence[Sequence[str]], decode: Callable[[str], T], workers: int = 2,
             depth: int = 2) -> Iterator[list[T]]:
    """Each batch decoded (``decode`` per item, in order), at most ``depth`` batches
    decoded or decoding ahead of the one handed out."""
    depth = max(1, int(depth))
    with ThreadPoolExecutor(max(1, int(workers)), thread_name_prefix="decode") as pool:
        pending: deque[list[Future]] = deque()
        nxt = 0
        try:
            while nxt < len(batches) and len(pending) < depth:
                pending.append([pool.submit(decode, item) for item in batches[nxt]])
                nxt += 1
            while pending:
                futures = pending.popleft()
                if nxt < len(batches):
                    pending.append([pool.submit(decode, item) for item in batches[nxt]])
                    nxt += 1
                yield [f.result() for f in futures]
        finally:
            for futures in pending:
                for f in futures:
                    f.cancel()


def ahead(items: Iterable[T], work: Callable[[T], R], depth: int = 2,
          name: str = "stage") -> Iterator[R]:
    """``work(item)`` for each item in a thread of its own, up to ``depth`` results
    ahead of the consumer, in order.  An exception in the stage is raised here."""
    out: queue.Queue = queue.Queue(max(1, int(depth)))
    stop = threading.Event()

    def put(value) -> bool:
        while not stop.is_set():
            try:
                out.put(value, timeout=0.1)
                return True
            except queue.Full:
                continue
        return False

    def run() -> None:
        source = iter(items)
        try:
            for item in source:
                if stop.is_set() or not put((True, work(item))):
                    return
        except BaseException as exc:  # noqa: BLE001 - handed to the consumer
            put((False, exc))
            return
        finally:
            close = getattr(source, "close", None)
            if close is not None:
                close()
        put(_DONE)

    thread = threading.Thread(target=run, name=name, daemon=True)
    thread.start()
    try:
        while True:
            got = out.get()
            if got is _DONE:
                return
            ok, value = got
            if not ok:
                raise value
            yield value
    finally:
        stop.set()
        thread.join()
