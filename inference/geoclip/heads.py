"""GeoCLIP's heads: the image MLP, the location encoder and the logit scale.

Re-implemented from the published maths (paper Sec. 3, the ``geoclip`` 1.3.0 package)
rather than imported: ``geoclip`` imports pandas, torchvision, geopy and transformers
at import time (its ``__init__`` pulls in its training code), none of which a
prediction needs.  The parameter names are the package's, so its ``.pth`` state dicts
load strictly (``torch.load(weights_only=True)``: tensors only, no pickled code).

Location encoder: a coordinate (lat, lon in degrees) is projected with the Equal Earth
projection (Šavrič et al. 2018; scaled by SF/180 as GeoCLIP does), then for each of
three fixed scales sigma in (2^0, 2^4, 2^8) a random-Fourier-feature encoding
gamma(v) = [cos(2 pi B v), sin(2 pi B v)] with B (256 x 2) drawn once from N(0, sigma^2)
and stored in the weights (``LocEnc{i}.capsule.0.b``), then an MLP 512 -> 1024 -> 1024
-> 1024 -> 512 (ReLU); the three capsules' outputs are summed.  The arithmetic is kept
in the package's order so the gallery embeddings match its own to float rounding
(tests/test_geoclip.py).
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Sequence

import torch
from torch import nn

# Equal Earth projection (Šavrič, Patterson & Jenny 2018), as GeoCLIP uses it
A1, A2, A3, A4 = 1.340264, -0.081106, 0.000893, 0.003796
SF = 66.50336
SIGMAS = (2 ** 0, 2 ** 4, 2 ** 8)
RFF_SIZE = 256


def equal_earth(latlon: torch.Tensor) -> torch.Tensor:
    """(N, 2) degrees -> (N, 2) projected and scaled coordinates (GeoCLIP's input)."""
    lat = torch.deg2rad(latlon[:, 0])
    lon = torch.deg2rad(latlon[:, 1])
    root3 = torch.sqrt(torch.tensor(3.0))
    theta = torch.asin((root3 / 2) * torch.sin(lat))
    denom = 3 * (9 * A4 * theta ** 8 + 7 * A3 * theta ** 6 + 3 * A2 * theta ** 2 + A1)
    x = (2 * root3 * lon * torch.cos(theta)) / denom
    y = A4 * theta ** 9 + A3 * theta ** 7 + A2 * theta ** 3 + A1 * theta
    return (torch.stack((x, y), dim=1) * SF) / 180


class _Fourier(nn.Module):
    """Random Fourier features with a fixed, stored matrix ``b`` (Tancik et al. 2020)."""

    def __init__(self, size: int = RFF_SIZE):
        super().__init__()
        self.b = nn.Parameter(torch.zeros(size, 2), requires_grad=False)

    def forward(self, v: torch.Tensor) -> torch.Tensor:
        vp = 2 * math.pi * v @ self.b.T
        return torch.cat((torch.cos(vp), torch.sin(vp)), dim=-1)


class _Capsule(nn.Module):
    def __init__(self):
        super().__init__()
        self.capsule = nn.Sequential(_Fourier(), nn.Linear(2 * RFF_SIZE, 1024), nn.ReLU(),
                                     nn.Linear(1024, 1024), nn.ReLU(),
                                     nn.Linear(1024, 1024), nn.ReLU())
        self.head = nn.Sequential(nn.Linear(1024, 512))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(self.capsule(x))


class LocationEncoder(nn.Module):
    """(N, 2) lat/lon degrees -> (N, 512) location features (not normalised)."""

    def __init__(self, n_scales: int = len(SIGMAS)):
        super().__init__()
        self.n = n_scales
        for i in range(n_scales):
            self.add_module(f"LocEnc{i}", _Capsule())

    def forward(self, latlon: torch.Tensor) -> torch.Tensor:
        x = equal_earth(latlon)
        out = torch.zeros(x.shape[0], 512, device=x.device)
        for i in range(self.n):
            out += self._modules[f"LocEnc{i}"](x)
        return out


def image_mlp(width: int = 768) -> nn.Sequential:
    """GeoCLIP's image head on CLIP's projected features: 768 -> 768 -> 512."""
    return nn.Sequential(nn.Linear(width, 768), nn.ReLU(), nn.Linear(768, 512))


class Heads(nn.Module):
    def __init__(self, mlp: nn.Sequential, location: LocationEncoder, logit_scale: torch.Tensor):
        super().__init__()
        self.mlp = mlp
        self.location = location
        self.register_buffer("logit_scale", logit_scale.detach().float().reshape(()))


def _state(path: Path):
    try:
        return torch.load(str(path), map_location="cpu", weights_only=True)
    except Exception as exc:  # noqa: BLE001 - a corrupt or foreign file, said in one line
        raise RuntimeError(f"cannot read GeoCLIP weights {path}: {exc}") from exc


def load_heads(paths: Sequence[Path]) -> Heads:
    """(image MLP, location encoder, logit scale) ``.pth`` files -> Heads, strictly."""
    mlp_path, loc_path, scale_path = (Path(p) for p in paths)
    mlp = image_mlp()
    mlp.load_state_dict(_state(mlp_path), strict=True)
    loc = LocationEncoder()
    loc.load_state_dict(_state(loc_path), strict=True)
    scale = _state(scale_path)
    if not isinstance(scale, torch.Tensor) or scale.numel() != 1:
        raise RuntimeError(f"{scale_path}: not GeoCLIP's logit scale (one number)")
    return Heads(mlp.eval(), loc.eval(), scale).eval()
