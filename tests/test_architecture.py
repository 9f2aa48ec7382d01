"""Rules of the code base that a reviewer (and the plugin repository's gate) checks."""

from __future__ import annotations

import ast
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
PLUGIN_CODE = ["inference", "ui", "processing_provider", "plugin.py", "__init__.py"]


def _imports(path: Path):
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            yield from (a.name for a in node.names)
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            yield node.module


def test_the_engine_never_imports_qgis_or_the_plugin():
    bad = []
    for path in (REPO / "inference").rglob("*.py"):
        for name in _imports(path):
            if name.split(".")[0] in {"qgis", "ui", "plugin", "processing_provider", "PyQt5"}:
                bad.append(f"{path.relative_to(REPO)} imports {name}")
    assert not bad, bad


def test_the_engine_runs_without_qgis_on_the_path():
    code = ("import sys; sys.modules['qgis'] = None\n"
            "import inference.predict, inference.gpkg, inference.bundle, inference.evaluate\n"
            "print('ok')")
    res = subprocess.run([sys.executable, "-c", code], cwd=REPO, capture_output=True, text=True)
    assert res.returncode == 0 and "ok" in res.stdout, res.stderr


def test_no_pickle_loading_and_no_torch_load_without_weights_only():
    for path in REPO.rglob("*.py"):
        if ".venv" in path.parts:
            continue
        text = path.read_text(encoding="utf-8")
        tree = ast.parse(text)
        for node in ast.walk(tree):
            if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute):
                if node.func.attr == "load" and getattr(node.func.value, "id", "") == "torch":
                    kws = {k.arg: k.value for k in node.keywords}
                    assert "weights_only" in kws and getattr(kws["weights_only"], "value", None) \
                        is True, f"{path}:{node.lineno} torch.load without weights_only=True"
        assert "import pickle" not in text or path.parts[-2] == "tests", path


@pytest.mark.skipif(not shutil.which("bandit", path=str(Path(sys.executable).parent)),
                    reason="bandit is not installed in this environment")
def test_bandit_finds_nothing_of_medium_severity_or_worse():
    targets = [t for t in PLUGIN_CODE if (REPO / t).exists()]
    res = subprocess.run([str(Path(sys.executable).parent / "bandit"), "-q", "-r", "-ll",
                          *targets], cwd=REPO, capture_output=True, text=True)
    assert res.returncode == 0, res.stdout + res.stderr
