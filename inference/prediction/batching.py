"""How photos are grouped: the stream of batches through decoding and the model,
forward-pass shapes, and chunks of records for the writers.

Decoding a phone photo costs as much as the network on a small CPU, so a thread pool
decodes the next batches while the model runs the current one in a thread of its own,
and the caller works on the records before (prefetch.py).  At most a few batches are in
flight, which keeps memory flat however many photos there are.  Every predictor (the
GeoDecoder's, GeoCLIP's) streams its photos through ``stream_records``.
"""

from __future__ import annotations

from typing import Callable, Iterable, Iterator, List, Optional, Sequence, Tuple, Union

import torch

from ..records import PhotoFailure, Prediction
from .photos import find_photos
from .prefetch import ahead, prefetch

Result = Union[Prediction, PhotoFailure]
PAD_SIZES = (1, 4)  # a short batch is padded to the smallest of these (or the batch size)


def padded_size(n: int, batch_size: int, sizes: Sequence[int] = PAD_SIZES) -> int:
    """The batch a forward pass of ``n`` photos runs at: the smallest of ``sizes`` that
    holds them, else the full batch size.  oneDNN keeps caches and buffers per input
    shape, and batches shrunk by failed photos made a long run's memory grow by hundreds
    of MB (measured), so a run sees at most three shapes; one photo alone (the dock, the
    first photo of a run) is not padded to 16 and costs one photo's forward pass."""
    for size in sorted(sizes):
        if n <= size < batch_size:
            return size
    return max(n, batch_size)


def in_chunks(records: Iterable[Result], size: int
              ) -> Iterator[Tuple[List[Prediction], List[PhotoFailure]]]:
    """(predictions, failures) of at most `size` records at a time: what writers take, so a
    run of any length holds one chunk in memory."""
    preds: List[Prediction] = []
    fails: List[PhotoFailure] = []
    for record in records:
        (fails if isinstance(record, PhotoFailure) else preds).append(record)
        if len(preds) + len(fails) >= size:
            yield preds, fails
            preds, fails = [], []
    if preds or fails:
        yield preds, fails


DECODE_AHEAD = 2  # batches decoded or decoding ahead of the model
MODEL_AHEAD = 1  # batches of records the model may have ready ahead of the caller


def stream_records(inputs: Iterable[str], batch_size: int, decode: Callable,
                   predict_decoded: Callable, decode_workers: int,
                   progress: Optional[Callable[[int, int], None]] = None,
                   should_stop: Optional[Callable[[], bool]] = None) -> Iterator[Result]:
    """One record per input file until done or ``should_stop()``: first the inputs that
    do not exist (as failures), then the photos in the order find_photos gives.
    ``decode(path)`` runs in ``decode_workers`` threads ahead of the model;
    ``predict_decoded(decoded_batch)`` in a thread of its own, one batch ahead."""
    paths, missing = find_photos(inputs)
    total, done = len(paths) + len(missing), 0
    for path, reason in missing:
        done += 1
        yield PhotoFailure(str(path), reason)
    batches = [paths[i:i + batch_size] for i in range(0, len(paths), batch_size)]
    # while the caller dissolves regions and writes rows, the next photos are on their way
    decoded = prefetch(batches, decode, decode_workers, depth=DECODE_AHEAD)
    results = ahead(decoded, predict_decoded, depth=MODEL_AHEAD, name="model")
    try:
        for records in results:
            if should_stop and should_stop():
                return
            for record in records:
                done += 1
                yield record
            if progress:
                progress(done, total)
    finally:
        results.close()


def predict_batch(decoded: Sequence, batch_size: int, pad_sizes: Sequence[int],
                  device: torch.device, predict_tensors: Callable) -> List[Result]:
    """A decoded batch (each a (tensor, PhotoInfo) or a PhotoFailure) through
    ``predict_tensors(images, infos)``, padded to ``padded_size`` so a run sees few
    shapes; failures stay in their places."""
    ok = [(i, d) for i, d in enumerate(decoded) if not isinstance(d, PhotoFailure)]
    results: List[Optional[Result]] = [d if isinstance(d, PhotoFailure) else None
                                       for d in decoded]
    if ok:
        size = padded_size(len(ok), batch_size, pad_sizes)
        images = torch.zeros((size,) + ok[0][1][0].shape, pin_memory=device.type == "cuda")
        torch.stack([d[0] for _, d in ok], out=images[:len(ok)])
        preds = predict_tensors(images.to(device, non_blocking=True), [d[1] for _, d in ok])
        for (i, _), pred in zip(ok, preds):
            results[i] = pred
    return results  # type: ignore[return-value]
