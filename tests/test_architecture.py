"""Rules of the code base that a reviewer (and the plugin repository's gate) checks."""

from __future__ import annotations

import ast
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
PLUGIN_CODE = ["inference", "services", "ui", "processing_provider", "plugin.py", "__init__.py"]


def _module_name(path: Path) -> str:
    """``inference/prediction/predict.py`` -> ``inference.prediction.predict`` (a package's
    __init__ -> the package)."""
    parts = list(path.relative_to(REPO).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts = parts[:-1]
    return ".".join(parts) or "__init__"


def _imports(path: Path):
    """Every module `path` imports, absolute names, relative ones resolved, at any depth of
    the file (imports inside functions hide dependencies and cycles just as well)."""
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    package = _module_name(path).split(".")
    if path.name != "__init__.py":
        package = package[:-1]
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            yield from (a.name for a in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level == 0:
                base = node.module or ""
            else:
                up = package[:len(package) - (node.level - 1)] if node.level > 1 else package
                base = ".".join(up + ([node.module] if node.module else []))
            if node.module or node.level == 0:
                yield base
            for alias in node.names:  # "from . import x" and "from .pkg import module"
                yield f"{base}.{alias.name}" if base else alias.name


def _top(name: str) -> str:
    return name.split(".")[0]


def test_the_engine_never_imports_qgis_or_the_plugin():
    bad = []
    plugin_side = {"qgis", "ui", "services", "plugin", "processing_provider", "PyQt5"}
    for path in (REPO / "inference").rglob("*.py"):
        for name in _imports(path):
            if _top(name) in plugin_side:
                bad.append(f"{path.relative_to(REPO)} imports {name}")
    assert not bad, bad


def test_the_import_resolver_sees_relative_and_function_level_imports(tmp_path):
    """The check above is only as good as the resolver: a hidden ``from ...ui import x``
    inside a function of a sub-package must be found."""
    probe = REPO / "inference" / "prediction" / "_probe_for_architecture_test.py"
    probe.write_text("def f():\n    from ...ui import dock\n    from . import predict\n")
    try:
        found = set(_imports(probe))
    finally:
        probe.unlink()
    assert {"ui.dock", "inference.prediction.predict"} <= found, found


def _engine_graph():
    modules = {_module_name(p): p for p in (REPO / "inference").rglob("*.py")}
    graph = {}
    for name, path in modules.items():
        deps = set()
        for imported in _imports(path):
            while imported and imported not in modules:  # "inference.x.y" -> "inference.x"
                imported = imported.rpartition(".")[0]
            if imported and imported != name and imported != "inference":
                deps.add(imported)
        graph[name] = deps
    return graph


def _cycles(graph):
    """Strongly connected components of more than one module (Tarjan)."""
    index, low, stack, on, out, counter = {}, {}, [], set(), [], [0]

    def visit(v):
        index[v] = low[v] = counter[0]
        counter[0] += 1
        stack.append(v)
        on.add(v)
        for w in graph.get(v, ()):
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            comp = []
            while True:
                w = stack.pop()
                on.discard(w)
                comp.append(w)
                if w == v:
                    break
            if len(comp) > 1:
                out.append(sorted(comp))

    for v in sorted(graph):
        if v not in index:
            visit(v)
    return out


def test_the_engine_has_no_import_cycle():
    graph = _engine_graph()
    # the graph is really built
    assert "inference.prediction.predict" in graph["inference.prediction.run"]
    assert _cycles(graph) == []


def test_the_cycle_finder_finds_a_cycle():
    assert _cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]


def test_the_engine_runs_without_qgis_on_the_path():
    code = ("import sys; sys.modules['qgis'] = None\n"
            "import inference.prediction.predict, inference.outputs.gpkg\n"
            "import inference.modeling.bundle, inference.training.evaluate\n"
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
