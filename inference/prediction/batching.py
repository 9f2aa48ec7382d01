"""How photos are grouped: forward-pass shapes, and chunks of records for the writers."""

from __future__ import annotations

from typing import Iterable, Iterator, List, Sequence, Tuple, Union

from ..records import PhotoFailure, Prediction

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
