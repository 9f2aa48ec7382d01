"""What Processing does to the outputs it loads: the dock's names, styles and defaults.

A ``QgsProcessingLayerPostProcessorInterface`` is handed to QGIS with the output's
layer-to-load details (``LayerDetails.setPostProcessor``), and QGIS applies it once, when
it loads that output after a successful run.  QGIS holds the C++ object, but the Python
subclass must stay referenced from Python until then, or it can be collected first and
QGIS then calls an empty interface.  So each post-processor is kept alive (``keep``)
from the moment it is attached until it has been applied, or until its run failed
(Processing loads nothing then: ``release``).  Nothing accumulates over a QGIS session:
``alive()`` is back to 0 after every run.
"""

from __future__ import annotations

from qgis.core import (
    QgsFeatureRequest,
    QgsProcessingLayerPostProcessorInterface,
    QgsProject,
    QgsVectorLayer,
)

from ..inference.outputs.layer_names import CELLS_PREFIX
from ..inference.outputs.styles import style_path
from ..services.i18n import tr
from ..services.run.layers import add_scene_name_field, cell_level_title

_ALIVE: dict[int, QgsProcessingLayerPostProcessorInterface] = {}  # id -> not yet applied


def alive() -> int:
    """How many post-processors are attached and not applied yet."""
    return len(_ALIVE)


class OutputPostProcessor(QgsProcessingLayerPostProcessorInterface):
    """Applied once to the output it is attached to, then let go (see module docstring)."""

    def attach(self, context, dest_id: str) -> bool:
        """Attach to output `dest_id` if Processing will load it; True if attached."""
        if not context.willLoadLayerOnCompletion(dest_id):
            return False
        _ALIVE[id(self)] = self
        context.layerToLoadOnCompletionDetails(dest_id).setPostProcessor(self)
        return True

    def release(self) -> None:
        _ALIVE.pop(id(self), None)

    def postProcessLayer(self, layer, context, feedback):  # noqa: N802 - QGIS's name
        try:
            self.apply(layer)
        finally:
            self.release()

    def apply(self, layer) -> None:
        raise NotImplementedError


def tree_node(layer):
    """The project of `layer` and its node in that project's layer tree (None if absent)."""
    project = layer.project() or QgsProject.instance()
    return project, project.layerTreeRoot().findLayer(layer.id())


class StylePostProcessor(OutputPostProcessor):
    """Applies the shipped QML (renderer, map tip) and the dock's name and default
    visibility to an output loaded into the project."""

    def __init__(self, style_name: str, title: str = "", visible: bool = True,
                 scene_names=None):
        super().__init__()
        self.style_name, self.title, self.visible = style_name, title, visible
        self.scene_names = scene_names

    def apply(self, layer) -> None:
        qml = style_path(self.style_name)
        if qml.is_file():
            layer.loadNamedStyle(str(qml))
        if self.title:
            layer.setName(self.title)
        if self.scene_names is not None:
            add_scene_name_field(layer, self.scene_names)
        _project, node = tree_node(layer)
        if node is not None:
            node.setItemVisibilityChecked(self.visible)
        layer.triggerRepaint()


class CellsPostProcessor(OutputPostProcessor):
    """The cells output (every level in one table) shown as the dock shows it: one layer
    per level in a "Cells" group, coarse first; only the finest is on."""

    def apply(self, layer) -> None:
        idx = layer.fields().indexOf("level")
        levels = sorted(int(v) for v in layer.uniqueValues(idx) if v is not None) \
            if idx >= 0 else []
        if not levels:
            return
        project, node = tree_node(layer)
        coarse = []
        for level in levels[:-1]:
            part = self._level_layer(layer, level, cell_level_title(level, levels))
            if part is not None:
                part.loadNamedStyle(str(style_path(CELLS_PREFIX + str(level))))
                coarse.append(part)
        finest = levels[-1]
        layer.setSubsetString(f'"level" = {finest}')
        layer.setName(cell_level_title(finest, levels))
        layer.loadNamedStyle(str(style_path(CELLS_PREFIX + str(finest), finest + 1)))
        layer.triggerRepaint()
        if node is None:
            return
        parent = node.parent()
        group = parent.insertGroup(parent.children().index(node), tr("Cells"))
        for part in coarse:
            project.addMapLayer(part, False)
            group.addLayer(part).setItemVisibilityChecked(False)
        group.addChildNode(node.clone())
        parent.removeChildNode(node)

    @staticmethod
    def _level_layer(layer, level: int, title: str):
        """The features of one level as a layer of its own: the same file filtered, or
        for a temporary (memory) output a copy of them."""
        where = f'"level" = {level}'
        if layer.providerType() == "memory":
            part = layer.materialize(QgsFeatureRequest().setFilterExpression(where))
            part.setName(title)
            return part
        part = QgsVectorLayer(layer.source(), title, layer.providerType())
        if not part.isValid() or not part.setSubsetString(where):
            return None
        return part
