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


def read_true_time(text: str, camera_time):
    """The true time the user read on the photographed clock or GPS screen, as a naive
    wall-clock datetime.  "YYYY-MM-DD HH:MM[:SS]" is taken as written; "HH:MM[:SS]" alone
    takes the date that puts it nearest the camera's time (a clock photographed at
    23:58 by a camera that says 00:03 the next day is 5 minutes slow, not 24 h).
    ValueError, with how to write it, for anything else."""
    from datetime import datetime, timedelta

    raw = " ".join((text or "").replace("T", " ").split())
    for fmt in ("%Y-%m-%d %H:%M:%S", "%Y-%m-%d %H:%M"):
        try:
            return datetime.strptime(raw, fmt)
        except ValueError:
            pass
    for fmt in ("%H:%M:%S", "%H:%M"):
        try:
            clock = datetime.strptime(raw, fmt).time()
        except ValueError:
            continue
        same_day = datetime.combine(camera_time.date(), clock)
        days = (same_day - timedelta(days=1), same_day, same_day + timedelta(days=1))
        return min(days, key=lambda d: abs((camera_time - d).total_seconds()))
    raise ValueError(f"cannot read the time {text!r}: write it as HH:MM:SS or "
                     "YYYY-MM-DD HH:MM:SS, as the clock in the photo shows it")


def offset_from_clock_photo(path: str, true_text: str) -> str:
    """The camera offset (``±HH:MM:SS``) from a photo of a clock or GPS screen at
    ``path`` and the time the user reads on it.  Both times are wall-clock times in the
    zone the camera is set to: a GPS screen that shows UTC needs the zone's offset added
    by the user (the dialog says so).  ValueError when the photo has no capture time
    (only DateTimeOriginal is the moment the shutter fired: an edited file's DateTime
    would give a wrong offset) or the typed time does not read."""
    from .constraints import photo_time

    found = photo_time(path)
    if found is None or found.source != "DateTimeOriginal":
        raise ValueError("this photo has no capture time (EXIF DateTimeOriginal): choose "
                         "the original file from the camera")
    return camera_offset_text(found.local, read_true_time(true_text, found.local))
