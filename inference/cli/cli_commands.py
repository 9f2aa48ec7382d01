"""The work behind each command-line verb (argument parsing lives in __main__)."""

from __future__ import annotations

import contextlib
import errno
import os
import sys
from datetime import datetime, timezone
from pathlib import Path

from . import geoclip_cli
from .cli_common import UserError, key_values, retrieval_choice
from .cli_constraints import constraints_from_args
from .cli_track import build_placer, track_options
from ..modeling.defaults import NO_DEFAULT_MODEL, default_bundle_path


def _bundle_path(arg):
    if arg:
        return arg
    path = default_bundle_path()
    if path is None:
        raise UserError(NO_DEFAULT_MODEL)
    return str(path)


def _load(arg):
    """The bundle on the CPU; the Predictor moves it to the device it resolves."""
    from ..modeling.bundle import ModelBundleError, load_bundle
    try:
        return load_bundle(_bundle_path(arg))
    except ModelBundleError as exc:
        raise UserError(str(exc)) from exc


def _warn_untrained(bundle) -> None:
    if bundle.info.untrained:
        print("WARNING: " + "!" * 60 + "\nWARNING: model bundle "
              f"'{bundle.info.name}' is UNTRAINED: its decoder has random weights and its "
              "locations are meaningless.\nWARNING: use it only to check an install; train "
              "a model with 'python -m inference train'.\nWARNING: " + "!" * 60,
              file=sys.stderr)


def cmd_predict(args) -> int:
    from ..prediction.predict import Predictor
    from ..outputs.schema import RunInfo
    from .predict_outputs import discard_scratch

    plan = _check_predict_args(args)
    constraints = constraints_from_args(args)
    options = track_options(args)
    extra: tuple = ()
    geoclip = geoclip_cli.geoclip_folder(args.model)
    if geoclip is not None:  # GeoCLIP: the same run path, its own predictor
        bundle = geoclip_cli.load(geoclip)
        predictor = geoclip_cli.predictor(bundle, args, constraints)
        extra = geoclip_cli.warn_uncalibrated(bundle)
    else:
        bundle = _load(args.model)
        _warn_untrained(bundle)
        try:  # a ConstraintError (a ValueError) that leaves nothing comes from here
            predictor = Predictor(bundle, device=args.device, batch_size=args.batch_size,
                                  top_k=args.top_k, retrieval=retrieval_choice(args),
                                  constraints=constraints,
                                  fast_backbone=not getattr(args, "exact_backbone", False))
        except (RuntimeError, ValueError) as exc:
            raise UserError(str(exc)) from exc
    print(f"model: {bundle.label} from {bundle.path}; device: {predictor.device_used}",
          file=sys.stderr)
    for line in constraints.describe():
        print(f"constraint: {line}", file=sys.stderr)
    placer = build_placer(options, args.paths)
    run = RunInfo.for_bundle(bundle, predictor.device_used,
                             datetime.now(timezone.utc).isoformat(timespec="seconds"),
                             constraints=constraints,
                             extra=extra + (tuple(placer.facts()) if placer is not None else ()))
    try:
        return _predict_to(plan, args, predictor, bundle, run, placer)
    finally:
        discard_scratch(plan)


def _predict_to(plan, args, predictor, bundle, run, placer=None) -> int:
    """Run the photos into the plan's GeoPackage (and CSV, XMP sidecars) and its
    exports, all published together when the run is done (or none)."""

    from ..outputs.csv_out import CsvWriter
    from ..outputs.gpkg import GeoPackageWriter
    from ..outputs.styles import applicable_styles
    from ..outputs.xmp import XmpSidecarWriter
    from .predict_outputs import export_writers

    makers = [(plan.gpkg, lambda: GeoPackageWriter(
        plan.gpkg, bundle.cells, run, styles=applicable_styles(bundle.cells.num_levels)))]
    if args.csv:
        makers.append((Path(args.csv), lambda: CsvWriter(
            args.csv, run, bundle.cells.num_levels, predictor.top_k)))
    if getattr(args, "xmp_sidecars", None):
        makers.append((Path(args.xmp_sidecars), lambda: XmpSidecarWriter(args.xmp_sidecars)))
    writers = []
    try:  # whatever stops the run before run_photos owns the writers (SIGTERM) aborts them
        for target, make in makers:
            try:
                writers.append(make())
            except (OSError, RuntimeError) as exc:  # GeoPackageError is a RuntimeError
                raise UserError(write_problem(target, exc)) from exc  # the file that failed
        exporters = export_writers(plan, writers[0], lambda p: _export_progress(p, args))
        result = _run(args, predictor, writers + exporters, run,
                      [t for t, _ in makers] + list(plan.exports), placer)
    except BaseException:
        for w in writers:
            w.abort()
        raise
    for f in result.failures:
        print(f"FAILED {f.path}: {f.reason}")
    written = plan.files() + ([args.csv] if args.csv else [])
    seconds = result.run.seconds
    rate = result.predicted / seconds if seconds > 0 else 0.0
    print(f"done: {result.predicted} photos geolocated, {len(result.failures)} failed, of "
          f"{result.total}, in {seconds:.1f} s ({rate:.1f} photos/s) -> "
          + ", ".join(written))
    return 0 if result.predicted else 1


def _export_progress(path, args):
    """A progress bar per export (written once the photos are done, before the files
    are renamed together): features written of all."""
    from tqdm import tqdm

    state = {}

    def progress(done, total):
        if args.quiet:
            return
        bar = state.get("bar")
        if bar is None:
            bar = state["bar"] = tqdm(total=total, unit="feature", file=sys.stderr,
                                      desc=f"export {Path(path).name}")
        bar.n = done
        bar.refresh()
        if done >= total:
            bar.close()

    return progress


def _run(args, predictor, writers, run, targets, placer=None):
    """``run_photos`` with a progress bar and a line per photo; write errors as one line
    that names the file (``write_problem``)."""
    from tqdm import tqdm

    from ..outputs.exports import ExportError
    from ..run import NothingToDo, run_photos

    bar = tqdm(total=0, unit="photo", disable=args.quiet, file=sys.stderr)

    def progress(done, total):
        bar.total = total
        bar.n = done
        bar.refresh()

    def show(chunk):
        for p, place, regs in zip(chunk.predictions, chunk.places, chunk.regions):
            bar.write(photo_line(p, place, regs), file=sys.stdout)

    try:
        with quiet_gdal():  # GDAL's own error lines (52 of them for a full disk) go
            result = run_photos(args.paths, predictor, writers, run, progress=progress,
                                on_chunk=show, placer=placer)
    except NothingToDo as exc:
        raise UserError(f"{', '.join(args.paths)}: {exc}") from exc
    except ExportError as exc:  # every output left as it was: the run is not published
        raise UserError(f"{exc}; nothing was replaced: every earlier output is as it "
                        "was") from exc
    except (OSError, RuntimeError) as exc:  # a full disk, a file in the way...
        raise UserError(write_problem(_failed_target(exc, targets), exc)) from exc
    finally:
        bar.close()
    return result


_FULL = (errno.ENOSPC, errno.EDQUOT, errno.EFBIG)
_FULL_TEXT = ("disk is full", "no space left", "quota exceeded", "file too large")


def write_problem(target, exc: BaseException) -> str:
    """One line that says what stopped `target` from being written: a full disk as
    such (SQLite's "database or disk is full" buried in an OGR message, ENOSPC...) with
    the folder that has no room, else the file and the error."""
    text = " ".join(str(exc).split())
    target = Path(os.path.abspath(os.fspath(target)))
    if getattr(exc, "errno", None) in _FULL or any(t in text.lower() for t in _FULL_TEXT):
        return (f"the disk is full: cannot write {target} (no room left in "
                f"{target.parent}); free some space or choose another folder")
    if isinstance(exc, OSError) and exc.strerror:
        where = exc.filename2 or exc.filename
        return f"cannot write {target}: {exc.strerror}" + (
            f" ({where})" if where and Path(os.fspath(where)) != target else "")
    return f"cannot write {target}: {text or type(exc).__name__}"


def _failed_target(exc: BaseException, targets) -> Path:
    """Which output `exc` is about: the one whose name (or temporary sibling's) the
    error names, else the first (the GeoPackage: OGR's errors name no file)."""
    named = [os.fspath(n) for n in (getattr(exc, "filename", None),
                                    getattr(exc, "filename2", None)) if n]
    text = " ".join(named) or str(exc)
    for target in targets:
        target = Path(os.path.abspath(os.fspath(target)))
        stems = (target.stem, f"{target.stem}_failures")
        if any(os.path.join(str(target.parent), f"{stem}.") in text for stem in stems):
            return target
    return Path(targets[0])


@contextlib.contextmanager
def quiet_gdal():
    """GDAL's error lines kept off stderr for the length of the block: the writers
    raise with GDAL's last message, and the command prints one line for it."""
    try:
        from osgeo import gdal
    except ImportError:
        yield
        return
    gdal.PushErrorHandler("CPLQuietErrorHandler")
    try:
        yield
    finally:
        gdal.PopErrorHandler()


def _check_predict_args(args):
    """Refuse what cannot give a useful run before the model loads (seconds); returns
    the ``OutputPlan`` of the ``--out`` files."""
    from .predict_outputs import plan_outputs

    if args.top_k < 1:
        raise UserError(f"--top-k must be at least 1, got {args.top_k}")
    if args.batch_size < 1:
        raise UserError(f"--batch-size must be at least 1, got {args.batch_size}")
    plan = plan_outputs(args.out)
    if args.csv:
        from ..outputs.csv_out import failures_path

        target = Path(os.path.abspath(args.csv))
        if not target.parent.is_dir():
            raise UserError(f"the folder of {args.csv} does not exist ({target.parent}): "
                            "create it first")
        for path in (target, failures_path(target)):  # every target before any work
            if os.path.isdir(path):
                raise UserError(f"--csv {args.csv}: {path} is a folder: choose a file name")
        if target == plan.gpkg or target in plan.exports:
            raise UserError(f"--csv {args.csv} is also an --out file: choose another name")
    return plan


def photo_line(p, place, regions) -> str:
    """One line per photo for people: where, how sure, how big the honest claim is, and
    how far off it is when the photo's own EXIF knows the answer."""
    from ..outputs.precision import area_text

    widest = max(regions, key=lambda r: r.mass) if regions else None
    region = (f"; {100 * widest.mass:.0f} % region {area_text(widest.area_km2)}"
              if widest is not None else "")
    err = (f"; EXIF GPS {p.error_km:,.0f} km away" if p.error_km is not None
           else "; no EXIF GPS")
    constrained = ""
    if p.mass_removed is not None:
        top = p.unconstrained_top
        constrained = (f"; constraints removed {100 * p.mass_removed:.1f} % of the "
                       f"probability (unconstrained best: {top.lat:.4f}, {top.lon:.4f}, "
                       f"{100 * top.probability:.1f} %)")
    how = p.placement
    if how is not None and how.method != "model":
        where = ("its EXIF GPS" if how.method == "exif" else
                 f"track {how.source}, {how.gap_s:.0f} s gap, radius {how.radius_m:,.0f} m")
        return (f"{Path(p.path).name}: {place.label} ({p.lat:.4f}, {p.lon:.4f}) placed by "
                f"{where}; the model's answer is {how.model_distance_km:,.1f} km away")
    note = f"; {how.note}" if how is not None and how.note else ""
    return (f"{Path(p.path).name}: {answer_words(p, place, regions)}, "
            f"{100 * p.confidence:.1f} % in its cell, scene {p.scene_name}{region}{err}"
            f"{constrained}{note}")


def answer_words(p, place, regions) -> str:
    """The model's answer at the precision it has (outputs/precision.py, the dock's and
    the case report's rules): a point it can trust with its place and the decimals its
    region supports; else the region first (the continents and countries its 50 % region
    covers, its area), then a rough point."""
    from ..outputs.precision import (SHOWN_COUNTRIES, TRUSTED_KM2, area_text,
                                     coordinate_digits, rounded_latlon)

    r50 = min(regions, key=lambda r: r.mass) if regions else None
    area = r50.area_km2 if r50 is not None else None
    places = p.region50_places
    continents = [c for c, _ in places.continents] if places is not None else []
    digits = 0 if len(continents) > 1 else coordinate_digits(area)
    if area is not None and area <= TRUSTED_KM2 and len(continents) <= 1:
        return f"{place.label} ({p.lat:.{digits}f}, {p.lon:.{digits}f})"
    countries = [c for c, _ in places.countries] if places is not None else []
    shown = ", ".join(countries[:SHOWN_COUNTRIES]) + (
        f" and {len(countries) - SHOWN_COUNTRIES} more" if len(countries) > SHOWN_COUNTRIES
        else "")
    where = " or ".join(continents) or "no known country"
    return (f"somewhere in {where} (uncertain; 50 % region {area_text(area)}"
            + (f": {shown}" if shown else "") + f"), rough point "
            f"{rounded_latlon(p.lat, p.lon, digits)}")


def cmd_cells_build(args) -> int:
    from ..modeling.cells import CellsError, build_hierarchy, read_coordinates_csv

    try:
        lats, lons = read_coordinates_csv(args.coords)
        hierarchy = build_hierarchy(lats, lons, args.t_min, args.t_max)
    except (CellsError, OSError) as exc:
        raise UserError(str(exc)) from exc
    hierarchy.save(args.out)
    print(f"{hierarchy.num_images} photos, t_min={hierarchy.t_min}")
    for h, level in enumerate(hierarchy.levels):
        print(f"level {h}: t_max={level.t_max:>7}  {len(level.cells):>6} cells")
    for note in hierarchy.notes:
        print(f"note: {note}")
    print(f"wrote {args.out}")
    return 0


def cmd_bundle_init(args) -> int:
    from ..modeling.backbones import BackboneError
    from ..modeling.bundle import ModelBundleError, init_bundle
    from ..modeling.cells import CellHierarchy, CellsError

    try:
        cells = CellHierarchy.load(args.cells)
        out = init_bundle(cells, args.out, name=args.name, backbone=args.backbone,
                          backbone_options=key_values(args.backbone_option), width=args.width,
                          scenes=args.scenes, hid_layers=args.hid_layers,
                          hdd_layers=args.hdd_layers)
    except (CellsError, BackboneError, ModelBundleError) as exc:
        raise UserError(str(exc)) from exc
    print(f"wrote untrained bundle {out} ({cells.num_levels} levels, {cells.sizes} cells)")
    return 0


def cmd_bundle_seal(args) -> int:
    from ..modeling.bundle import ModelBundleError, seal_bundle

    try:
        old, new, changed = seal_bundle(args.folder)
    except ModelBundleError as exc:
        raise UserError(str(exc)) from exc
    if old == new:
        print(f"{args.folder} was sealed already; digest {new}")
        return 0
    print(f"sealed {args.folder}: digest {new}" + (f" (was {old})" if old else ""))
    for name in changed:
        print(f"checksum recorded anew: {name}")
    return 0


def cmd_evaluate(args) -> int:
    from ..training.evaluate import evaluate_csv, format_report

    geoclip = geoclip_cli.geoclip_folder(args.model)
    bundle = geoclip_cli.load(geoclip) if geoclip is not None else _load(args.model)
    _warn_untrained(bundle)
    try:
        report = evaluate_csv(bundle, args.csv, args.images_root, device=args.device,
                              batch_size=args.batch_size,
                              train_csv=args.train_csv, train_images_root=args.train_images_root,
                              ten_crop=args.ten_crop, knn_k=args.knn_k,
                              retrieval=retrieval_choice(args))
    except (OSError, ValueError) as exc:
        raise UserError(str(exc)) from exc
    print(format_report(report))
    if args.json:
        import json
        Path(args.json).write_text(json.dumps(report, indent=2) + "\n", encoding="utf-8")
    return 0
