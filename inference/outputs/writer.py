"""The shape every output of a run shares (GeoPackage, CSV, a Processing sink, ...).

Kept apart from ``run.py`` so that writers import it without torch.
"""

from __future__ import annotations

from typing import Sequence


class RunWriter:
    """Take chunks, then commit or abort as a whole (see ``run.run_photos``).  As a context
    manager it aborts when the block raises."""

    def __enter__(self):
        return self

    def __exit__(self, exc_type, exc, tb) -> None:
        if exc_type is not None:
            self.abort()

    def add(self, predictions: Sequence, failures: Sequence = (), *, regions,
            places=None) -> None:
        """One chunk; ``regions`` (``schema.photo_regions``: the one way regions are drawn)
        and ``places`` are per prediction, computed once for all writers of the run."""
        raise NotImplementedError

    def prepare(self, run=None):
        """Everything ``commit`` does short of making the output visible: a
        ``files.Staged`` (the renames still to do, and what ``commit`` would return), so
        that a run renames the files of all its writers together (``run.run_photos``).
        None (the default): this writer has no such step, and ``commit`` is called once
        the other writers' files are in place."""
        return None

    def commit(self, run=None):
        """Make the output final (atomically where it is a file); returns where it went.
        A writer with a ``prepare`` step is committed by doing its renames together; one
        that fails leaves nothing (``abort``) and the previous files as they were."""
        from .files import publish_together

        staged = self.prepare(run)
        if staged is None:
            raise NotImplementedError(f"{type(self).__name__} has neither prepare nor commit")
        try:
            publish_together(staged.renames)
        except BaseException:
            self.abort()
            raise
        return staged.result

    def abort(self) -> None:
        """Leave nothing behind: a previous output at the same place stays as it was."""
        raise NotImplementedError
