"""Command line: python -m inference {predict,cells,bundle,evaluate,train,models} ...

Every sub-command documents itself with --help.  The heavy imports (torch) happen inside
the commands, so --help is instant.
"""

from __future__ import annotations

import argparse
import contextlib
import signal
import sys
import threading

from .cli import cli_commands, models_cli, train_cli
from .cli.cli_constraints import add_constraint_arguments
from .cli.cli_text_clue import add_text_clue_command
from .cli.cli_track import add_track_arguments
from .cli.cli_common import (UserError, add_backbone_arguments, add_device_argument,
                         add_retrieval_argument)


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="python -m inference",
        description="GeoDecoder: estimate where photos were taken, offline.")
    sub = p.add_subparsers(dest="command", required=True)

    pr = sub.add_parser("predict", help="geolocate photos and write a GeoPackage (+ KML, "
                        "GeoJSON, CSV)",
                        description="Geolocate photos (files or folders, searched recursively). "
                        "Writes a GeoPackage with the predictions, top-k candidates, the cells "
                        "of every hierarchy level, credible regions and a failures table, and "
                        "exports for colleagues without QGIS (.kml/.kmz for Google Earth, "
                        ".geojson); every file is written to a temporary name and renamed at "
                        "the end, so a failed run never replaces a good file.")
    pr.add_argument("paths", nargs="+", help="photo files or folders")
    pr.add_argument("--model", default=None,
                    help="model bundle folder (default: the bundled default model), or "
                         "'geoclip' (the GeoCLIP store under $GEODECODER_MODELS_DIR) or a "
                         "GeoCLIP store folder")
    pr.add_argument("--out", required=True, action="append", metavar="FILE",
                    help="output file, repeatable; the extension picks the format: .gpkg "
                    "(GeoPackage, every layer), .kml or .kmz (Google Earth), .geojson (RFC "
                    "7946); the exports hold the predictions, candidates and credible "
                    "regions. At most one .gpkg, e.g. --out run.gpkg --out run.kml")
    pr.add_argument("--csv", default=None, help="also write a CSV (failures go to *_failures.csv)")
    pr.add_argument("--top-k", type=int, default=5, help="candidates per photo (default 5)")
    add_device_argument(pr)
    pr.add_argument("--batch-size", type=int, default=16, help="photos per batch (default 16)")
    pr.add_argument("--quiet", action="store_true", help="no progress bar")
    pr.add_argument("--exact-backbone", action="store_true",
                    help="run the backbone exactly as trained (BatchNorm unfolded, "
                    "channels-first): ~40%% more CPU; records then match runs made before "
                    "the fast backbone to the last digit (the fast one moves them in their "
                    "last digits only)")
    add_retrieval_argument(pr)
    add_constraint_arguments(pr)
    add_track_arguments(pr)
    pr.set_defaults(func=cli_commands.cmd_predict)

    cells = sub.add_parser("cells", help="geocell hierarchies").add_subparsers(
        dest="cells_command", required=True)
    cb = cells.add_parser("build", help="build S2 cell partitions from coordinates",
                          description="Adaptive S2 partitions (ISNs/GeoEstimation): start at S2 "
                          "level 2, drop cells with <= t_min photos, split cells with > t_max "
                          "photos; one level per t_max, coarse to fine.")
    cb.add_argument("coords", help="CSV with LAT and LON columns (an MP-16 CSV works as it is)")
    cb.add_argument("--out", required=True, help="cells file to write (.json)")
    cb.add_argument("--t-min", type=int, default=None,
                    help="minimum photos per cell (default: scaled to the number of photos)")
    cb.add_argument("--t-max", type=int, nargs="+", default=None,
                    help="maximum photos per cell, one value per level, e.g. 5000 2000 1000 "
                    "(default: a ladder scaled to the number of photos)")
    cb.set_defaults(func=cli_commands.cmd_cells_build)

    bundle = sub.add_parser("bundle", help="model bundles").add_subparsers(
        dest="bundle_command", required=True)
    bi = bundle.add_parser("init", help="an untrained bundle: pretrained backbone, fresh decoder",
                           description="Create an untrained bundle (ImageNet backbone, random "
                           "decoder and heads): the starting point of training and a way to "
                           "check an install end to end. Its predictions mean nothing.")
    bi.add_argument("--cells", required=True, help="cells file from 'cells build'")
    bi.add_argument("--out", required=True, help="bundle folder to create")
    add_backbone_arguments(bi)
    bi.add_argument("--name", default="untrained", help="model name stored in the bundle")
    bi.add_argument("--width", type=int, default=256, help="decoder width")
    bi.add_argument("--scenes", type=int, default=16, help="number of scenes S")
    bi.add_argument("--hid-layers", type=int, default=4, help="hierarchy-independent layers N")
    bi.add_argument("--hdd-layers", type=int, default=2, help="hierarchy-dependent layers E")
    bi.set_defaults(func=cli_commands.cmd_bundle_init)
    bs = bundle.add_parser("seal", help="vouch for a bundle folder as it is now (checksums "
                           "and digest)",
                           description="Write the SHA-256 of every data file and the digest "
                           "into the bundle's config.json, so it loads again after a change "
                           "made on purpose (an edited temperature) or when it was made before "
                           "digests existed. Only config.json changes. Anyone can seal: it "
                           "says the folder is as you want it, not who made it. Prints the "
                           "new digest, which every run of the bundle records.")
    bs.add_argument("folder", help="bundle folder")
    bs.set_defaults(func=cli_commands.cmd_bundle_seal)

    ev = sub.add_parser("evaluate", help="accuracy at 1/25/200/750/2500 km on labelled photos",
                        description="Evaluate a bundle on a CSV in the MP-16/Im2GPS format "
                        "(IMG_ID,LAT,LON; IMG_ID is a path relative to --images-root). "
                        "Unreadable photos are counted as failures, never dropped.")
    ev.add_argument("--csv", required=True, help="labels CSV")
    ev.add_argument("--images-root", required=True, help="folder the IMG_ID paths start from")
    ev.add_argument("--model", default=None,
                    help="model bundle folder, 'geoclip' or a GeoCLIP store folder")
    add_device_argument(ev)
    ev.add_argument("--batch-size", type=int, default=16)
    ev.add_argument("--json", default=None, help="also write the results as JSON")
    ev.add_argument("--train-csv", default=None,
                    help="training photos (IMG_ID,LAT,LON): adds the kNN baseline on the "
                    "model's own backbone features and the density prior of those places")
    ev.add_argument("--train-images-root", default=None,
                    help="folder the --train-csv IMG_IDs start from (default: --images-root)")
    ev.add_argument("--knn-k", type=int, default=10,
                    help="neighbours of the kNN baseline (with --train-csv; default %(default)s)")
    ev.add_argument("--ten-crop", action="store_true",
                    help="average the logits of 10 crops (corners, centre, mirrored)")
    add_retrieval_argument(ev)
    ev.set_defaults(func=cli_commands.cmd_evaluate)
    train_cli.add_train_command(sub)
    models_cli.add_models_command(sub)
    add_text_clue_command(sub)
    return p


class Terminated(BaseException):
    """SIGTERM (or SIGHUP) arrived: unwinds like Ctrl-C, so every writer aborts and
    removes its temporary files (issue 21.8: a ``kill`` left gigabytes behind)."""

    def __init__(self, signum: int):
        super().__init__(signum)
        self.signum = signum


def _terminate(signum, _frame):
    raise Terminated(signum)


@contextlib.contextmanager
def _termination_unwinds():
    """SIGTERM and SIGHUP raise ``Terminated`` in the main thread for the block, then the
    handlers before it are back (``main`` is also called inside other programs, tests).
    A signal someone chose to ignore (``nohup``) stays ignored."""
    previous = {}
    if threading.current_thread() is threading.main_thread():
        for name in ("SIGTERM", "SIGHUP"):
            signum = getattr(signal, name, None)
            if signum is not None and signal.getsignal(signum) is not signal.SIG_IGN:
                previous[signum] = signal.signal(signum, _terminate)
    try:
        yield
    finally:
        for signum, handler in previous.items():
            signal.signal(signum, handler)


def main(argv=None) -> int:
    args = build_parser().parse_args(argv)
    try:
        with _termination_unwinds():
            return int(args.func(args) or 0)
    except UserError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130
    except Terminated as exc:
        print(f"terminated ({signal.Signals(exc.signum).name})", file=sys.stderr)
        return 128 + exc.signum


if __name__ == "__main__":
    sys.exit(main())
