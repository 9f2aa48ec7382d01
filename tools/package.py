"""Build the plugin zip for plugins.qgis.org and check it the way its validator does.

The repository root is the plugin folder, so the archive puts an explicit list of
files under one top folder ``geodecoder/`` and leaves out everything a user does not
run (tests, benchmarks, docs, virtual environments, caches, build output).  Entries
are sorted and time-stamped with a constant, so the same tree gives the same zip.

    python tools/package.py --out dist/geodecoder-0.1.0.zip
    python tools/package.py --check dist/geodecoder-0.1.0.zip

The checks follow qgis/QGIS-Django ``plugins/validator.py`` (one ASCII top folder with
``__init__.py``/``classFactory`` and ``metadata.txt``, the required metadata keys,
``LICENSE``, no ``__pycache__``/``.pyc``/``.git``/``__MACOSX``, no absolute or ``..``
paths, at most 25 MB) and the review rules (no bundled binaries: dependencies are
installed from PyPI on the user's request).
"""

from __future__ import annotations

import argparse
import configparser
import os
import re
import sys
import zipfile
from pathlib import Path, PurePosixPath

ROOT = Path(__file__).resolve().parents[1]
TOP = "geodecoder"
INCLUDE = ("__init__.py", "plugin.py", "metadata.txt", "LICENSE", "README.md",
           "requirements.txt", "services", "ui", "processing_provider", "inference", "resources",
           "i18n")
SKIP_DIRS = {"__pycache__", ".git", "__MACOSX", ".pytest_cache", ".ruff_cache",
             ".hypothesis", ".qgis-settings", ".venv", "venv", "tests", "benchmarks"}
SKIP_SUFFIXES = (".pyc", ".pyo", ".part", ".orig", ".rej", ".swp", ".ts")
BINARY_SUFFIXES = (".so", ".pyd", ".dll", ".exe", ".dylib", ".whl", ".egg", ".bin")
REQUIRED_METADATA = ("name", "description", "version", "qgisMinimumVersion", "author",
                     "email", "about", "tracker", "repository")
URL_KEYS = ("tracker", "repository", "homepage")
MAX_BYTES = 25 * 1024 * 1024
TOP_RE = re.compile(r"^[A-Za-z][A-Za-z0-9_-]+$")
FIXED_TIME = (2020, 1, 1, 0, 0, 0)


def plugin_files(root: Path = ROOT) -> list[Path]:
    """Files that go into the zip, relative to `root`, sorted."""
    files = []
    for name in INCLUDE:
        path = root / name
        if path.is_file():
            files.append(Path(name))
        elif path.is_dir():
            for folder, dirs, names in os.walk(path):
                dirs[:] = sorted(d for d in dirs if d not in SKIP_DIRS and not d.startswith("."))
                for file_name in sorted(names):
                    if file_name.startswith(".") or ".tmp" in file_name \
                            or file_name.endswith(SKIP_SUFFIXES):
                        continue
                    files.append(Path(folder, file_name).relative_to(root))
    return sorted(files, key=lambda p: p.as_posix())


def build(out: Path, root: Path = ROOT) -> Path:
    """Write the zip to `out` (through a temporary file; a failed build keeps the old)."""
    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.with_name(out.name + ".part")
    try:
        with zipfile.ZipFile(tmp, "w", zipfile.ZIP_DEFLATED, compresslevel=9) as zf:
            for rel in plugin_files(root):
                info = zipfile.ZipInfo(f"{TOP}/{rel.as_posix()}", FIXED_TIME)
                info.compress_type = zipfile.ZIP_DEFLATED
                info.external_attr = 0o644 << 16
                zf.writestr(info, (root / rel).read_bytes())
        os.replace(tmp, out)
    finally:
        if tmp.exists():
            tmp.unlink()
    return out


def check_metadata(text: str) -> list[str]:
    """Problems of a metadata.txt text that the plugin repository rejects; [] when fine."""
    parser = configparser.ConfigParser(interpolation=None)
    parser.optionxform = str  # keys are case-sensitive (qgisMinimumVersion)
    try:
        parser.read_string(text)
    except configparser.Error as exc:
        return [f"metadata.txt cannot be parsed: {exc}"]
    if "general" not in parser:
        return ["metadata.txt has no [general] section"]
    meta = parser["general"]
    problems = [f"metadata.txt lacks {key}" for key in REQUIRED_METADATA
                if not meta.get(key, "").strip()]
    problems += [f"metadata.txt {key} is not a URL: {meta[key]!r}" for key in URL_KEYS
                 if key in meta and not re.match(r"^https?://[^/\s]+\.[^/\s]+", meta[key])]
    if "/" in meta.get("author", ""):
        problems.append("metadata.txt author must not contain '/'")
    if re.search(r"<[a-zA-Z/][^>]*>", meta.get("description", "") + meta.get("about", "")):
        problems.append("metadata.txt description/about must not contain HTML")
    if not re.match(r"^\d+\.\d+(\.\d+)?$", meta.get("qgisMinimumVersion", "")):
        problems.append("metadata.txt qgisMinimumVersion must look like 3.22")
    return problems


def validate(path: Path) -> list[str]:
    """Problems the plugin repository would reject the zip for; [] when it is fine."""
    path = Path(path)
    if path.stat().st_size > MAX_BYTES:
        return [f"{path.name} is {path.stat().st_size / 1e6:.1f} MB; the limit is 25 MB"]
    try:
        zf = zipfile.ZipFile(path)
    except zipfile.BadZipFile as exc:
        return [f"not a valid zip: {exc}"]
    with zf:
        bad = zf.testzip()
        if bad is not None:
            return [f"corrupt entry {bad}"]
        names = zf.namelist()
        problems = []
        tops = {n.split("/", 1)[0] for n in names}
        if len(tops) != 1:
            problems.append(f"the zip must hold exactly one top folder, not {sorted(tops)}")
        top = sorted(tops)[0] if tops else ""
        if not TOP_RE.match(top):
            problems.append(f"top folder {top!r} is not a valid Python package name")
        for name in names:
            parts = PurePosixPath(name).parts
            if name.startswith("/") or "\\" in name or ".." in parts \
                    or re.match(r"^[A-Za-z]:", name):
                problems.append(f"unsafe path {name!r}")
            if any(p in {"__pycache__", ".git", "__MACOSX"} for p in parts):
                problems.append(f"forbidden folder in {name}")
            if name.endswith((".pyc", ".pyo")):
                problems.append(f"compiled Python file {name}")
            if name.lower().endswith(BINARY_SUFFIXES):
                problems.append(f"bundled binary {name}")
        for required in ("__init__.py", "metadata.txt", "LICENSE"):
            if f"{top}/{required}" not in names:
                problems.append(f"{top}/{required} is missing")
        if f"{top}/__init__.py" in names and \
                "def classFactory" not in zf.read(f"{top}/__init__.py").decode("utf-8", "replace"):
            problems.append("__init__.py defines no classFactory(iface)")
        if f"{top}/metadata.txt" in names:
            metadata = zf.read(f"{top}/metadata.txt").decode("utf-8", "replace")
            problems += check_metadata(metadata)
            icon = re.search(r"^icon=(.+)$", metadata, re.M)
            if icon and f"{top}/{icon.group(1).strip()}" not in names:
                problems.append(f"the icon {icon.group(1).strip()} is not in the zip")
    return problems


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    group = parser.add_mutually_exclusive_group(required=True)
    group.add_argument("--out", type=Path, help="build the zip here, then check it")
    group.add_argument("--check", type=Path, help="only check an existing zip")
    args = parser.parse_args(argv)
    path = build(args.out) if args.out else args.check
    problems = validate(path)
    for problem in problems:
        print(f"REJECTED: {problem}", file=sys.stderr)
    if not problems:
        with zipfile.ZipFile(path) as zf:
            count = len(zf.namelist())
        print(f"{path}: {count} files, {path.stat().st_size / 1e6:.2f} MB, "
              "passes the plugin repository's structure checks")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
