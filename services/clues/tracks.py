"""The dock's track request made into the engine's ``TrackOptions``, and the preview.

Checked on the main thread before a run starts, like the constraints: a zone or camera
offset that cannot be read is refused with the engine's one line, and nothing runs.
The preview reads only the photos' EXIF (a first pass, no model), so the dock can say
how many photos the track would place before the user runs anything.
"""

from __future__ import annotations

from .request import TrackRequest


def track_options(request: TrackRequest):
    """The engine's TrackOptions; ValueError (the engine's ClockError) for a zone or
    offset that cannot be read, or a gap that is not positive."""
    from ...inference.prediction.placing import TrackOptions

    options = TrackOptions(gpx=tuple(request.gpx), photos_as_track=request.photos_as_track,
                           track_photos=tuple(request.track_photos),
                           camera_offset=request.camera_offset.strip(),
                           photo_tz=request.photo_tz.strip(),
                           max_gap_s=float(request.max_gap_s),
                           bridge_segments=request.bridge_segments)
    if not options.max_gap_s > 0:
        raise ValueError("the maximum gap must be a positive number of seconds")
    options.clock()
    return options


def track_preview(request: TrackRequest, photos) -> tuple[dict, list[str]]:
    """({"exif": n, "track": n, "model": n}, the track's warnings) for these photos."""
    from ...inference.prediction.placing import Placer

    placer = Placer.build(track_options(request), list(photos))
    return placer.preview(), list(placer.warnings)


def camera_offset_text(camera_time, true_time) -> str:
    """The ``±HH:MM:SS`` camera offset from a photo of a clock or a GPS screen: the
    photo's EXIF time (the camera's clock) minus the true time the user reads on it."""
    seconds = int(round((camera_time - true_time).total_seconds()))
    sign = "-" if seconds < 0 else "+"
    seconds = abs(seconds)
    return f"{sign}{seconds // 3600:02d}:{seconds % 3600 // 60:02d}:{seconds % 60:02d}"
