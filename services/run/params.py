"""What the dock asks for: one frozen object handed from the widgets to the run service."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Optional

from ..clues.request import ConstraintRequest, TrackRequest

DEVICES = ("auto", "cpu", "gpu")


def device_labels(short: bool = False) -> list[str]:
    """What the dock (`short`: it is narrow; its tooltip says what GPU means) and the
    Processing algorithms show for DEVICES, in that order.  The engine's "gpu" is
    whichever GPU PyTorch sees: CUDA, else Apple MPS; "auto" falls back to the CPU.
    The device actually used is reported after each run."""
    from ..i18n import tr

    if short:
        return [tr("Auto (GPU if any, else CPU)"), tr("CPU"), tr("GPU (CUDA or Apple MPS)")]
    return [tr("Auto (CUDA or Apple MPS if available, else CPU)"), tr("CPU"),
            tr("GPU (CUDA or Apple MPS)")]


@dataclass(frozen=True)
class GeolocateParams:
    """A run request.  Paths are absolute; ``bundle_path`` None means the default model,
    ``output_path`` None means a new GeoPackage in ``runs_dir`` (None: the runs folder
    of the service, services/run/runs_folder.py)."""

    photos: tuple[str, ...]
    bundle_path: Optional[str] = None
    device: str = "auto"  # one of DEVICES
    top_k: int = 5
    batch_size: int = 8
    attention: bool = True  # keep the cross-attention maps for "Why here?"
    output_path: Optional[str] = None
    runs_dir: Optional[str] = None
    # the dock's clues as plain data; the run service makes them into ``constraints``
    clues: ConstraintRequest = field(default_factory=ConstraintRequest)
    # the engine's inference.constraints.Constraints (areas from services.clues.qgis_areas
    # or the country list, the sun); None or empty: no constraint
    constraints: Optional[Any] = None
    # the dock's "Track" section (issue 18); the service makes it into ``track_options``,
    # the engine's prediction.placing.TrackOptions (None: photos are placed by the model)
    track: TrackRequest = field(default_factory=TrackRequest)
    track_options: Optional[Any] = None

    def __post_init__(self):
        if self.device not in DEVICES:
            raise ValueError(f"device must be one of {DEVICES}, not {self.device!r}")
        if self.top_k < 1 or self.batch_size < 1:
            raise ValueError("top_k and batch_size must be at least 1")
