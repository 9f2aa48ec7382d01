"""Where ``predict --out`` writes: one run GeoPackage and any number of exports.

Every ``--out`` is checked before the model loads (seconds, not minutes): the format
comes from the extension, at most one GeoPackage, no file named twice, the folder must
exist.  The exports are made from the finished GeoPackage (``outputs.exports``, the
same code the plugin's "Export run…" uses) while it is still under its temporary name,
and renamed together with it and the CSV (``ExportWriter``, ``run.run_photos``): a run
stopped or failed at any point, an export that cannot be written included, leaves every
previous output as it was (issue 21.7).  Without a ``.gpkg`` among the outputs the run
goes to a scratch GeoPackage beside the first output, removed after the run.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from .cli_common import UserError
from ..outputs.exports import EXPORT_FORMATS, ExportError, ExportWriter, check_export_target
from ..outputs.files import remove_quietly, remove_stale_temporaries, temp_sibling

GPKG = ".gpkg"


@dataclass(frozen=True)
class OutputPlan:
    gpkg: Path  # where the run's GeoPackage goes
    exports: tuple[Path, ...]
    temporary: bool  # `gpkg` is a scratch file, removed after the exports

    def files(self) -> list[str]:
        """The files the user asked for, in their order of mention."""
        return ([] if self.temporary else [str(self.gpkg)]) + [str(p) for p in self.exports]


def plan_outputs(outs) -> OutputPlan:
    """The ``--out`` values as a plan; ``UserError`` (one line) for anything that cannot
    be written."""
    known = ", ".join([GPKG, *sorted(EXPORT_FORMATS)])
    paths = [Path(os.path.abspath(o)) for o in outs]
    seen: set[Path] = set()
    for given, path in zip(outs, paths):
        if path in seen:
            raise UserError(f"--out {given} is given twice")
        seen.add(path)
        ext = path.suffix.lower()
        if ext != GPKG and ext not in EXPORT_FORMATS:
            raise UserError(f"--out {given}: unknown output format "
                            f"{ext or '(no extension)'!r}; use one of {known}")
        if not path.parent.is_dir():
            raise UserError(f"the folder of {given} does not exist ({path.parent}): "
                            "create it first")
        if os.path.isdir(path):  # found now, not by a traceback once the run is done
            raise UserError(f"--out {given} is a folder ({path}): choose a file name")
        if ext != GPKG:
            try:
                check_export_target(path)
            except ExportError as exc:
                raise UserError(str(exc)) from exc
    gpkgs = [p for p in paths if p.suffix.lower() == GPKG]
    if len(gpkgs) > 1:
        raise UserError("at most one --out may be a GeoPackage (.gpkg), got "
                        + ", ".join(str(p) for p in gpkgs))
    exports = tuple(p for p in paths if p.suffix.lower() != GPKG)
    if gpkgs:
        return OutputPlan(gpkgs[0], exports, temporary=False)
    base = paths[0].with_suffix(GPKG)
    remove_stale_temporaries(base, (GPKG, ".vals"))  # scratch files of killed runs
    return OutputPlan(temp_sibling(base, GPKG), exports, temporary=True)


def export_writers(plan: OutputPlan, gpkg_writer, progress_for=None) -> list:
    """A run writer per export of the plan, made from `gpkg_writer`'s finished temporary
    file when the run commits; ``progress_for(path)`` gives each its progress callback."""
    run_path = plan.gpkg if not plan.temporary else plan.exports[0].with_suffix(GPKG)
    return [ExportWriter(path, lambda: gpkg_writer.tmp, run_path,
                         progress_for(path) if progress_for is not None else None)
            for path in plan.exports]


def discard_scratch(plan: OutputPlan) -> None:
    """Remove the scratch GeoPackage (and SQLite's side files), if the plan has one."""
    if plan.temporary:
        remove_quietly(plan.gpkg, *(Path(f"{plan.gpkg}{s}") for s in ("-journal", "-wal",
                                                                     "-shm")))
