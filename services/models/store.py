"""What the dock reads of the engine's models store and catalog (the widgets go through
the services, never to the engine): the catalog, a model's state and plan, the text
shown before a download, removal.  No network here: all of it reads local files."""

from __future__ import annotations

from ...inference.models.catalog import Catalog, CatalogError, ModelEntry, load_catalog
from ...inference.models.fetch import GetPlan, describe, human, plan_get
from ...inference.models.store import model_state, remove_model

__all__ = ["Catalog", "CatalogError", "ModelEntry", "load_catalog", "GetPlan", "describe",
           "human", "plan_get", "model_state", "remove_model"]
