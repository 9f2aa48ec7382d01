"""Layers of a finished run: read from its GeoPackage into one layer-tree group.

Runs on the main thread only (``QgsTask.finished``).  Styles come from the
GeoPackage's ``layer_styles`` table, which QGIS applies as each layer's default style,
so a colleague who opens the file gets the same map; a layer without a stored style
gets the shipped QML.

What is switched on is what an investigator reads first: the predictions, the 50 % /
90 % regions and the finest cells shaded by probability.  The candidates, the coarser
cell levels (light outlines) and the probability surface are there, switched off.

A run of more than ``PER_PHOTO_ABOVE`` photos draws its layers about single photos
(candidates, cells, surface, regions) for the photo shown in the dock only: every
photo's regions at once cost about 15 ms a photo to draw with the default model (four
minutes for 10,000 photos, measured by benchmarks/bench_qgis.py), and hundreds of
overlapping regions, each a third of the globe, show nothing anyway.  The layers keep
all their features (attribute table, exports, Processing); only their renderer is
filtered, on a layer variable that the run service sets when it shows a result.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Optional

from osgeo import ogr
from qgis.core import (QgsExpressionContextUtils, QgsField, QgsLayerTreeGroup, QgsProject,
                       QgsRuleBasedRenderer, QgsVectorLayer)
from qgis.PyQt.QtCore import QVariant

from ..i18n import tr
from ..scenes import scene_expression, scene_names_of_run, uses_s3_codes

from ...inference.outputs.styles import style_path
from ...inference.outputs.layer_names import (CANDIDATES, CELLS_PREFIX, CONSTRAINTS,  # noqa: F401
                                     FAILURES, PREDICTIONS, REGIONS, RUN_INFO, SURFACE)

SCENE_NAME_FIELD = "scene_name"
PER_PHOTO_ABOVE = 200  # photos; larger runs draw the shown photo's regions and cells
SHOWN_PHOTO = "geodecoder_photo"  # layer variable: photo_path of the result shown
SHOWN_PHOTO_ONLY = "geodecoder/shown_photo_only"  # custom property of such a layer
SHOWN_PHOTO_FIRST = "geodecoder/shown_photo_first"  # a smaller run's regions: the shown
# photo's drawn as styled, the others faint (issue 20.4)
FAINT_OPACITY = 0.2  # the regions of the photos not shown


@dataclass
class RunLayers:
    group: QgsLayerTreeGroup
    predictions: Optional[QgsVectorLayer] = None
    candidates: Optional[QgsVectorLayer] = None
    cells: list = field(default_factory=list)  # coarse to fine
    surface: Optional[QgsVectorLayer] = None
    regions: Optional[QgsVectorLayer] = None
    failures: Optional[QgsVectorLayer] = None
    scene_names: Optional[list] = None  # the bundle's scene names, when known
    constraints: Optional[QgsVectorLayer] = None  # only for a run that had constraints

    def all(self) -> list:
        return [lyr for lyr in (self.predictions, self.candidates, *self.cells, self.surface,
                                self.regions, self.failures, self.constraints)
                if lyr is not None]


def gpkg_layer_names(path: str) -> list[str]:
    ds = ogr.Open(str(path))
    if ds is None:
        return []
    try:
        return [ds.GetLayer(i).GetName() for i in range(ds.GetLayerCount())]
    finally:
        ds = None


def is_run_file(path: str) -> bool:
    """A GeoPackage written by a GeoDecoder run (a Predictions and a run_info table)."""
    if not str(path).lower().endswith(".gpkg"):
        return False
    return {PREDICTIONS, RUN_INFO} <= set(gpkg_layer_names(path))


def has_features(path: str, name: str) -> bool:
    ds = ogr.Open(str(path))
    if ds is None:
        return False
    try:
        layer = ds.GetLayerByName(name)
        return layer is not None and layer.GetFeatureCount() > 0
    finally:
        ds = None


def cell_levels(names: list[str]) -> list[int]:
    return sorted(int(n[len(CELLS_PREFIX):]) for n in names
                  if n.startswith(CELLS_PREFIX) and n[len(CELLS_PREFIX):].isdigit())


def open_layer(path: str, name: str, title: str,
               num_levels: Optional[int] = None) -> Optional[QgsVectorLayer]:
    """One layer of the GeoPackage, with its stored style (or the shipped one)."""
    layer = QgsVectorLayer(f"{path}|layername={name}", title, "ogr")
    if not layer.isValid():
        return None
    stored = layer.listStylesInDatabase()
    has_stored = bool(stored and stored[0] > 0)
    qml = style_path(name, num_levels)
    if not has_stored and qml.is_file():
        layer.loadNamedStyle(str(qml))
    return layer


def default_group_name() -> str:
    return tr("GeoDecoder {time}").format(time=datetime.now().strftime("%Y-%m-%d %H:%M:%S"))


def add_scene_name_field(layer: QgsVectorLayer, scene_names) -> None:
    """A virtual ``scene_name`` field giving the Places365 S3 codes as words (indoor /
    natural / urban), for the attribute table and the map tip (which falls back to
    ``scene``), added only to a run whose scenes are those codes: the ``scene`` field holds
    words already for every other bundle.  An expression field makes the canvas's render
    threads build the project's expression scope while the main thread changes the project
    (QGIS 3.22 is not thread-safe there: the one-process test crash, docs/KNOWN_ISSUES.md),
    so the layers carry none unless it translates something."""
    if not uses_s3_codes(scene_names):
        return
    if layer.fields().indexOf("scene") < 0 or layer.fields().indexOf(SCENE_NAME_FIELD) >= 0:
        return
    layer.addExpressionField(scene_expression(scene_names),
                             QgsField(SCENE_NAME_FIELD, QVariant.String))


def load_run_layers(path: str, project: Optional[QgsProject] = None,
                    group_name: Optional[str] = None) -> RunLayers:
    """Add the run's layers under a new top group: Predictions, Candidates (off),
    Regions, the Constraints (only when the run had any), a "Cells" subgroup (one layer
    per level, coarse first, only the finest on), the probability surface (off: it hides
    what is under it) and the Failures table."""
    project = project or QgsProject.instance()
    root = project.layerTreeRoot()
    group = root.insertGroup(0, group_name or default_group_name())
    names = gpkg_layer_names(path)
    levels = cell_levels(names)
    out = RunLayers(group, scene_names=scene_names_of_run(path))

    def add(name: str, title: str, parent: QgsLayerTreeGroup, visible: bool = True):
        if name not in names:
            return None
        layer = open_layer(path, name, title, len(levels) if levels else None)
        if layer is None:
            return None
        project.addMapLayer(layer, False)
        node = parent.addLayer(layer)
        node.setItemVisibilityChecked(visible)
        return layer

    out.predictions = add(PREDICTIONS, tr("Predictions"), group)
    if out.predictions is not None:
        add_scene_name_field(out.predictions, out.scene_names)
    out.candidates = add(CANDIDATES, tr("Candidates"), group, visible=False)
    out.regions = add(REGIONS, tr("Regions (50% / 90%)"), group)
    if CONSTRAINTS in names and has_features(path, CONSTRAINTS):  # what framed the answer
        out.constraints = add(CONSTRAINTS, tr("Constraints"), group)
    if levels:
        cells_group = group.addGroup(tr("Cells"))
        for level in levels:
            layer = add(f"{CELLS_PREFIX}{level}", cell_level_title(level, levels), cells_group,
                        visible=level == levels[-1])
            if layer is not None:
                out.cells.append(layer)
    out.surface = add(SURFACE, tr("Probability surface"), group, visible=False)
    out.failures = add(FAILURES, tr("Failures"), group)
    if out.predictions is not None and out.predictions.featureCount() > PER_PHOTO_ABOVE:
        for layer in (out.candidates, *out.cells, out.surface, out.regions):
            if layer is not None:
                draw_shown_photo_only(layer)
    elif out.regions is not None:
        draw_shown_photo_first(out.regions)
    return out


def _shown_rule() -> QgsRuleBasedRenderer.Rule:
    return QgsRuleBasedRenderer.Rule(None, 0, 0, f'"photo_path" = @{SHOWN_PHOTO}',
                                     tr("Photo shown in the dock"))


def draw_shown_photo_first(layer: QgsVectorLayer) -> None:
    """The shown photo's regions as the run's style draws them, every other photo's
    faint (``FAINT_OPACITY``) under them: the selected photo's regions stand out of the
    patchwork of a run's photos, and before any photo is shown the run reads at a glance
    as faint outlines.  (Runs of more than ``PER_PHOTO_ABOVE`` photos draw the shown
    photo's only: ``draw_shown_photo_only``.)"""
    rules = QgsRuleBasedRenderer.convertFromRenderer(layer.renderer())
    if rules is None:
        return
    root = rules.rootRule()
    shown = _shown_rule()
    # a filter of its own, not an ELSE rule: every reader of the renderer (the legend,
    # symbolsForFeature) then agrees with what is drawn
    others = QgsRuleBasedRenderer.Rule(
        None, 0, 0, f'coalesce("photo_path", \'\') <> coalesce(@{SHOWN_PHOTO}, \'\')',
        tr("Other photos of the run"))
    for child in list(root.children()):
        faint = child.clone()
        for rule in [faint, *faint.descendants()]:
            if rule.symbol() is not None:
                rule.symbol().setOpacity(FAINT_OPACITY * rule.symbol().opacity())
        others.appendChild(faint)
        shown.appendChild(root.takeChild(child))
    root.appendChild(shown)
    root.appendChild(others)
    layer.setRenderer(rules)
    layer.setCustomProperty(SHOWN_PHOTO_FIRST, True)
    QgsExpressionContextUtils.setLayerVariable(layer, SHOWN_PHOTO, "")


def draw_shown_photo_only(layer: QgsVectorLayer) -> None:
    """The layer's style under one rule: only the features of the photo shown in the
    dock (the ``geodecoder_photo`` variable; none until a result is shown).  QGIS hands
    the rule to OGR as SQL, and the GeoPackage's index on ``photo_path`` fetches just
    those features."""
    rules = QgsRuleBasedRenderer.convertFromRenderer(layer.renderer())
    if rules is None:
        return
    root = rules.rootRule()
    shown = _shown_rule()
    for child in list(root.children()):
        shown.appendChild(root.takeChild(child))
    root.appendChild(shown)
    layer.setRenderer(rules)
    layer.setCustomProperty(SHOWN_PHOTO_ONLY, True)
    # no photo yet: an empty path, not NULL, which OGR could not be asked for (QGIS then
    # read every feature to test it: 3 to 6 s for the regions of 10,000 photos)
    QgsExpressionContextUtils.setLayerVariable(layer, SHOWN_PHOTO, "")


def show_photo_in_layers(layers: RunLayers, photo_path: str) -> None:
    """The layers that draw the shown photo only (or first) now draw `photo_path`'s
    features (first)."""
    for layer in layers.all():
        if layer.customProperty(SHOWN_PHOTO_ONLY, False) or \
                layer.customProperty(SHOWN_PHOTO_FIRST, False):
            QgsExpressionContextUtils.setLayerVariable(layer, SHOWN_PHOTO, photo_path)
            layer.triggerRepaint()


def source_parts(layer) -> tuple[str, str]:
    """(file path, GeoPackage layer name) of an OGR layer's source; ("", "") otherwise."""
    if not isinstance(layer, QgsVectorLayer) or layer.providerType() != "ogr":
        return "", ""
    path, _, rest = layer.source().partition("|")
    for part in rest.split("|"):
        if part.startswith("layername="):
            return path, part[len("layername="):]
    return path, ""


def run_layers_in_group(group: QgsLayerTreeGroup,
                        predictions: QgsVectorLayer) -> RunLayers:
    """The run around `predictions`, found again in its group (a run reopened with its
    project, or added by an earlier session): its layers read the same GeoPackage."""
    path = source_parts(predictions)[0]
    out = RunLayers(group, predictions=predictions, scene_names=scene_names_of_run(path))
    cells = []
    for node in group.findLayers():
        layer = node.layer()
        layer_path, name = source_parts(layer)
        if layer_path != path or layer is predictions:
            continue
        if name.startswith(CELLS_PREFIX) and name[len(CELLS_PREFIX):].isdigit():
            cells.append((int(name[len(CELLS_PREFIX):]), layer))
        elif name in (CANDIDATES, SURFACE, REGIONS, FAILURES, CONSTRAINTS):
            setattr(out, name, layer)
    out.cells = [layer for _level, layer in sorted(cells, key=lambda c: c[0])]
    return out


def runs_in_project(project: QgsProject) -> list[RunLayers]:
    """Every run in the project's layer tree, top first: a Predictions layer of a
    GeoPackage, with the layers of the same file in its group."""
    runs = []
    for node in project.layerTreeRoot().findLayers():
        layer = node.layer()
        if source_parts(layer)[1] != PREDICTIONS:
            continue
        parent = node.parent()
        group = parent if isinstance(parent, QgsLayerTreeGroup) else project.layerTreeRoot()
        runs.append(run_layers_in_group(group, layer))
    return runs


def collapse_other_runs(project: QgsProject, keep: RunLayers) -> None:
    """Older runs fold away: every run group but `keep`'s is collapsed, and their
    regions and cells are switched off, so a new run's are not buried under (or mixed
    with) the patchwork of older ones."""
    keep_id = keep.predictions.id() if keep.predictions is not None else None
    for run in runs_in_project(project):
        if run.predictions.id() != keep_id and run.group.parent() is not None:
            run.group.setExpanded(False)
            _set_visible(project, [run.regions, *run.cells], False)
    keep.group.setExpanded(True)
    bring_forward(project, keep)


def bring_forward(project: QgsProject, run: RunLayers) -> None:
    """`run`'s regions switched on: a new run (added on top of the layer tree, see
    load_run_layers) or the run of a result picked on the map."""
    _set_visible(project, [run.regions], True)


def _set_visible(project: QgsProject, layers, visible: bool) -> None:
    root = project.layerTreeRoot()
    for layer in layers:
        node = root.findLayer(layer.id()) if layer is not None else None
        if node is not None:
            node.setItemVisibilityChecked(visible)


def cell_level_title(level: int, levels: list[int]) -> str:
    title = tr("Cells level {level}").format(level=level)
    if len(levels) > 1 and level == levels[0]:
        title += tr(" (coarsest)")
    elif level == levels[-1]:
        title += tr(" (finest)")
    return title
