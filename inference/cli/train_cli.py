"""``python -m inference train``: argument parsing only, the work is
``train.train_from_photos`` / ``train.train_from_csv``.
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

from .cli_common import UserError, add_backbone_arguments, add_device_argument, key_values


def add_train_command(sub) -> None:
    """Add the ``train`` sub-command."""
    tr = sub.add_parser(
        "train", help="train a model bundle from geotagged photos or an MP-16 style CSV",
        description="Train a GeoDecoder bundle. Backbone features are computed once and "
        "cached (--cache), cells are built from the training photos, the epoch with the best "
        "validation accuracy at 2500 km is kept, and a MODEL.md card is written from the "
        "run's facts. Every epoch leaves a checkpoint next to --out; --resume continues it. "
        "--backbone clip-vit-l14 trains on the CLIP ViT-L/14 tower of 'models get geoclip' "
        "(frozen; a GPU is advised for its features): the bundle names the tower by catalog "
        "name and SHA-256 instead of carrying it, and loads only with that tower installed.")
    src = tr.add_argument_group("data (one of --photos or --csv)")
    one = src.add_mutually_exclusive_group(required=True)
    one.add_argument("--photos", help="folder of photos with GPS in their EXIF (recursive); "
                     "photos without GPS are listed and skipped")
    one.add_argument("--csv", help="labels CSV: IMG_ID,LAT,LON[,AUTHOR][,scene column]")
    src.add_argument("--images-root", help="folder the CSV's IMG_ID paths start from "
                     "(default: the CSV's folder)")
    src.add_argument("--scene-column", help="CSV column with scene labels, e.g. S16_Label "
                     "(default: pseudo-scenes from k-means on backbone features)")
    src.add_argument("--val-fraction", type=float, default=0.1,
                     help="validation share; photographer-disjoint when AUTHOR exists"
                     " (default %(default)s)")
    src.add_argument("--val-max-group", type=int, default=None,
                     help="photographers (AUTHOR) with more photos than this always train, "
                     "so no single photographer dominates the validation split")
    src.add_argument("--licence", default="", help="licence of the training data (for the card)")
    src.add_argument("--description", default="", help="one line on the data (for the card)")
    tr.add_argument("--out", required=True, help="bundle folder to write")
    tr.add_argument("--name", default="", help="model name (default: the --out folder name)")
    tr.add_argument("--cache", default=None, help="feature cache folder (default: "
                    "$GEODECODER_CACHE or ~/.cache/geodecoder/features)")
    tr.add_argument("--checkpoint-dir", default=None, help="default: OUT.checkpoint")
    tr.add_argument("--resume", action="store_true", help="continue from the last checkpoint")
    run = tr.add_argument_group("run")
    run.add_argument("--epochs", type=int, default=None,
                     help="default: enough for about 500 steps (10 to 100 epochs)")
    run.add_argument("--batch-size", type=int, default=64, help="(default %(default)s)")
    add_device_argument(run)
    run.add_argument("--precision", default="auto", choices=["auto", "fp32", "bf16"],
                     help="(default auto: bf16 autocast on CUDA, fp32 elsewhere)")
    run.add_argument("--workers", type=int, default=2,
                     help="photo decoding threads/workers (default %(default)s)")
    run.add_argument("--seed", type=int, default=0, help="(default %(default)s)")
    run.add_argument("--quiet", action="store_true", help="no progress bar")
    run.add_argument("--threads", type=int, default=None,
                     help="torch CPU threads (default: torch's; 1 is faster on a busy machine)")
    opt = tr.add_argument_group("optimisation")
    opt.add_argument("--lr", type=float, default=3e-4,
                     help="decoder and heads (default %(default)s)")
    opt.add_argument("--backbone-lr", type=float, default=1e-5,
                     help="with --finetune-backbone (default %(default)s)")
    opt.add_argument("--weight-decay", type=float, default=0.05, help="(default %(default)s)")
    opt.add_argument("--warmup-epochs", type=float, default=1.0,
                     help="linear warm-up, at most a fifth of the run, then cosine "
                     "(default %(default)s)")
    opt.add_argument("--label-smoothing", type=float, default=0.1,
                     help="(default %(default)s)")
    opt.add_argument("--geo-smoothing-km", type=float, default=0.0,
                     help="geographic label smoothing: train each level against "
                     "softmax(-distance to each cell / TAU km) instead of the one-hot cell "
                     "(0 = off, the paper's cross-entropy; default %(default)s)")
    opt.add_argument("--level-weights", type=float, nargs="+", default=None,
                     help="loss weight per cell level, coarse to fine (default: equal)")
    opt.add_argument("--scene-weight", type=float, default=1.0, help="(default %(default)s)")
    opt.add_argument("--route-by-label", action="store_true",
                     help="route the geo loss through the scene label (teacher forcing) "
                     "instead of the predicted scene")
    opt.add_argument("--finetune-backbone", action="store_true",
                     help="train the backbone too, from images with augmentations (GPU); "
                     "under torchrun this runs DistributedDataParallel")
    net = tr.add_argument_group("cells and network")
    net.add_argument("--t-min", type=int, default=None, help="minimum photos per cell")
    net.add_argument("--t-max", type=int, nargs="+", default=None,
                     help="maximum photos per cell, one per level (default: scaled to N)")
    net.add_argument("--cells", default=None,
                     help="a cells file from 'cells build' to use instead of building cells "
                     "from the training photos (e.g. from 100k MP-16 locations)")
    net.add_argument("--no-gallery", action="store_true",
                     help="do not carry the training photos' features and coordinates "
                     "(no retrieval inside the cell)")
    net.add_argument("--retrieval-k", type=int, default=5,
                     help="neighbours for retrieval inside the cell (default %(default)s)")
    net.add_argument("--no-calibrate", action="store_true",
                     help="keep temperature 1 instead of fitting it on the validation split")
    net.add_argument("--scenes", type=int, default=16,
                     help="scenes S (pseudo-scenes: at most one per 8 training photos; "
                     "default %(default)s)")
    add_backbone_arguments(net)
    net.add_argument("--image-size", type=int, default=224, help="(default %(default)s)")
    net.add_argument("--preset", default="auto", choices=["auto", "cpu", "full"],
                     help="decoder size: cpu = width 128, 2+1 layers; full = 256, 4+2; "
                     "auto = full on CUDA, cpu otherwise")
    for flag, kind in (("--width", int), ("--hid-layers", int), ("--hdd-layers", int),
                       ("--heads", int), ("--ffn", int), ("--dropout", float)):
        net.add_argument(flag, type=kind, default=None, help="overrides the preset")
    tr.add_argument("--knn-k", type=int, default=10,
                    help="k of the kNN baseline on validation (default %(default)s)")
    tr.set_defaults(func=cmd_train)


def _options(args) -> dict:
    model = {k: getattr(args, k) for k in ("width", "hid_layers", "hdd_layers", "heads", "ffn",
                                           "dropout") if getattr(args, k) is not None}
    return dict(cache_dir=args.cache, checkpoint_dir=args.checkpoint_dir, name=args.name,
                epochs=args.epochs, batch_size=args.batch_size, lr=args.lr,
                backbone_lr=args.backbone_lr, weight_decay=args.weight_decay,
                warmup_epochs=args.warmup_epochs, label_smoothing=args.label_smoothing,
                geo_smoothing_km=args.geo_smoothing_km,
                level_weights=args.level_weights, scene_weight=args.scene_weight,
                route_by_label=args.route_by_label, val_fraction=args.val_fraction,
                val_max_group=args.val_max_group,
                seed=args.seed, device=args.device, precision=args.precision,
                t_min=args.t_min, t_max=args.t_max, cells_file=args.cells,
                gallery=not args.no_gallery, retrieval_k=args.retrieval_k,
                calibrate=not args.no_calibrate, scenes=args.scenes, backbone=args.backbone,
                backbone_options=key_values(args.backbone_option),
                image_size=args.image_size, preset=args.preset, model=model,
                finetune_backbone=args.finetune_backbone, workers=args.workers,
                resume=args.resume, knn_k=args.knn_k, licence=args.licence,
                data_description=args.description, quiet=args.quiet, threads=args.threads)


def cmd_train(args) -> int:
    from ..modeling.backbones import BackboneError
    from ..training.features import FeatureCacheError
    from ..training.train import TrainError, train_from_csv, train_from_photos

    try:
        if args.photos:
            result = train_from_photos(args.photos, args.out, **_options(args))
        else:
            root = args.images_root or str(Path(args.csv).resolve().parent)
            result = train_from_csv(args.csv, root, args.out, scene_column=args.scene_column,
                                    **_options(args))
    except (TrainError, BackboneError, FeatureCacheError, OSError) as exc:
        raise UserError(str(exc)) from exc
    if int(os.environ.get("RANK", "0")) != 0:  # torchrun: rank 0 reports
        return 0
    for path, reason in result.skipped:
        print(f"skipped {path}: {reason}", file=sys.stderr)
    if result.bundle_dir is None:
        print("training stopped before the end; --resume continues from the checkpoint "
              f"{result.checkpoint_dir}")
        return 1
    print(summary(result))
    return 0


def summary(result) -> str:
    """What a person wants to read after training: data, cells, validation, where."""
    from ..training.model_card import _row

    f = result.facts
    d, cells = f["data"], f["cells"]
    lines = [f"trained on {d['n_train']} photos, validated on {d['n_val']} ({d['split']}); "
             f"{d['photos_skipped']} skipped (listed above)"
             + (f"; {d['train_photos_outside_every_cell']} training photos fell in no cell "
                f"(cells need more than t_min={cells['t_min']} photos) and were dropped"
                if d["train_photos_outside_every_cell"] else ""),
             f"cells (t_min {cells['t_min']}): " + ", ".join(
                 f"{lv['cells']}" for lv in cells["levels"]) + " per level"
             + "".join(f"\n  note: {n}" for n in cells["notes"]),
             f"features: {result.cache_misses} computed, {result.cache_hits} from the cache; "
             f"{f['recipe']['epochs']} epochs in {f['time_s']['training']:.0f} s, best epoch "
             f"{result.best_epoch}"]
    if f["scenes"].get("note"):
        lines.append(f"note: {f['scenes']['note']}")
    v = result.validation
    if v:
        lines += ["validation (% within 1/25/200/750/2500 km | median km):",
                  _row("model", v["model"]), _row("prior", v["prior"]),
                  _row(f"kNN k={v['knn_k']}", v["knn"])]
    lines.append(f"wrote {result.bundle_dir} (MODEL.md inside); checkpoint "
                 f"{result.checkpoint_dir}")
    return "\n".join(lines)
