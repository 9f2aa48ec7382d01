"""How far a run is: photos done of how many, how fast, and about how long is left.

The rate (photos per second, or seconds per photo below one a second) is what a person
compares between runs and devices (issue 20 item 10); it is measured from the first
progress report, after the model is loaded."""

from __future__ import annotations

import time
from typing import Callable, Optional

from ..services.i18n import tr
from ..services.run.estimate import rate_text


def duration_text(seconds: float) -> str:
    """"about 40 s", "about 3 min", "about 1 h 20 min" (rounded up, never "0 s")."""
    s = max(1, int(seconds + 0.5))
    if s < 60:
        return tr("about {s} s").format(s=s)
    m = (s + 30) // 60
    if m < 60:
        return tr("about {m} min").format(m=m)
    return tr("about {h} h {m} min").format(h=m // 60, m=m % 60)


def eta_seconds(done: int, total: int, elapsed: float) -> Optional[float]:
    """Seconds left at the rate so far; None before the first photo is done."""
    if done <= 0 or elapsed <= 0 or total <= done:
        return None if done <= 0 or elapsed <= 0 else 0.0
    return elapsed / done * (total - done)


class RunClock:
    """Counts from the first progress report (after the model is loaded), so the
    loading time does not inflate the estimate."""

    def __init__(self, now: Callable[[], float] = time.monotonic):
        self.now = now
        self.total = 0
        self.done = 0
        self._t0: Optional[float] = None
        self._done0 = 0

    def start(self, total: int) -> None:
        self.total, self.done, self._t0, self._done0 = total, 0, None, 0

    def update(self, done: int, total: int) -> None:
        if self._t0 is None:
            self._t0, self._done0 = self.now(), done
        self.done, self.total = done, total

    def text(self) -> str:
        counted = tr("Geolocating: {done} of {total} photos").format(done=self.done,
                                                                      total=self.total)
        if self._t0 is None:
            return counted
        left = eta_seconds(self.done - self._done0, self.total - self._done0,
                           self.now() - self._t0)
        if left is None:
            return counted + tr(" — estimating the time left…")
        if left == 0:
            return counted + tr(" — writing the results…")
        return counted + tr(" — {rate}, {time} left").format(
            rate=self.rate_text(), time=duration_text(left))

    def rate(self) -> float:
        """Photos per second since the first report (0 before there is one to measure)."""
        if self._t0 is None:
            return 0.0
        elapsed = self.now() - self._t0
        return (self.done - self._done0) / elapsed if elapsed > 0 else 0.0

    def rate_text(self) -> str:
        return rate_text(self.rate())
