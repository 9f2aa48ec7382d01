"""Models that users download once (issue 17): the catalog, the per-user store and the
getting of a model.  Low in the engine's layers: it knows nothing of networks other than
the transport it is given, nothing of torch, and the predictors above it ask it only
where a verified model lies (``installed_model_dir``).
"""

from .catalog import CatalogError, load_catalog
from .fetch import ModelsError, Progress, describe, get_model, plan_get
from .store import installed_model_dir, model_state, models_dir, remove_model
from .transport import Cancelled, TransportError

__all__ = ["CatalogError", "load_catalog", "ModelsError", "Progress", "describe",
           "get_model", "plan_get", "installed_model_dir", "model_state", "models_dir",
           "remove_model", "Cancelled", "TransportError"]
