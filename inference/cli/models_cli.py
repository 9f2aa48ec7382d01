"""``python -m inference models list | get NAME | remove NAME``: the models users
download once (the catalog in resources/models/catalog.json, the store in a per-user
folder).  ``get`` shows what it will download (sizes, sources, licence, limits) and asks
before the first byte, unless ``--yes``; ``--from FOLDER`` takes copied files instead.
"""

from __future__ import annotations

import argparse
import sys
import time

from .cli_common import UserError


def add_models_command(sub) -> None:
    models = sub.add_parser(
        "models", help="models downloaded once (list, get, remove)",
        description="Models too large to ship with the plugin (GeoCLIP: 1.75 GB), fetched "
        "only when you ask, verified by SHA-256, kept in one folder per user "
        "(GEODECODER_MODELS_DIR, or --models-dir). Mirrors: GEODECODER_HF_ENDPOINT, "
        "GEODECODER_PYPI_URL (a pip simple index).")
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("--models-dir", default=None,
                        help="the models folder (default: $GEODECODER_MODELS_DIR, else a "
                        "per-user data folder)")
    common.add_argument("--catalog", default=None,
                        help="another catalog file (default: the plugin's, or "
                        "$GEODECODER_MODELS_CATALOG)")
    verbs = models.add_subparsers(dest="models_command", required=True)
    ls = verbs.add_parser("list", parents=[common],
                          help="the catalog's models: size, licence, state")
    ls.set_defaults(func=cmd_models_list)
    get = verbs.add_parser("get", parents=[common],
                           help="download (or import) a model into the store",
                           description="Shows the files, their sizes, sources, licence and "
                           "limits, asks, then downloads with progress. A cut download "
                           "resumes when run again; every file's SHA-256 is checked before "
                           "use and a mismatch deleted. Nothing is fetched when the model "
                           "is already in the store.")
    get.add_argument("name", help="model name, e.g. geoclip")
    get.add_argument("--from", dest="source", default=None, metavar="FOLDER",
                     help="take the files from FOLDER (copied from elsewhere, e.g. "
                     "model.safetensors and geoclip-1.3.0-py3-none-any.whl) instead of the "
                     "network; the same checks apply")
    get.add_argument("--yes", "-y", action="store_true", help="do not ask")
    get.add_argument("--quiet", action="store_true", help="no progress")
    get.set_defaults(func=cmd_models_get)
    rm = verbs.add_parser("remove", parents=[common],
                          help="delete a model (and unfinished downloads of it)")
    rm.add_argument("name")
    rm.set_defaults(func=cmd_models_remove)


def _catalog(args):
    from ..models.catalog import CatalogError, load_catalog
    try:
        return load_catalog(args.catalog)
    except CatalogError as exc:
        raise UserError(str(exc)) from exc


def _entry(catalog, name):
    from ..models.catalog import CatalogError
    try:
        return catalog.get(name)
    except CatalogError as exc:
        raise UserError(str(exc)) from exc


def cmd_models_list(args) -> int:
    from ..models.fetch import human
    from ..models.store import model_state, models_dir

    catalog = _catalog(args)
    root = models_dir(args.models_dir)
    print(f"models folder: {root}")
    for name, entry in sorted(catalog.models.items()):
        state = model_state(entry, root, catalog)
        print(f"{name}  {human(entry.download_bytes)}  {entry.licence}  {state}  "
              f"- {entry.title}")
    return 0


def _ask(question: str) -> bool:
    if not sys.stdin or not sys.stdin.isatty():
        line = sys.stdin.readline() if sys.stdin else ""
    else:
        line = input(question)
    return line.strip().lower() in ("y", "yes")


class _Bar:
    """One progress line per file and stage on stderr, rewritten at most ten times a
    second; a line left open by a step that ended early is closed before the next."""

    def __init__(self, quiet: bool):
        self.quiet, self.last, self.shown, self.open = quiet, 0.0, None, False

    def __call__(self, p) -> None:
        from ..models.fetch import human
        if self.quiet:
            return
        now = time.monotonic()
        finished = p.done >= p.total
        same = (p.stage, p.file) == self.shown
        if same and not finished and now - self.last < 0.1:
            return
        if self.open and not same:
            print(file=sys.stderr)
        self.last, self.shown = now, (p.stage, p.file)
        pct = 100.0 * p.done / p.total if p.total else 100.0
        print(f"\r{p.stage} {p.file}: {pct:5.1f}% ({human(p.done)} of {human(p.total)})",
              end="\n" if finished else "", file=sys.stderr, flush=True)
        self.open = not finished

    def close(self) -> None:
        if self.open:
            print(file=sys.stderr)
            self.open = False


def cmd_models_get(args) -> int:
    from ..models.catalog import CatalogError
    from ..models.fetch import ModelsError, describe, get_model, plan_get

    catalog = _catalog(args)
    entry = _entry(catalog, args.name)
    try:
        plan = plan_get(entry.name, args.models_dir, catalog)
    except CatalogError as exc:
        raise UserError(str(exc)) from exc
    if plan.installed:
        print(f"{entry.name} is installed in {plan.root / entry.name}; nothing to fetch")
        return 0
    for line in describe(plan):
        print(line)
    if args.source:
        print(f"From the folder {args.source} (no network).")
    if not args.yes:
        if not _ask(f"Get {entry.name} into {plan.root}? [y/N] "):
            print("nothing was downloaded (answer y, or pass --yes)")
            return 1
    bar = _Bar(args.quiet)
    try:
        folder = get_model(entry.name, root=args.models_dir, catalog=catalog,
                           source=args.source, progress=bar)
    except ModelsError as exc:
        bar.close()
        raise UserError(str(exc)) from exc
    finally:
        bar.close()
    print(f"{entry.name} installed and verified in {folder}")
    return 0


def cmd_models_remove(args) -> int:
    from ..models.fetch import human
    from ..models.store import model_path, remove_model

    catalog = _catalog(args)
    entry = _entry(catalog, args.name)
    freed = remove_model(entry.name, args.models_dir)
    if not freed:
        print(f"{entry.name} is not in {model_path(entry.name, args.models_dir).parent}")
        return 0
    print(f"removed {entry.name} ({human(freed)} freed)")
    return 0
