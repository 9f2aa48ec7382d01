"""The track options of ``predict``: placing photos by time (``prediction.placing``).

Checked before the model loads: a zone or offset that cannot be read, a gap that is not
a number of seconds, are one line and cost nothing.  A GPX that cannot be used is not an
error: it is one line on stderr, and the photos it would have placed keep the model's
answer.
"""

from __future__ import annotations

import sys

from .cli_common import UserError
from ..tracks import DEFAULT_MAX_GAP_S


def add_track_arguments(parser) -> None:
    g = parser.add_argument_group(
        "tracks", "place photos by their time on a GPS track (as exiftool -geotag, "
        "digiKam and darktable do); photos with EXIF GPS keep their own position, the "
        "others outside the maximum gap keep the model's answer (docs/TRACKS.md)")
    g.add_argument("--gpx", action="append", default=[], metavar="FILE",
                   help="a GPX 1.0 or 1.1 file (tracks, routes, waypoints with times); "
                   "repeatable")
    g.add_argument("--photos-as-track", action="store_true",
                   help="use the run's own photos that have EXIF GPS and a time as a track "
                   "for the others")
    g.add_argument("--track-photos", action="append", default=[], metavar="DIR",
                   help="a folder of GPS photos used only as a track (not geolocated); "
                   "repeatable")
    g.add_argument("--camera-offset", default="", metavar="±[HH:]MM:SS",
                   help="the camera clock's error, camera time minus true time (+00:02:30: "
                   "the camera is 2.5 minutes fast); corrects the photos being placed")
    g.add_argument("--photo-tz", default="", metavar="ZONE",
                   help="the zone of photo times that do not carry their own "
                   "(OffsetTimeOriginal): +02:00 or a name such as Europe/Zurich")
    g.add_argument("--max-gap", type=float, default=DEFAULT_MAX_GAP_S, metavar="SECONDS",
                   help="the longest time between a photo and a track point used to place "
                   "it (default %(default)g s, as exiftool -geotag)")
    g.add_argument("--bridge-segments", action="store_true",
                   help="join a GPX file's segments (and tracks) into one line, so a photo "
                   "taken in a gap between them is interpolated across it")
    g.add_argument("--xmp-sidecars", default=None, metavar="DIR",
                   help="write an XMP sidecar (photo.jpg.xmp) with the placed position of "
                   "every photo placed by a track into DIR; the photos are never touched")


def track_options(args):
    """TrackOptions from the parsed options; UserError for what cannot be read."""
    from ..prediction.placing import TrackOptions
    from ..tracks import ClockError

    options = TrackOptions(gpx=tuple(args.gpx), photos_as_track=args.photos_as_track,
                           track_photos=tuple(args.track_photos),
                           camera_offset=args.camera_offset, photo_tz=args.photo_tz,
                           max_gap_s=float(args.max_gap),
                           bridge_segments=args.bridge_segments)
    if not options.max_gap_s > 0:
        raise UserError(f"--max-gap must be a positive number of seconds, got {args.max_gap}")
    if args.xmp_sidecars and not options.wanted:
        raise UserError("--xmp-sidecars writes the positions a track placed: give --gpx, "
                        "--photos-as-track or --track-photos")
    try:
        options.clock()
    except ClockError as exc:
        raise UserError(str(exc)) from exc
    return options


def build_placer(options, paths):
    """The Placer of the run (None without a track), its warnings on stderr."""
    if not options.wanted:
        return None
    from ..prediction.placing import Placer

    placer = Placer.build(options, paths)
    for line in placer.warnings:
        print(f"track: {line}", file=sys.stderr)
    counts = placer.preview()
    print(f"track: {len(placer.segments)} segment(s); of {sum(counts.values())} photos "
          f"{counts['exif']} have EXIF GPS, {counts['track']} are placed by time, "
          f"{counts['model']} keep the model's answer", file=sys.stderr)
    return placer
