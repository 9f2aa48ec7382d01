"""How long a run will take, said before it starts (issue 17, issue 20 item 10).

Before the first photo there is nothing to measure, so the estimate comes from a stored
rate per model and device, measured by ``make bench`` (README "Speed" and "The strong
model"); once photos are done the dock's ``RunClock`` measures the real rate and replaces
it.  Only CPU rates are stored: no GPU was available to measure, and a guess would be
worse than saying nothing.

The stored rates were measured on this project's 2-core machine: GeoCLIP's 2.23 s per
photo end to end with the machine nearly idle (1-minute load 1.2; a random ViT-L/14 of
the real size, 1024 px JPEGs, ``benchmarks/bench_geoclip.py``), the default model's
18.7 photos/s on 12 MP JPEGs.  A faster CPU does better; the estimate says what it is
based on.
"""

from __future__ import annotations

from typing import Optional

GEOCLIP, GEODECODER = "geoclip", "geodecoder"
CPU_SECONDS_PER_PHOTO = {GEOCLIP: 2.23, GEODECODER: 1 / 18.7}
WORTH_SAYING_S = 60.0  # a run shorter than this needs no warning


def stored_seconds_per_photo(model: str, device: str) -> Optional[float]:
    """The stored rate for ``model`` (GEOCLIP or GEODECODER) on ``device`` ("cpu",
    "auto" when no GPU is known, "gpu"); None where nothing was measured."""
    if device == "gpu":
        return None
    return CPU_SECONDS_PER_PHOTO.get(model)


def expected_seconds(n_photos: int, model: str, device: str) -> Optional[float]:
    rate = stored_seconds_per_photo(model, device)
    return None if rate is None else n_photos * rate


def rate_text(photos_per_second: float) -> str:
    """"2.3 photos/s" or, below one a second, "7.1 s per photo": the number a person
    can compare with another run."""
    from ..i18n import tr

    if photos_per_second <= 0:
        return ""
    if photos_per_second >= 1:
        return tr("{r:.1f} photos/s").format(r=photos_per_second)
    return tr("{s:.1f} s per photo").format(s=1 / photos_per_second)
