"""Write a run to CSV: one row per geolocated photo, failures in a file of their own.

Failures go to ``<stem>_failures.csv`` (photo_path, file_name, reason) rather than into
the main table with a status column: the main table then has one kind of row, so its
numeric columns stay numeric in a spreadsheet or pandas, and "how many photos were
located" is its row count.  The failures file is always written (header only when
nothing failed) so a stale one from an earlier run cannot be mistaken for this run's.

Columns are the ``predictions`` fields of ``schema`` (the same names as the GeoPackage)
followed by the top-k candidates flattened as ``cand<k>_lat``, ``cand<k>_lon``,
``cand<k>_prob`` (k = 1 is the best).  UTF-8 without BOM, "," separated, NULL as "".

Text that a spreadsheet would run as a formula (a photo named ``=HYPERLINK(...).jpg``
is a live link, or worse, once the CSV is opened) is written with a leading ``'``, as
OWASP advises for "CSV injection": any text cell starting with ``= + - @``, a tab or a
carriage return.  Numbers are written as numbers, never altered (a negative longitude
is ``-74.0``, not text).

Both files are written under temporary names and renamed into place when complete; a
failed write leaves the previous files untouched (the pair is replaced together:
``files.Publication``, which undoes the first rename when the second fails).
"""

from __future__ import annotations

import csv
import errno
import numbers
import os
from collections.abc import Sequence
from pathlib import Path

from . import schema
from ..modeling.cells import CellHierarchy
from ..records import PhotoFailure, Prediction
from .files import Staged, remove_quietly, remove_stale_temporaries, \
    temp_sibling
from .schema import RunInfo
from .writer import RunWriter


def failures_path(path) -> Path:
    """``<folder>/<stem>_failures.csv`` beside the main CSV."""
    path = Path(path)
    return path.with_name(f"{path.stem}_failures.csv")


FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")  # OWASP's list for CSV injection


def neutral_text(text: str) -> str:
    """`text` as a spreadsheet shows it instead of running it: a leading ``'`` where it
    starts like a formula (``FORMULA_STARTS``)."""
    return "'" + text if text.startswith(FORMULA_STARTS) else text


def _cell(value) -> str:
    if value is None:
        return ""
    if isinstance(value, float):
        return repr(float(value))  # shortest text that reads back to the same float
    if isinstance(value, numbers.Integral):
        return str(value)  # a number: never prefixed, whatever its sign
    return neutral_text(schema.safe_text(str(value)))


def prediction_columns(num_levels: int, top_k: int) -> list[str]:
    names = [f.name for f in schema.prediction_fields(num_levels)]
    for i in range(1, top_k + 1):
        names += [f"cand{i}_lat", f"cand{i}_lon", f"cand{i}_prob"]
    return names


class CsvWriter(RunWriter):
    """Streams rows into temporary siblings of the two files; ``commit`` renames them.

    The header is fixed up front from the hierarchy depth and top-k, so rows can be
    written as photos finish and memory stays flat.
    """

    def __init__(self, path, run: RunInfo, num_levels: int, top_k: int):
        self.path = Path(os.path.abspath(os.fspath(path)))
        self.fpath = failures_path(self.path)
        self.run = run
        self.header = prediction_columns(num_levels, top_k)
        self.fail_header = [f.name for f in schema.FAILURE_FIELDS]
        self._fh = self._ffh = None
        for target in (self.path, self.fpath):
            if os.path.isdir(target):
                raise IsADirectoryError(errno.EISDIR, "is a folder: choose a file name",
                                        str(target))
            remove_stale_temporaries(target, (".csv",))  # of runs that were killed
        self.tmp, self.ftmp = temp_sibling(self.path, ".csv"), temp_sibling(self.fpath, ".csv")
        try:  # a failure of the second open (or of a header) leaves neither file behind
            self._fh = open(self.tmp, "w", encoding="utf-8", newline="")
            self._ffh = open(self.ftmp, "w", encoding="utf-8", newline="")
            self._w, self._fw = csv.writer(self._fh), csv.writer(self._ffh)
            self._w.writerow(self.header)
            self._fw.writerow(self.fail_header)
        except BaseException:
            self.abort()
            raise

    def add(self, predictions: Sequence[Prediction],
            failures: Sequence[PhotoFailure] = (), *, regions, places=None) -> None:
        """`regions`/`places` as for GeoPackageWriter.add: computed once per chunk."""
        preds = list(predictions)
        rows = schema.prediction_rows(preds, self.path, self.run, regions=regions, places=places)
        for p, row in zip(preds, rows):
            values = dict(row.values)
            for c in p.candidates:
                values.update({f"cand{c.rank}_lat": float(c.lat),
                               f"cand{c.rank}_lon": float(c.lon),
                               f"cand{c.rank}_prob": float(c.probability)})
            self._w.writerow([_cell(values.get(name)) for name in self.header])
        for r in schema.failure_rows(list(failures)):
            self._fw.writerow([_cell(r.values.get(name)) for name in self.fail_header])

    def prepare(self, run=None) -> Staged:
        """Both files complete and closed, not yet renamed (``RunWriter.prepare``)."""
        try:
            self._fh.close()
            self._ffh.close()
        except BaseException:
            self.abort()
            raise
        return Staged(((self.ftmp, self.fpath), (self.tmp, self.path)),
                      (self.path, self.fpath))

    def abort(self) -> None:
        for fh in (self._fh, self._ffh):
            if fh is not None:
                fh.close()
        remove_quietly(self.tmp, self.ftmp)


def write_csv(path, predictions: Sequence[Prediction], failures: Sequence[PhotoFailure],
              cells: CellHierarchy, run: RunInfo) -> tuple[Path, Path]:
    """Write `path` and its failures file; returns both absolute paths.  ``cells``: the
    model's hierarchy, from which the regions are drawn as every run draws them."""
    preds = list(predictions)
    top_k = max((len(p.candidates) for p in preds), default=0)
    with CsvWriter(path, run, cells.num_levels, top_k) as writer:
        writer.add(preds, failures, regions=schema.photo_regions(preds, cells.finest_tokens()))
        return writer.commit()
