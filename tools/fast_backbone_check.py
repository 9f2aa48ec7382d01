"""Does the fast backbone (BatchNorm folded, channels-last) predict as well as the plain one?

    python tools/fast_backbone_check.py [--data ../shared/data] [--json out.json]

Runs the default bundle's own validation photos (the photographer-disjoint split of
im2gps3k-train that tools/default_model.py trains with: 383 photos) through the real
predict twice, with the plain backbone and with the fast one, and prints the accuracy at
every threshold for both, how many photos changed their answer, and the largest change
of a reported confidence.  The fast path stays on by default only while every threshold
moves by less than one point (docs/SPEED.md).  The plain run's accuracy is also checked
against the validation the bundle recorded when it was trained (from cached features of
the same photos): the two must agree, or this check is not measuring what it claims.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from inference.geo import haversine_km  # noqa: E402
from inference.modeling.bundle import load_bundle  # noqa: E402
from inference.prediction.predict import Predictor  # noqa: E402
from inference.records import PhotoFailure  # noqa: E402
from inference.training.evaluate import THRESHOLDS_KM, metrics  # noqa: E402
from inference.training.train_data import read_samples_csv, split_samples  # noqa: E402
from tools.default_model import CHOSEN, SEED, VAL_FRACTION, VAL_MAX_GROUP  # noqa: E402

MAX_POINTS = 1.0  # percentage points any threshold may move


def validation_samples(data: Path):
    im = data / "im2gps3k-train"
    samples, _ = read_samples_csv(im / "labels.csv", im / "photos",
                                  scene_column=CHOSEN["scene_column"])
    _, val, _ = split_samples(samples, VAL_FRACTION, SEED, VAL_MAX_GROUP)
    return val


def predict_all(bundle, paths, fast: bool) -> dict:
    predictor = Predictor(bundle, device="cpu", fast_backbone=fast)
    t0 = time.process_time()
    records = {r.path: r for r in predictor.run(paths)}
    return {"records": records, "cpu_s": time.process_time() - t0}


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--data", default=str(ROOT.parent / "shared" / "data"))
    p.add_argument("--bundle", default=str(ROOT / "resources" / "models" / "default"))
    p.add_argument("--json", help="write the figures here too")
    args = p.parse_args(argv)
    data = Path(args.data)
    if not (data / "im2gps3k-train" / "labels.csv").is_file():
        print(f"no im2gps3k-train under {data}", file=sys.stderr)
        return 2
    bundle = load_bundle(args.bundle)
    val = validation_samples(data)
    paths = [s.path for s in val]
    runs = {name: predict_all(bundle, paths, fast) for name, fast in
            (("plain", False), ("fast", True))}
    out = {"photos": len(val)}
    for name, run in runs.items():
        errors = []
        for s in val:
            r = run["records"].get(s.path)
            ok = r is not None and not isinstance(r, PhotoFailure)
            errors.append(haversine_km(s.lat, s.lon, r.lat, r.lon) if ok else float("inf"))
        out[name] = {"accuracy": metrics(errors)["accuracy"], "cpu_s": run["cpu_s"]}
    plain, fast = runs["plain"]["records"], runs["fast"]["records"]
    preds = [(plain[q], fast[q]) for q in paths
             if not isinstance(plain.get(q, PhotoFailure(q, "")), PhotoFailure)]
    out["changed_answer"] = sum((a.lat, a.lon) != (b.lat, b.lon) for a, b in preds)
    out["max_confidence_change"] = max(abs(a.confidence - b.confidence) for a, b in preds)
    out["max_cell_probability_change"] = max(
        abs(x.probability - y.probability) for a, b in preds
        for x, y in zip(a.best_cells, b.best_cells))
    recorded = bundle.info.training.get("validation", {}).get("model", {}).get("accuracy", {})
    out["recorded"] = recorded
    moved = {t: 100 * abs(out["fast"]["accuracy"][str(t)] - out["plain"]["accuracy"][str(t)])
             for t in THRESHOLDS_KM}
    out["max_points_moved"] = max(moved.values())
    out["holds"] = out["max_points_moved"] < MAX_POINTS
    print("| backbone | " + " | ".join(f"{t} km" for t in THRESHOLDS_KM) + " | CPU s |")
    print("|---|" + "---|" * (len(THRESHOLDS_KM) + 1))
    for name in ("plain", "fast"):
        acc = out[name]["accuracy"]
        print(f"| {name} | " + " | ".join(f"{100 * acc[str(t)]:.1f}" for t in THRESHOLDS_KM)
              + f" | {out[name]['cpu_s']:.0f} |")
    if recorded:
        print("| recorded at training | " + " | ".join(
            f"{100 * recorded[str(t)]:.1f}" for t in THRESHOLDS_KM) + " | |")
    print(f"{out['photos']} validation photos; {out['changed_answer']} changed their point; "
          f"largest confidence change {out['max_confidence_change']:.2e}, largest cell "
          f"probability change {out['max_cell_probability_change']:.2e}; largest move "
          f"{out['max_points_moved']:.2f} points: {'holds' if out['holds'] else 'FAILS'}")
    if args.json:
        Path(args.json).write_text(json.dumps(out, indent=1))
    return 0 if out["holds"] else 1


if __name__ == "__main__":
    sys.exit(main())
