"""The command line end to end: cells build -> bundle init -> predict on hostile folders."""

from __future__ import annotations

import csv
import json
import os
import shutil
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest
from osgeo import ogr

from inference.__main__ import main
from tests.conftest import TINY_MODEL, clustered_coords
from tests.photo_factory import make_hostile_folder, make_jpeg

REPO = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def workdir(tmp_path_factory):
    root = tmp_path_factory.mktemp("cli")
    lats, lons = clustered_coords()
    with open(root / "coords.csv", "w", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(["IMG_ID", "LAT", "LON"])
        w.writerows((f"{i}.jpg", a, o) for i, (a, o) in enumerate(zip(lats, lons)))
    return root


@pytest.fixture(scope="module")
def bundle_dir(workdir):
    assert main(["cells", "build", str(workdir / "coords.csv"), "--out",
                 str(workdir / "cells.json"), "--t-min", "2", "--t-max", "200", "60", "20"]) == 0
    args = ["bundle", "init", "--cells", str(workdir / "cells.json"), "--out",
            str(workdir / "bundle"), "--width", str(TINY_MODEL["width"]), "--scenes", "3",
            "--hid-layers", "1", "--hdd-layers", "1"]
    assert main(args) == 0
    return workdir / "bundle"


def test_cells_build_prints_counts(workdir, capsys):
    assert main(["cells", "build", str(workdir / "coords.csv"), "--out",
                 str(workdir / "c2.json")]) == 0
    out = capsys.readouterr().out
    assert "level 0:" in out and "cells" in out and (workdir / "c2.json").is_file()


def test_predict_on_a_hostile_folder(bundle_dir, workdir, capsys):
    photos = workdir / "photos"
    expected = make_hostile_folder(photos, n_good=20, seed=3)
    # a folder named x.jpg is searched like any folder, not reported as a photo
    unreadable = {p: r for p, r in expected["unreadable"].items() if not Path(p).is_dir()}
    out, out_csv = workdir / "out.gpkg", workdir / "out.csv"
    code = main(["predict", str(photos), "--model", str(bundle_dir), "--out", str(out),
                 "--csv", str(out_csv), "--top-k", "3", "--batch-size", "4", "--quiet"])
    assert code == 0
    printed = capsys.readouterr()
    assert "UNTRAINED" in printed.err  # an untrained bundle is flagged loudly

    with open(out_csv, newline="", encoding="utf-8") as fh:
        rows = list(csv.DictReader(fh))
    assert {r["photo_path"] for r in rows} == {str(Path(p)) for p in expected["readable"]}
    assert {"cand3_lat", "cell_0", "confidence"} <= set(rows[0])

    failures_csv = workdir / "out_failures.csv"
    with open(failures_csv, newline="", encoding="utf-8") as fh:
        failed = {r["photo_path"]: r["reason"] for r in csv.DictReader(fh)}
    assert len(failed) == len(unreadable)
    for path, reason in unreadable.items():
        assert reason.lower() in failed[str(Path(path))].lower(), path
        assert f"FAILED {Path(path)}" in printed.out  # named where the user sees it

    ds = ogr.Open(str(out))
    names = {ds.GetLayer(i).GetName() for i in range(ds.GetLayerCount())}
    levels = len(json.loads((bundle_dir / "config.json").read_text())["model"]["level_sizes"])
    assert {"predictions", "candidates", "regions", "failures", "surface"} <= names
    assert {f"cells_level_{h}" for h in range(levels)} <= names
    assert ds.GetLayerByName("predictions").GetFeatureCount() == len(expected["readable"])
    assert ds.GetLayerByName("failures").GetFeatureCount() == len(unreadable)
    assert ds.GetLayerByName("candidates").GetFeatureCount() == 3 * len(expected["readable"])
    with sqlite3.connect(out) as db:  # QGIS applies these when the file is opened
        styled = {r[0] for r in db.execute("SELECT f_table_name FROM layer_styles")}
    assert {"predictions", "candidates", "regions", "surface"} <= styled
    assert {f"cells_level_{h}" for h in range(levels)} <= styled
    if shutil.which("ogrinfo"):
        info = subprocess.run(["ogrinfo", "-so", "-al", str(out)], capture_output=True,
                              text=True, check=True).stdout
        assert "predictions" in info and ("EPSG" in info or "WGS 84" in info)
        assert all(f"cells_level_{h}" in info for h in range(levels))


def test_a_failed_run_keeps_the_previous_file(bundle_dir, workdir):
    good = workdir / "keep.gpkg"
    photo = make_jpeg(workdir / "one.jpg")
    assert main(["predict", str(photo), "--model", str(bundle_dir), "--out", str(good),
                 "--quiet"]) == 0
    before = good.read_bytes()
    with pytest.raises(SystemExit):
        main(["predict", str(photo), "--model", str(bundle_dir), "--out", str(good),
              "--device", "nonsense"])
    assert main(["predict", str(photo), "--model", str(workdir / "no-such-bundle"),
                 "--out", str(good)]) == 2
    assert good.read_bytes() == before
    assert [p.name for p in workdir.glob("keep*")] == ["keep.gpkg"]


def test_without_a_model_it_says_how_to_get_one(workdir, capsys):
    code = main(["predict", str(workdir), "--out", str(workdir / "x.gpkg")])
    err = capsys.readouterr().err
    if (REPO / "resources" / "models" / "default" / "config.json").is_file():
        pytest.skip("a default model ships: this message is not shown")
    assert code == 2 and "no default model" in err and "train --photos" in err
    assert not (workdir / "x.gpkg").exists()


def test_every_command_documents_itself():
    """Each verb's --help names the options a new user needs first."""
    needs = {("predict",): ["--model", "--out", "--top-k", "--device", "--retrieval"],
             ("cells", "build"): ["--t-min", "--t-max", "--out"],
             ("bundle", "init"): ["--cells", "--out", "--backbone"],
             ("evaluate",): ["--csv", "--images-root", "--train-csv", "--json"],
             ("train",): ["--photos", "--csv", "--scene-column", "--cells", "--resume"]}
    for cmd, options in needs.items():
        res = subprocess.run([sys.executable, "-m", "inference", *cmd, "--help"], cwd=REPO,
                             capture_output=True, text=True)
        assert res.returncode == 0 and res.stdout.startswith("usage:"), cmd
        missing = [o for o in options if o not in res.stdout]
        assert not missing, (cmd, missing)


def test_predict_bad_input_gets_one_clear_line_and_a_failing_exit(tiny_bundle_dir, tmp_path,
                                                                  capsys):
    from inference.__main__ import main

    photos = tmp_path / "photos"
    photos.mkdir()
    (photos / "notes.txt").write_text("not a photo")
    good = tmp_path / "good.gpkg"
    good.write_bytes(b"an earlier good run")
    cases = [
        (["--out", str(tmp_path / "missing" / "x.gpkg")], "does not exist"),
        (["--out", str(good), "--top-k", "0"], "--top-k must be at least 1"),
        (["--out", str(good)], "no photos found"),
    ]
    for extra, message in cases:
        code = main(["predict", str(photos), "--model", str(tiny_bundle_dir), "--quiet",
                     *extra])
        err = capsys.readouterr().err
        assert code == 2 and message in err and "Traceback" not in err, (extra, err)
    assert good.read_bytes() == b"an earlier good run"  # nothing half-written replaced it
    assert not (tmp_path / "missing").exists()


def test_predict_with_countries_from_a_shell(tmp_path):
    """The documented call: every point inside the country, the constraint recorded."""
    from inference.constraints import countries_area
    from inference.modeling.defaults import SAMPLES_DIR, default_bundle_path

    if default_bundle_path() is None:
        pytest.skip("no default model bundle")
    out, out_csv = tmp_path / "ch.gpkg", tmp_path / "ch.csv"
    done = subprocess.run(
        [sys.executable, "-m", "inference", "predict", str(SAMPLES_DIR), "--out", str(out),
         "--csv", str(out_csv), "--countries", "Switzerland", "--device", "cpu", "--quiet"],
        cwd=REPO, capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr
    assert "constraint: keep only countries: CH" in done.stderr
    assert "constraints removed" in done.stdout
    switzerland = countries_area("CH").geometry
    ds = ogr.Open(str(out))
    from shapely.geometry import Point

    preds = list(ds.GetLayerByName("predictions"))
    assert preds and all(switzerland.contains(Point(f["lon"], f["lat"])) for f in preds)
    assert all(switzerland.contains(Point(f["lon"], f["lat"]))
               for f in ds.GetLayerByName("candidates"))
    assert [f["label"] for f in ds.GetLayerByName("constraints")] == ["countries: CH"]
    with open(out_csv, newline="", encoding="utf-8") as fh:
        rows = list(csv.DictReader(fh))
    assert all(0 < float(r["constraint_mass_removed"]) < 1 for r in rows)


def test_constraint_errors_are_one_line_and_keep_the_previous_file(tiny_bundle_dir, tmp_path,
                                                                   capsys):
    photo = make_jpeg(tmp_path / "one.jpg")
    good = tmp_path / "good.gpkg"
    assert main(["predict", str(photo), "--model", str(tiny_bundle_dir), "--out", str(good),
                 "--quiet"]) == 0
    before = good.read_bytes()
    empty = tmp_path / "empty.geojson"
    empty.write_text('{"type": "FeatureCollection", "features": []}')
    cases = [
        (["--countries", "Atlantis"], "unknown country 'Atlantis'"),
        (["--countries", "FR", "--exclude-countries", "france"], "leave nothing"),
        (["--countries", "CH"], "leave nothing"),  # the tiny model knows no Swiss cell
        (["--area", str(empty)], "is empty"),
        (["--sun-time", "2024-06-01T14:10:00", "--sun-elevation", "30"], "no time zone"),
        (["--sun-time", "2024-06-01T14:10:00Z", "--shadow", "1.8", "0"], "above 0"),
        (["--sun-time", "2024-06-01T14:10:00Z", "--sun-elevation", "30", "--shadow", "1",
          "2"], "not both"),
        (["--sun-elevation", "30"], "need --sun-time"),
    ]
    for extra, message in cases:
        code = main(["predict", str(photo), "--model", str(tiny_bundle_dir), "--out",
                     str(good), "--quiet", *extra])
        err = capsys.readouterr().err
        assert code == 2 and message in err and "Traceback" not in err, (extra, err)
    assert good.read_bytes() == before  # byte for byte: nothing was opened
    assert [p.name for p in tmp_path.glob("good*")] == ["good.gpkg"]


# ------------------------------------------------- issue 21: messages, not tracebacks


def _one_line_error(err: str) -> str:
    """The error line of a failed command; fails the test if there is anything like a
    traceback or GDAL's own error lines."""
    assert "Traceback" not in err and "ERROR 1" not in err, err
    errors = [line for line in err.splitlines() if line.startswith("error: ")]
    assert len(errors) == 1, err
    return errors[0]


@pytest.fixture
def earlier_run(tiny_bundle_dir, tmp_path):
    photo = make_jpeg(tmp_path / "one.jpg", (160, 120))
    good = tmp_path / "good.gpkg"
    assert main(["predict", str(photo), "--model", str(tiny_bundle_dir), "--out", str(good),
                 "--csv", str(tmp_path / "good.csv"), "--quiet"]) == 0
    return photo, good, {p.name: p.read_bytes() for p in tmp_path.glob("good*")}


def _unchanged(folder: Path, before: dict) -> None:
    assert {p.name: p.read_bytes() for p in folder.glob("good*")} == before
    assert not [p.name for p in folder.iterdir() if ".tmp" in p.name or ".bak" in p.name]


def test_every_target_is_checked_before_any_work(tiny_bundle_dir, earlier_run, tmp_path,
                                                 capsys):
    """Issue 21.6 and 21.9: a --csv or --out that is a folder is named before the model
    loads, and the earlier run's files are untouched (the GeoPackage was replaced
    before the CSV's traceback)."""
    photo, good, before = earlier_run
    (tmp_path / "csvdir").mkdir()
    (tmp_path / "pair_failures.csv").mkdir()
    (tmp_path / "outdir.gpkg").mkdir()
    cases = [(["--out", str(good), "--csv", str(tmp_path / "csvdir")], "csvdir is a folder"),
             (["--out", str(good), "--csv", str(tmp_path / "pair.csv")],
              "pair_failures.csv is a folder"),
             (["--out", str(tmp_path / "outdir.gpkg")], "outdir.gpkg is a folder"),
             (["--out", str(good), "--csv", str(good)], "also an --out file")]
    for extra, message in cases:
        code = main(["predict", str(photo), "--model", str(tiny_bundle_dir), "--quiet",
                     *extra])
        line = _one_line_error(capsys.readouterr().err)
        assert code == 2 and message in line, (extra, line)
    _unchanged(tmp_path, before)


def test_an_unwritable_csv_is_named_not_the_geopackage(tiny_bundle_dir, earlier_run, tmp_path,
                                                       capsys):
    """Issue 21.14: a CSV name the file system refuses (too long once the temporary
    name's suffix is added) is reported as the CSV's problem."""
    photo, good, before = earlier_run
    csv_path = tmp_path / ("x" * 240 + ".csv")
    code = main(["predict", str(photo), "--model", str(tiny_bundle_dir), "--quiet",
                 "--out", str(good), "--csv", str(csv_path)])
    line = _one_line_error(capsys.readouterr().err)
    assert code == 2 and line.startswith(f"error: cannot write {csv_path}:"), line
    assert "good.gpkg" not in line and "too long" in line
    _unchanged(tmp_path, before)


def test_an_area_that_geos_refuses_is_one_line(tiny_bundle_dir, earlier_run, tmp_path,
                                               capsys):
    """Issue 21.9: an unclosed ring, NaN coordinates."""
    photo, good, before = earlier_run
    ring = "[[0,0],[10,0],[10,10],[0,10]]"
    nan = "[[0,0],[NaN,0],[10,10],[0,0]]"
    for name, coords, message in (("open", ring, "ring is not closed"),
                                  ("nan", nan, "not numbers")):
        area = tmp_path / f"{name}.geojson"
        area.write_text('{"type": "FeatureCollection", "features": [{"type": "Feature", '
                        '"properties": {}, "geometry": {"type": "Polygon", "coordinates": '
                        f'[{coords}]}}}}]}}')
        code = main(["predict", str(photo), "--model", str(tiny_bundle_dir), "--quiet",
                     "--out", str(good), "--area", str(area)])
        line = _one_line_error(capsys.readouterr().err)
        assert code == 2 and f"--area {area}" in line and message in line, line
    _unchanged(tmp_path, before)


def test_a_full_disk_is_one_line_that_says_so(tiny_bundle_dir, earlier_run, tmp_path,
                                              capsys, monkeypatch):
    """Issue 21.9: SQLite's "database or disk is full" (here: no page beyond those the
    file has when the values load, as a full disk would do) is said as such, with the
    file and its folder; the earlier run stays."""
    from inference.outputs import gpkg_surface

    photo, good, before = earlier_run
    connect = gpkg_surface.sqlite3.connect

    def full_disk(path, **kwargs):
        db = connect(path, **kwargs)
        db.execute(f"PRAGMA max_page_count = {db.execute('PRAGMA page_count').fetchone()[0]}")
        return db

    monkeypatch.setattr(gpkg_surface.sqlite3, "connect", full_disk)
    code = main(["predict", str(photo), "--model", str(tiny_bundle_dir), "--quiet",
                 "--out", str(good), "--csv", str(tmp_path / "good.csv")])
    line = _one_line_error(capsys.readouterr().err)
    assert code == 2 and line == (f"error: the disk is full: cannot write {good} (no room "
                                  f"left in {tmp_path}); free some space or choose another "
                                  "folder"), line
    _unchanged(tmp_path, before)


def _limited(limit: int):
    def apply():
        import resource
        import signal

        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)  # EFBIG instead of a killed process
        resource.setrlimit(resource.RLIMIT_FSIZE, (limit, limit))
    return apply


def test_a_write_error_in_gdal_is_one_line_not_a_traceback(tiny_bundle_dir, earlier_run,
                                                           tmp_path):
    """Issue 21.9: the files may not grow past 200 kB (RLIMIT_FSIZE, in a child
    process): GDAL's error lines stay off the terminal, one line names the file."""
    if sys.platform != "linux":
        pytest.skip("RLIMIT_FSIZE as Linux has it")
    photo, good, before = earlier_run
    done = subprocess.run([sys.executable, "-m", "inference", "predict", str(photo),
                           "--model", str(tiny_bundle_dir), "--out", str(good), "--quiet"],
                          cwd=REPO, capture_output=True, text=True, timeout=300,
                          preexec_fn=_limited(200_000))  # noqa: PLW1509 - no threads here
    line = _one_line_error(done.stderr)
    assert done.returncode == 2 and line.startswith(f"error: cannot write {good}: "), line
    _unchanged(tmp_path, before)


def test_sigterm_unwinds_like_ctrl_c(tiny_bundle_dir, earlier_run, tmp_path):
    """Issue 21.8: a ``kill`` (SIGTERM) in the middle of a run removes its temporary
    files and leaves the earlier run as it was."""
    import signal
    import time

    if os.name != "posix":
        pytest.skip("POSIX signals")
    _photo, good, before = earlier_run
    folder = tmp_path / "many"
    folder.mkdir()
    for i in range(80):
        make_jpeg(folder / f"p{i:02d}.jpg", (320, 240), color=(3 * i, 90, 160))
    child = subprocess.Popen([sys.executable, "-m", "inference", "predict", str(folder),
                              "--model", str(tiny_bundle_dir), "--out", str(good), "--csv",
                              str(tmp_path / "good.csv"), "--quiet", "--batch-size", "2"],
                             cwd=REPO, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                             text=True)
    try:
        deadline = time.monotonic() + 240
        while not list(tmp_path.glob("good.*.tmp.gpkg")) and child.poll() is None:
            assert time.monotonic() < deadline, "the run never started writing"
            time.sleep(0.05)
        child.send_signal(signal.SIGTERM)
        _, err = child.communicate(timeout=120)
    finally:
        if child.poll() is None:
            child.kill()
    assert child.returncode == 128 + signal.SIGTERM, err
    assert "terminated (SIGTERM)" in err and "Traceback" not in err, err
    _unchanged(tmp_path, before)


def test_an_uncertain_answer_is_said_at_the_precision_it_has(tmp_path, capsys):
    """Issue 20.2 on the command line: the default model's 50 % regions cover millions of
    km², so each line names the region (continents, countries, area) before a point
    rounded to whole degrees, never "near <town> (lat, lon)" to four decimals."""
    import re

    from inference.modeling.defaults import SAMPLES_DIR, default_bundle_path

    if default_bundle_path() is None:
        pytest.skip("no default model in this checkout")
    assert main(["predict", str(SAMPLES_DIR), "--out", str(tmp_path / "r.gpkg"),
                 "--quiet"]) == 0
    lines = [ln for ln in capsys.readouterr().out.splitlines() if ": " in ln
             and not ln.startswith(("done:", "FAILED"))]
    assert len(lines) >= 6
    for line in lines:
        answer = line.split(": ", 1)[1]
        assert answer.startswith("somewhere in ") and "(uncertain; 50 % region " in answer
        assert re.search(r"rough point \d+°[NS], \d+°[EW]", answer), answer
        assert not re.search(r"-?\d+\.\d{4}", answer), answer  # no false precision
