"""Placing photos by time on a track: GPX files or GPS photos of the same trip.

A photo taken between two GPS fixes is best placed between them: digiKam, darktable,
``exiftool -geotag`` and gpscorrelate all do so, and on a real travel collection time
placed 27 of 30 photos within 25 km where the model placed none within 200 km.  This
package knows tracks, clocks and the placement rule; it reads GPX (text), never photo
files: the photos' EXIF times and positions are read in ``prediction/placing.py``,
which hands them here as plain times and points.  It sits beside the constraints (a
clue of its own kind) and below prediction.
"""

from .clock import Clock, ClockError, parse_camera_offset, parse_zone  # noqa: F401
from .gpx import GpxError, read_gpx  # noqa: F401
from .place import DEFAULT_MAX_GAP_S, Fix, Miss, place_on  # noqa: F401
from .track import LOCAL, UTC, Segment, TrackPoint  # noqa: F401
