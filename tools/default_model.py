"""Train the shipped default model from ../shared/data, or compare the choices behind it.

    python tools/default_model.py build   [--data ../shared/data] [--out resources/models/default]
    python tools/default_model.py compare [--data ../shared/data] [--only NAME ...]

``build`` is what ``make default-model`` runs: the settings chosen by ``compare`` (see the
table in docs/METHOD_NOTES.md), a fixed seed and the photographer-disjoint validation split
of im2gps3k-train, so a rerun gives the same split, cells and recipe.  ``compare`` trains
each variant on the same split and prints one markdown row per variant (validation only:
no test photo is ever read here).
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from inference.cells import build_hierarchy, read_coordinates_csv  # noqa: E402
from inference.evaluate import THRESHOLDS_KM  # noqa: E402
from inference.train import train_from_csv  # noqa: E402

NAME = "geodecoder-im2gps3k-lite0"
VERSION = "1.0.0"
SEED = 0
VAL_FRACTION = 0.15
VAL_MAX_GROUP = 30  # one photographer has 235 photos at one place: keep such ones training
MP16_T_MAX = {3: [5000, 2000, 1000], 4: [5000, 2000, 1000, 500],
              5: [5000, 2000, 1000, 500, 250], 7: [5000, 2000, 1000, 500, 250, 120, 60]}
LICENCE = ("photos of Im2GPS3k (Vo, Hays et al., ICCV 2017) from Flickr, shared for research; "
           "the photos belong to their owners and are not in this bundle; cells from 100k "
           "MP-16 locations (MIT)")
DESCRIPTION = ("im2gps3k-train: 2,477 real worldwide photos of 168 Flickr photographers "
               "with GPS and Places365 scene labels")
# the choice of `compare` (docs/METHOD_NOTES.md, "The default model")
CHOSEN = dict(cells=4, scene_column="S3_Label", backbone="efficientnet_lite0",
              image_size=224, label_smoothing=0.1, geo_smoothing_km=250.0)

# Places365 S3 codes as the data's README gives them
S3_NAMES = {"0": "indoor", "1": "natural", "2": "urban"}

VARIANTS = {
    "own cells, S16, CE": dict(cells=None, scene_column="S16_Label", geo_smoothing_km=0.0),
    "mp16-4, S16, CE": dict(scene_column="S16_Label", geo_smoothing_km=0.0),
    "mp16-4, S16, geo 250": dict(scene_column="S16_Label"),
    "mp16-4, S3, geo 250": dict(),
    "mp16-4, S3, CE": dict(geo_smoothing_km=0.0),
    "mp16-4, S3, CE no smoothing": dict(geo_smoothing_km=0.0, label_smoothing=0.0),
    "mp16-3, S3, geo 250": dict(cells=3),
    "mp16-5, S3, geo 250": dict(cells=5),
    "mp16-4, S3, geo 250, lite2": dict(backbone="efficientnet_lite2", image_size=260),
}


def cells_file(data: Path, levels: int, work: Path) -> str:
    """MP-16 cells with t_min 5 and the first ``levels`` thresholds of the method notes."""
    out = work / f"cells-mp16-{levels}.json"
    if not out.is_file():
        lats, lons = read_coordinates_csv(data / "mp16-coordinates-100k" / "coordinates_100k.csv")
        build_hierarchy(lats, lons, 5, MP16_T_MAX[levels]).save(out)
    return str(out)


def train(data: Path, out: Path, work: Path, settings: dict, **extra):
    s = {**CHOSEN, **settings}
    im = data / "im2gps3k-train"
    cells = cells_file(data, s["cells"], work) if s["cells"] else None
    return train_from_csv(
        im / "labels.csv", im / "photos", out, scene_column=s["scene_column"],
        cells_file=cells, backbone=s["backbone"], image_size=s["image_size"],
        label_smoothing=s["label_smoothing"], geo_smoothing_km=s["geo_smoothing_km"],
        val_fraction=VAL_FRACTION,
        val_max_group=VAL_MAX_GROUP, seed=SEED,
        scene_names=S3_NAMES if s["scene_column"] == "S3_Label" else {},
        cache_dir=str(work / "features"), licence=LICENCE, data_description=DESCRIPTION,
        quiet=True, **extra)


def row(name: str, m: dict, seconds: float = None) -> str:
    acc = " | ".join(f"{100 * m['accuracy'][str(t)]:.1f}" for t in THRESHOLDS_KM)
    med = f"{m['median_km']:.0f}" if m.get("median_km") is not None else "-"
    return f"| {name} | {acc} | {med} |" + (f" {seconds:.0f} |" if seconds is not None else "")


def compare(args) -> int:
    work = Path(args.work)
    results = {}
    done_file = work / "compare.json"
    if done_file.is_file():
        results = json.loads(done_file.read_text())
    for name, settings in VARIANTS.items():
        if args.only and name not in args.only:
            continue
        if name in results and not args.again:
            continue
        t0 = time.perf_counter()
        res = train(Path(args.data), work / "runs" / name.replace(" ", "_"), work, settings)
        v = res.validation
        results[name] = {"validation": v, "seconds": time.perf_counter() - t0,
                         "best_epoch": res.best_epoch, "epochs": res.epochs_done}
        done_file.write_text(json.dumps(results, indent=1))
        print(row(name, v["model"], results[name]["seconds"]), flush=True)
    print("| variant | " + " | ".join(f"{t} km" for t in THRESHOLDS_KM)
          + " | median km | s |\n|---|" + "---|" * (len(THRESHOLDS_KM) + 2))
    for name, r in results.items():
        v = r["validation"]
        print(row(name, v["model"], r["seconds"]))
        for extra in ("model_cell", "model_retrieval"):
            if extra in v:
                print(row(f"  {name} [{extra}]", v[extra]))
        cal = v["calibration"]["after"]
        print(f"|   T={cal['temperature']:.2f} ECE {v['calibration']['before']['ece']:.3f}"
              f"->{cal['ece']:.3f} cov50 {cal['coverage']['50']:.2f} "
              f"cov90 {cal['coverage']['90']:.2f} |")
    first = next(iter(results.values()))["validation"]
    for base in ("prior", "prior_750", "knn"):
        print(row(base, first[base]))
    return 0


def build(args) -> int:
    work = Path(args.work)
    res = train(Path(args.data), Path(args.out), work, {}, name=NAME, model_version=VERSION)
    cfg_path = Path(args.out) / "config.json"
    doc = json.loads(cfg_path.read_text())
    print(f"wrote {args.out}: best epoch {res.best_epoch}, model version {doc['model_version']}")
    return 0


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("command", choices=["build", "compare"])
    p.add_argument("--data", default=str(ROOT.parent / "shared" / "data"))
    p.add_argument("--out", default=str(ROOT / "resources" / "models" / "default"))
    p.add_argument("--work", default=str(ROOT / "work-cache" / "default-model"))
    p.add_argument("--only", nargs="*", default=None)
    p.add_argument("--again", action="store_true")
    args = p.parse_args(argv)
    if not (Path(args.data) / "im2gps3k-train" / "labels.csv").is_file():
        print(f"no training data under {args.data} (needs im2gps3k-train/ and "
              "mp16-coordinates-100k/)", file=sys.stderr)
        return 2
    Path(args.work).mkdir(parents=True, exist_ok=True)
    return build(args) if args.command == "build" else compare(args)


if __name__ == "__main__":
    sys.exit(main())
