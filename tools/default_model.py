"""Train the shipped default model from ../shared/data, or compare the choices behind it.

    python tools/default_model.py build     [--data ../shared/data] [--out resources/models/default]
    python tools/default_model.py compare   [--data ../shared/data] [--only NAME ...]
    python tools/default_model.py remeasure [--data ../shared/data] [--out resources/models/default]

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

from inference.modeling.cells import build_hierarchy, read_coordinates_csv  # noqa: E402
from inference.training.evaluate import THRESHOLDS_KM  # noqa: E402
from inference.training.train import train_from_csv  # noqa: E402

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
CHOSEN = dict(cells=3, scene_column="S3_Label", backbone="efficientnet_lite0",
              image_size=224, label_smoothing=0.1, geo_smoothing_km=0.0)

# Places365 S3 codes as the data's README gives them
S3_NAMES = {"0": "indoor", "1": "natural", "2": "urban"}

VARIANTS = {
    "own cells, S16, CE": dict(cells=None, scene_column="S16_Label"),
    "mp16-4, S16, CE": dict(cells=4, scene_column="S16_Label"),
    "mp16-4, S16, geo 250": dict(cells=4, scene_column="S16_Label", geo_smoothing_km=250.0),
    "mp16-4, S3, geo 250": dict(cells=4, geo_smoothing_km=250.0),
    "mp16-4, S3, CE": dict(cells=4),
    "mp16-4, S3, CE no smoothing": dict(cells=4, label_smoothing=0.0),
    "mp16-3, S3, geo 250": dict(geo_smoothing_km=250.0),
    "mp16-5, S3, geo 250": dict(cells=5, geo_smoothing_km=250.0),
    "mp16-4, S3, geo 250, lite2": dict(cells=4, backbone="efficientnet_lite2", image_size=260,
                                       geo_smoothing_km=250.0),
    "mp16-3, S16, geo 250": dict(scene_column="S16_Label", geo_smoothing_km=250.0),
    "mp16-3, S3, CE (chosen)": dict(),
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


PAPER_NOTE = """
## How far this is from the paper, and what the numbers mean

The GeoDecoder paper trains a ViT end to end on MP-16's **4.7 million** photos and reports on
Im2GPS3k 12.8 / 33.5 / 45.9 / 61.0 / 76.1 % within 1 / 25 / 200 / 750 / 2500 km. This model was
trained on **2,094 photos** (about 2,000 times fewer), with a frozen ImageNet EfficientNet-Lite0
and a small decoder, on two CPU cores in about a minute. It cannot recognise places: at 1 and
25 km it is right for no validation photo, and its gain over guessing is at continental scale
(the 750 km column). What it does well is say how unsure it is: after calibration its stated
confidence and its 50 % / 90 % regions hold what they claim on validation photos, and the
regions are wide because the model knows little. Read the regions, not the point.

The validation photos are photographs of **other photographers** of the same collection
(photographer-disjoint; the 383 photos of 52 photographers with at most 30 photos each). They
are not Im2GPS3k's test photos: the benchmark's other photographers are kept apart for
evaluation, and a split of this small set shares its geography and its Flickr habits, so these
numbers must not be compared with the paper's table. On 71 street photos of another source
(OpenStreetView-5M, 48 countries), never used for any choice, `evaluate` gives:
{osv}

## Data, terms and how to rebuild

- Training data: `im2gps3k-train` (Im2GPS3k, Vo, Hays et al., ICCV 2017): {n_photos} photos of
  {n_authors} Flickr photographers, Places365 scene labels from TIB Hannover's GeoEstimation
  metadata. The photos belong to their Flickr owners and are shared for research; none of them
  (nor any crop) is in this bundle. The gallery file holds only their pooled features (float16)
  and coordinates, used by `--retrieval on` and by `evaluate`'s density prior.
- Cells: S2 cells from 100,000 real MP-16 photo locations (MIT licence), t_min 5, t_max 5000 /
  2000 / 1000: they cover the world far better than 2,094 photos could.
- Choices (cells, scenes, backbone, loss, decision rule) were made on the validation split only;
  the comparison table is in docs/METHOD_NOTES.md ("The default model").
- Rebuild: `make default-model` (tools/default_model.py build) with `../shared/data` beside the
  project; same split, cells, seed and recipe. The backbone features were computed once, cached
  ({feature_s}).
"""


def osv_check(data: Path, bundle_dir: Path) -> str:
    """The independent check on osv5m-street-71, as a markdown table (no choice uses it)."""
    from inference.modeling.bundle import load_bundle
    from inference.training.evaluate import evaluate_csv

    root = data / "osv5m-street-71"
    if not (root / "labels.csv").is_file():
        return "(osv5m-street-71 not available when this card was written)"
    im = data / "im2gps3k-train"
    rep = evaluate_csv(load_bundle(bundle_dir), root / "labels.csv", root / "images",
                       device="cpu", train_csv=str(im / "labels.csv"),
                       train_images_root=str(im / "photos"))
    lines = ["", "| 71 street photos | " + " | ".join(f"{t} km" for t in THRESHOLDS_KM)
             + " | median km |", "|---|" + "---|" * (len(THRESHOLDS_KM) + 1),
             row("this model", rep)]
    for name, label in (("prior", "prior (most populated cell)"),
                        ("prior_750", "prior (densest training place)"),
                        ("knn", "kNN (k=10, same backbone)")):
        if name in rep["baselines"]:
            lines.append(row(label, rep["baselines"][name]))
    lines += ["", f"ECE {rep['ece']:.3f}; the true place was inside the 50 % region for "
              f"{100 * rep['coverage']['50']:.0f} % of these photos and inside the 90 % region "
              f"for {100 * rep['coverage']['90']:.0f} % (street photos are a different kind of "
              "picture from the Flickr training photos, so the regions are too narrow here)."]
    return "\n".join(lines)


def append_notes(data: Path, bundle_dir: Path, feature_s: str) -> None:
    import csv

    with open(data / "im2gps3k-train" / "labels.csv", newline="", encoding="utf-8") as fh:
        rows = list(csv.DictReader(fh))
    card = bundle_dir / "MODEL.md"
    text = card.read_text(encoding="utf-8").rstrip("\n") + "\n" + PAPER_NOTE.format(
        osv=osv_check(data, bundle_dir), n_photos=f"{len(rows):,}",
        n_authors=len({r["AUTHOR"] for r in rows}), feature_s=feature_s)
    card.write_text(text, encoding="utf-8")


def build(args) -> int:
    import os

    work = Path(args.work)
    os.environ.setdefault("GEODECODER_CACHE", str(work / "features"))  # kNN reuses features
    res = train(Path(args.data), Path(args.out), work, {}, name=NAME, model_version=VERSION)
    secs = res.facts.get("time_s", {}).get("features", 0.0)
    append_notes(Path(args.data), Path(args.out),
                 f"in this run {res.cache_misses} computed in {secs:.0f} s, {res.cache_hits} "
                 "read from the cache of an earlier run")
    cfg_path = Path(args.out) / "config.json"
    doc = json.loads(cfg_path.read_text())
    print(f"wrote {args.out}: best epoch {res.best_epoch}, model version {doc['model_version']}")
    return 0


def validation_rows(data: Path) -> list:
    """The validation photos of ``build``'s split: (IMG_ID, LAT, LON), same seed and rule."""
    from inference.training.train_data import read_samples_csv, split_samples

    im = data / "im2gps3k-train"
    samples, _ = read_samples_csv(im / "labels.csv", im / "photos",
                                  scene_column=CHOSEN["scene_column"])
    _, val, _ = split_samples(samples, VAL_FRACTION, SEED, VAL_MAX_GROUP)
    root = (im / "photos").resolve()
    return [(str(Path(s.path).resolve().relative_to(root)), s.lat, s.lon) for s in val]


def remeasure(args) -> int:
    """The shipped bundle's credible regions measured again, as the predictor draws them
    now (cells by density, modeling/credible.py), on the same validation photos: the
    weights stay, the facts in config.json and the card's table are updated and the
    bundle is sealed again.  Used when what a region is changes, not the model."""
    import csv
    import tempfile
    from datetime import date

    from inference.modeling.bundle import load_bundle, seal_bundle
    from inference.training.evaluate import evaluate_csv

    data, out = Path(args.data), Path(args.out)
    rows = validation_rows(data)
    with tempfile.TemporaryDirectory() as tmp:
        labels = Path(tmp) / "val.csv"
        with open(labels, "w", newline="", encoding="utf-8") as fh:
            w = csv.writer(fh)
            w.writerow(["IMG_ID", "LAT", "LON"])
            w.writerows(rows)
        photos = data / "im2gps3k-train" / "photos"
        bundle = load_bundle(out)
        after = evaluate_csv(bundle, labels, photos, device="cpu")
        bundle.info.calibration = {**bundle.info.calibration, "temperature": 1.0}
        before = evaluate_csv(bundle, labels, photos, device="cpu")
    doc = json.loads((out / "config.json").read_text(encoding="utf-8"))
    cal = doc["training"]["validation"]["calibration"]
    for key, rep in (("before", before), ("after", after)):
        cal[key]["coverage"] = rep["coverage"]
        cal[key]["region_km2"] = rep["region_km2"]
    doc["calibration"]["coverage_after"] = after["coverage"]
    doc["calibration"]["region_km2_after"] = after["region_km2"]
    doc["calibration"]["regions"] = (
        f"smallest-area cells by probability density; coverage and median area measured "
        f"again on {date.today().isoformat()} through the predictor (evaluate) on the same "
        f"{len(rows)} validation photos")
    (out / "config.json").write_text(json.dumps(doc, indent=2) + "\n", encoding="utf-8")
    note = (f"Coverage and areas measured again on {date.today().isoformat()} through the "
            f"predictor (`evaluate`, ECE there {before['ece']:.3f} raw / {after['ece']:.3f} "
            "calibrated; the other columns are training's), once regions became the "
            "smallest-area ones (cells by density): the calibrated 50 % region holds the true "
            f"place for {100 * after['coverage']['50']:.0f} % of these photos, the 90 % region "
            f"for {100 * after['coverage']['90']:.0f} %.")
    _update_card_table(out / "MODEL.md", cal, note)
    _update_osv_line(out / "MODEL.md", data, out)
    seal_bundle(out)
    for key, rep in (("raw logits", before), ("calibrated", after)):
        print(f"{key}: in 50 % region {100 * rep['coverage']['50']:.1f} %, in 90 % region "
              f"{100 * rep['coverage']['90']:.1f} %, median area 50 % "
              f"{rep['region_km2']['50'] / 1e6:.1f}, 90 % {rep['region_km2']['90'] / 1e6:.1f} "
              f"million km2, ECE {rep['ece']:.3f} (n={rep['n']})")
    return 0


def _update_osv_line(card: Path, data: Path, bundle_dir: Path) -> None:
    """The independent check's coverage sentence measured again (``osv_check``'s)."""
    import re

    from inference.modeling.bundle import load_bundle
    from inference.training.evaluate import evaluate_csv

    root = data / "osv5m-street-71"
    if not (root / "labels.csv").is_file():
        return
    rep = evaluate_csv(load_bundle(bundle_dir), root / "labels.csv", root / "images",
                       device="cpu")
    line = (f"ECE {rep['ece']:.3f}; the true place was inside the 50 % region for "
            f"{100 * rep['coverage']['50']:.0f} % of these photos and inside the 90 % region "
            f"for {100 * rep['coverage']['90']:.0f} % (median areas "
            f"{rep['region_km2']['50'] / 1e6:.1f} and {rep['region_km2']['90'] / 1e6:.1f} "
            "million km²; street photos are a different kind of picture from the Flickr "
            "training photos, so the regions are too narrow here).")
    text = card.read_text(encoding="utf-8")
    card.write_text(re.sub(r"ECE [0-9.]+; the true place was inside the 50 % region for .*?"
                           r"regions are too narrow here\)\.", line, text, count=1),
                    encoding="utf-8")
    print("osv5m-street-71:", line)


def _update_card_table(card: Path, cal: dict, note: str) -> None:
    """The card's calibration table written again from ``cal`` (model_card.py's rows),
    with ``note`` saying how it was measured."""
    from inference.training.model_card import calibration_table

    text = card.read_text(encoding="utf-8")
    start = text.index("### Calibration and credible regions")
    end = text.index("The temperature was fitted on this same validation split", start)
    card.write_text(text[:start] + "\n".join(calibration_table(cal)) + "\n\n" + note
                    + "\n\n" + text[end:], encoding="utf-8")


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("command", choices=["build", "compare", "remeasure"])
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
    return {"build": build, "compare": compare, "remeasure": remeasure}[args.command](args)


if __name__ == "__main__":
    sys.exit(main())
