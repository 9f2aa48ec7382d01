"""The plugin loads like QGIS loads it, adds and removes its UI, and imports nothing
heavy at start-up; the dependency check names what is missing and installs on click."""

from __future__ import annotations

import ast
import importlib.metadata
import os
import subprocess
import sys
from pathlib import Path

from qgis.core import QgsApplication

from tests.test_plugin_fixtures import ROOT, import_plugin, local_wheel, spin_until

geodecoder = import_plugin()
from geodecoder.services.installer import dependencies as deps  # noqa: E402
from geodecoder.ui.install_panel import InstallPanel  # noqa: E402


def test_class_factory_init_gui_toggle_and_unload(qgis_iface):
    registry = QgsApplication.processingRegistry()
    plugin = geodecoder.classFactory(qgis_iface)
    plugin.initGui()
    try:
        assert registry.providerById("geodecoder") is not None
        assert registry.algorithmById("geodecoder:geolocate_photos") is not None
        assert registry.algorithmById("geodecoder:train_model") is not None
        assert plugin.action.objectName() == "geodecoderShowDock"
        assert plugin.dock is None  # nothing built until the user asks
        plugin.action.trigger()
        assert plugin.dock is not None and plugin.dock.objectName() == "GeoDecoderDock"
        assert not plugin.dock.isHidden()
        plugin.action.trigger()
        assert plugin.dock.isHidden()
    finally:
        plugin.unload()
    assert registry.providerById("geodecoder") is None
    assert plugin.dock is None and plugin.action is None and plugin.service is None


# In a child QGIS: import the plugin package as QGIS does, build it and its Processing provider.
LOAD_PLUGIN = f"""
spec = importlib.util.spec_from_file_location("geodecoder", {str(ROOT / "__init__.py")!r},
                                              submodule_search_locations=[{str(ROOT)!r}])
mod = importlib.util.module_from_spec(spec); sys.modules["geodecoder"] = mod
spec.loader.exec_module(mod)
plugin = mod.classFactory(None)
plugin.initProcessing()
"""


def test_start_up_imports_neither_torch_nor_the_engine():
    """QGIS imports every enabled plugin at start-up: loading ours, registering the
    Processing provider and building the dock must not import torch."""
    code = f"""
import importlib.util, sys
from qgis.core import QgsApplication
app = QgsApplication([], True); app.initQgis()
{LOAD_PLUGIN}from geodecoder.ui.dock import GeolocateDock
dock = GeolocateDock()
light = {{"geodecoder.inference." + m for m in (
    "modeling", "outputs", "modeling.defaults", "outputs.layer_names", "outputs.styles",
    "outputs.writer", "outputs.prediction_row", "hashing", "models", "models.archive",
    "models.catalog", "models.fetch", "models.simple_index", "models.store",
    "models.transport", "geoclip", "geoclip.choice", "geoclip.files",
    "geo", "outputs.precision")}}  # distances and the words of an answer: numpy only  # the models
# store: the standard library only (the Model tab shows each downloadable model's state;
# the model choice stats GeoCLIP's files); its urllib transport is imported when used
heavy = sorted(m for m in sys.modules if m in ("torch", "shapely", "pyproj", "s2sphere")
               or m.startswith("geodecoder.inference.") and m not in light)
print("HEAVY", heavy)
"""
    env = dict(os.environ, QT_QPA_PLATFORM="offscreen")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         timeout=120, env=env, check=False)
    assert out.returncode == 0, out.stderr[-2000:]
    assert "HEAVY []" in out.stdout, out.stdout


def _imported_modules(path: Path) -> set[str]:
    """Every module `path` imports, at any depth of the file, relative imports resolved
    from the plugin root (``services/run/pipeline.py``: ``from ..inference.run`` ->
    ``inference.run``; ``from .i18n import tr`` -> ``services.i18n``)."""
    package = list(path.relative_to(ROOT).parent.parts)
    found = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), filename=str(path))):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = package[:len(package) - node.level + 1] if node.level else []
            module = ".".join(base + ([node.module] if node.module else []))
            found.add(module)
            found.update(f"{module}.{alias.name}".lstrip(".") for alias in node.names)
    return found


# what each part of the plugin must not import: imports point one way, plugin.py -> ui/
# -> services/ -> inference/ and processing_provider/ -> services/; no widget below ui/
FORBIDDEN = {
    "services": ("ui", "processing_provider", "plugin", "qgis.gui", "qgis.PyQt.QtWidgets"),
    "processing_provider": ("ui", "plugin", "qgis.gui", "qgis.PyQt.QtWidgets"),
    "ui": ("processing_provider", "plugin"),
}


def test_imports_point_one_way():
    # the resolver sees relative imports, at module level and inside functions
    assert "services.i18n" in _imported_modules(ROOT / "ui" / "dock.py")
    assert "inference.modeling.defaults" in _imported_modules(
        ROOT / "services" / "run" / "pipeline.py")
    bad = []
    for folder, forbidden in FORBIDDEN.items():
        for path in sorted((ROOT / folder).rglob("*.py")):
            for name in sorted(_imported_modules(path)):
                if any(name == f or name.startswith(f + ".") for f in forbidden):
                    bad.append(f"{path.relative_to(ROOT)} imports {name}")
    assert bad == []


def test_processing_runs_without_the_widget_package(tmp_path, tiny_bundle_dir):
    """qgis_process has no widgets: the provider loads and an algorithm runs with
    ``ui`` unimportable."""
    from tests.photo_factory import make_jpeg

    photo = make_jpeg(tmp_path / "photo.jpg", size=(320, 240), color=(90, 120, 200))
    code = f"""
import importlib.util, sys
from qgis.core import (QgsApplication, QgsProcessingContext, QgsProcessingFeedback)
app = QgsApplication([], False); app.initQgis()
sys.modules["geodecoder.ui"] = None  # any import of the widget package fails
{LOAD_PLUGIN}registry = QgsApplication.processingRegistry()
print("ALGS", sorted(a.id() for a in registry.providerById("geodecoder").algorithms()))
alg = registry.createAlgorithmById("geodecoder:geolocate_photos")
params = {{"INPUT": {str(photo)!r}, "MODEL": {str(tiny_bundle_dir)!r}, "DEVICE": 1,
          "OUTPUT": {str(tmp_path / "out.gpkg")!r}}}
results, ok = alg.run(params, QgsProcessingContext(), QgsProcessingFeedback())
print("RESULTS", ok, sorted(results))
print("UI", sorted(m for m in sys.modules if m.startswith("geodecoder.ui") and sys.modules[m]))
"""
    env = dict(os.environ, QT_QPA_PLATFORM="offscreen")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         timeout=240, env=env, check=False)
    assert out.returncode == 0, out.stderr[-3000:]
    assert ("ALGS ['geodecoder:case_report', 'geodecoder:geolocate_photos', "
            "'geodecoder:train_model']") in out.stdout
    assert "RESULTS True ['OUTPUT']" in out.stdout, out.stdout + out.stderr[-3000:]
    assert "UI []" in out.stdout
    assert (tmp_path / "out.gpkg").is_file()


def test_every_engine_package_is_found_here():
    assert deps.missing_requirements() == []
    assert InstallPanel().isHidden()


SHIPPED_WITH_QGIS = {"qgis", "osgeo", "PyQt5", "sip", "numpy"}
SCANNED = ("inference", "services", "ui", "processing_provider")


def third_party_imports() -> dict[str, set[str]]:
    """Top-level name of every absolute import (module level or inside functions, try
    blocks included) of the plugin's and the engine's modules -> the files importing it;
    the standard library and the plugin's own packages left out."""
    own = {*SCANNED, "geodecoder", "plugin", "tests"}
    found: dict[str, set[str]] = {}
    files = [ROOT / "plugin.py", ROOT / "__init__.py",
             *(f for folder in SCANNED for f in sorted((ROOT / folder).rglob("*.py")))]
    for path in files:
        tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
        for node in ast.walk(tree):
            if isinstance(node, ast.Import):
                names = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                names = [node.module]
            else:
                continue
            for name in names:
                top = name.split(".")[0]
                if top in sys.stdlib_module_names or top in own:
                    continue
                found.setdefault(top, set()).add(str(path.relative_to(ROOT)))
    return found


def _normalised(name: str) -> str:
    return name.lower().replace("_", "-").replace(".", "-")


def test_every_third_party_import_is_a_declared_requirement():
    """What the code imports must be installable from the panel: a package imported only
    by training (tqdm) or through another package's dependencies (scipy) would work in a
    developer's venv and fail for a user."""
    imports = third_party_imports()
    assert {"torch", "PIL", "shapely", "tqdm"} <= set(imports)  # the scan sees them
    declared = {r.module: r for r in deps.REQUIREMENTS}
    undeclared = {name: sorted(files) for name, files in imports.items()
                  if name not in declared and name not in SHIPPED_WITH_QGIS}
    assert undeclared == {}, \
        f"imported but not in services/installer/dependencies.py REQUIREMENTS: {undeclared}"
    # each requirement's pip name is the distribution that provides its import name
    providers = importlib.metadata.packages_distributions()
    for module, requirement in declared.items():
        pip_name = _normalised(requirement.pip_name.split(">")[0].split("=")[0].split("<")[0])
        dists = {_normalised(d) for d in providers.get(module, [])}
        assert not dists or pip_name in dists, (module, requirement.pip_name, dists)


def test_missing_package_is_named_with_an_install_button(tmp_path):
    ghost = deps.Requirement("geodecoder_no_such_module", "geodecoder-no-such-module",
                             "a package that does not exist")
    panel = InstallPanel(requirements=(*deps.REQUIREMENTS, ghost), target=tmp_path / "py")
    assert not panel.isHidden()
    assert panel.missing == [ghost]
    assert "geodecoder_no_such_module" in panel.message.text()
    assert "torch" not in panel.message.text()  # only what is missing
    assert panel.install_button.text().startswith("Install (about ")
    program, args = panel.install_command()
    assert Path(program).name.startswith("python")
    assert args[:3] == ["-m", "pip", "install"]
    assert args[args.index("--target") + 1] == str(tmp_path / "py")
    assert args[-1] == "geodecoder-no-such-module"
    constraints = Path(args[args.index("--constraint") + 1])
    assert constraints.parent == tmp_path  # not on sys.path with the packages
    assert constraints.read_text().strip().startswith("numpy==1.") or \
        constraints.read_text().strip() == "numpy<2"


def test_private_folder_is_per_python_version_and_prepended(tmp_path):
    folder = deps.private_site_dir(str(tmp_path))
    assert folder == tmp_path / "python" / "geodecoder-deps" / \
        f"py{sys.version_info.major}.{sys.version_info.minor}"
    assert not deps.add_private_site_to_path(folder)  # absent: nothing added
    folder.mkdir(parents=True)
    (folder / "geodecoder_probe_module.py").write_text("VALUE = 1\n")
    try:
        assert deps.add_private_site_to_path(folder)
        assert sys.path[0] == str(folder)
        assert deps.is_available("geodecoder_probe_module")
    finally:
        sys.path.remove(str(folder))


def test_install_button_runs_pip_into_the_private_folder(tmp_path):
    wheel = local_wheel(tmp_path)
    requirement = deps.Requirement("gd_fake_dep", str(wheel), "test package")
    target = tmp_path / "deps" / "py"
    panel = InstallPanel(requirements=(requirement,), target=target)
    results = []
    panel.installFinished.connect(results.append)
    try:
        panel.install_button.click()
        assert panel.log.isVisibleTo(panel)
        assert spin_until(lambda: results, seconds=120), panel.log.toPlainText()
        assert results == [True], panel.log.toPlainText()
        assert (target / "gd_fake_dep" / "__init__.py").is_file()
        assert str(target) == sys.path[0]
        assert panel.missing == []
        assert "Done. Installed into" in panel.log.toPlainText()
    finally:
        if str(target) in sys.path:
            sys.path.remove(str(target))
