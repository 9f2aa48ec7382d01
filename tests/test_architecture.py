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


def _module_name(path: Path, root: Path = REPO) -> str:
    """``inference/prediction/predict.py`` -> ``inference.prediction.predict`` (a package's
    __init__ -> the package)."""
    parts = list(path.relative_to(root).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts = parts[:-1]
    return ".".join(parts) or "__init__"


def _imports(path: Path, root: Path = REPO):
    """Every module `path` imports, absolute names, relative ones resolved, at any depth of
    the file (imports inside functions hide dependencies and cycles just as well)."""
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    package = _module_name(path, root).split(".")
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
    inside a function of a sub-package must be found (a probe tree under tmp, never a
    file in the source tree)."""
    probe = tmp_path / "inference" / "prediction" / "_probe.py"
    probe.parent.mkdir(parents=True)
    probe.write_text("def f():\n    from ...ui import dock\n    from . import predict\n")
    found = set(_imports(probe, tmp_path))
    assert {"ui.dock", "inference.prediction.predict"} <= found, found


def _engine_graph(root: Path = REPO):
    modules = {_module_name(p, root): p for p in (root / "inference").rglob("*.py")}
    graph = {}
    for name, path in modules.items():
        deps = set()
        for imported in _imports(path, root):
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
    assert "inference.prediction.predict" in graph["inference.run"]
    assert _cycles(graph) == []


# The engine's layers, low to high: a package imports only packages of lower layers
# (never one beside it or above), so each layer can be read, tested and replaced on its
# own.  Records and geodesy are what everything speaks; modeling is the network, its
# cells and bundles; the clues and the outputs both build on modeling and know nothing
# of each other (the tracks too: placing photos by time is a clue of its own kind that reads
# no photo file); prediction turns photos into records (applying the clues); GeoCLIP is a
# second predictor built from prediction's parts (inference/geoclip/); the run
# streams predictions into the outputs; training evaluates with the predictor; the
# command line sits on top.  The models store (catalog, downloads, verification) sits
# just above hashing and below modeling, so that any predictor can ask it where a
# verified model lies.  Text clues (writing seen in a photo -> countries) sit just above the
# clues, whose country constraint they build.  A new package must be placed here.
LAYERS = (
    {"inference", "inference.records", "inference.geo", "inference.hashing"},
    {"inference.models"},
    {"inference.modeling"},
    {"inference.constraints", "inference.outputs", "inference.tracks"},
    {"inference.textclue"},
    {"inference.prediction"},
    {"inference.geoclip"},
    {"inference.run", "inference.training"},
    {"inference.cli"},
    {"inference.__main__"},
)


def _package(module: str) -> str:
    return ".".join(module.split(".")[:2])


def _layer_violations(graph, layers=LAYERS):
    rank = {pkg: i for i, layer in enumerate(layers) for pkg in layer}
    unplaced = sorted({_package(m) for m in graph} - set(rank))
    wrong = sorted(f"{m} -> {d}" for m, deps in graph.items() for d in deps
                   if _package(m) != _package(d) and _package(m) in rank
                   and _package(d) in rank and rank[_package(d)] >= rank[_package(m)])
    return unplaced, wrong


def test_the_engine_keeps_its_layers_at_package_level():
    graph = _engine_graph()
    unplaced, wrong = _layer_violations(graph)
    assert unplaced == [], f"place these packages in LAYERS: {unplaced}"
    assert wrong == [], wrong
    packages = {}
    for m, deps in graph.items():
        packages.setdefault(_package(m), set()).update(
            _package(d) for d in deps if _package(d) != _package(m))
    assert _cycles(packages) == []


def test_the_layer_check_sees_an_upward_and_a_sideways_import(tmp_path):
    """A clue importing the outputs (sideways) and the outputs importing prediction
    (upwards), in a probe tree, are both reported."""
    for rel, text in (("inference/__init__.py", ""),
                      ("inference/constraints/__init__.py", ""),
                      ("inference/constraints/clue.py", "from ..outputs import table\n"),
                      ("inference/outputs/__init__.py", ""),
                      ("inference/outputs/table.py",
                       "def f():\n    from ..prediction.predict import x\n"),
                      ("inference/prediction/__init__.py", ""),
                      ("inference/prediction/predict.py", "x = 1\n")):
        (tmp_path / rel).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / rel).write_text(text)
    unplaced, wrong = _layer_violations(_engine_graph(tmp_path))
    assert unplaced == []
    assert wrong == ["inference.constraints.clue -> inference.outputs",
                     "inference.constraints.clue -> inference.outputs.table",
                     "inference.outputs.table -> inference.prediction.predict"]


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
