"""What the dock says under Run about the clues: which are on and which photos they
narrow (issue 20 item 1).  A new user kept a country ticked and every photo of the next
run was forced into it, with nothing on the Photos tab or the Run button saying so.

Plain functions over the request objects, so the words are tested without widgets.
"""

from __future__ import annotations

from typing import Callable, Optional

from ..services.clues.request import ConstraintRequest, TrackRequest
from ..services.i18n import tr


def clue_names(request: ConstraintRequest,
               layer_name: Callable[[str], Optional[str]] = lambda _id: None) -> list[str]:
    """One short phrase per clue: "keep FR, CH", "keep PL (from the text)", "exclude
    layer zones (selected)",
    "a rectangle (keep)", "the sun at 2024-06-01T14:10:00Z"."""
    names = []
    for area in request.areas:
        verb = tr("keep") if area.include else tr("exclude")
        if area.countries and getattr(area, "text", None):
            names.append(tr("{verb} {codes} (from the text)").format(
                verb=verb, codes=", ".join(area.countries)))
        elif area.countries:
            names.append(f"{verb} {', '.join(area.countries)}")
        elif area.layer_id:
            what = tr("layer {name}").format(name=layer_name(area.layer_id) or area.layer_id)
            if area.selected_only:
                what += tr(" (selected)")
            names.append(f"{verb} {what}")
        elif area.rectangle is not None:
            names.append(tr("{verb} a rectangle").format(verb=verb))
    if request.sun is not None:
        names.append(tr("the sun at {t}").format(t=request.sun.time_utc))
    return names


def run_button_text(n_clues: int) -> str:
    return tr("Run") if n_clues == 0 else tr("Run ({n} clue(s))").format(n=n_clues)


def summary_text(names: list[str], track: TrackRequest, n_photos: int,
                 n_selected: int, selected_only: bool, track_text: str = "") -> str:
    """The line under Run: the clues and whom they apply to, and the track if any."""
    lines = []
    if names:
        if n_photos == 0:
            scope = tr("on the photos you add")
        elif selected_only:
            scope = tr("on the {k} selected photo(s); the other {m} run without them "
                       "(a second run)").format(k=n_selected, m=max(0, n_photos - n_selected))
        else:
            scope = tr("on all {n} photo(s)").format(n=n_photos)
        lines.append(tr("Clues: {names} — {scope}").format(names="; ".join(names),
                                                           scope=scope))
    if track.wanted:
        lines.append(tr("Photos without GPS placed by time: {what}").format(
            what=track_text or tr("track")))
    return "\n".join(lines) if lines else tr("No clue: the model's answer as it is.")
