"""The track parameters of geodecoder:geolocate_photos: the command line's --gpx,
--photos-as-track, --track-photos, --camera-offset, --photo-tz, --max-gap and
--bridge-segments as Processing parameters (issue 18, docs/TRACKS.md)."""

from __future__ import annotations

from qgis.core import (
    QgsProcessing,
    QgsProcessingException,
    QgsProcessingParameterBoolean,
    QgsProcessingParameterFile,
    QgsProcessingParameterMultipleLayers,
    QgsProcessingParameterNumber,
    QgsProcessingParameterString,
)

from ..services.clues.request import TrackRequest
from ..services.clues.tracks import track_options
from ..services.i18n import tr

GPX, PHOTOS_AS_TRACK, TRACK_PHOTOS = "GPX", "PHOTOS_AS_TRACK", "TRACK_PHOTOS"
CAMERA_OFFSET, PHOTO_TZ, MAX_GAP, BRIDGE = ("CAMERA_OFFSET", "PHOTO_TZ", "MAX_GAP",
                                            "BRIDGE_SEGMENTS")


def add_track_parameters(alg) -> None:
    alg.addParameter(QgsProcessingParameterMultipleLayers(
        GPX, tr("Track: GPX files (photos placed by their time)"), QgsProcessing.TypeFile,
        optional=True))
    alg.addParameter(QgsProcessingParameterBoolean(
        PHOTOS_AS_TRACK, tr("Track: the photos' own EXIF GPS positions and times"),
        defaultValue=False))
    alg.addParameter(QgsProcessingParameterFile(
        TRACK_PHOTOS, tr("Track: a folder of GPS photos used only as a track"),
        behavior=QgsProcessingParameterFile.Folder, optional=True))
    alg.addParameter(QgsProcessingParameterString(
        CAMERA_OFFSET, tr("Track: camera clock offset, camera minus true time "
                          "(±[HH:]MM:SS)"), optional=True))
    alg.addParameter(QgsProcessingParameterString(
        PHOTO_TZ, tr("Track: zone of photo times without one (+02:00 or Europe/Zurich)"),
        optional=True))
    alg.addParameter(QgsProcessingParameterNumber(
        MAX_GAP, tr("Track: maximum gap to a track point (seconds)"),
        QgsProcessingParameterNumber.Double, defaultValue=TrackRequest().max_gap_s,
        minValue=1.0))
    alg.addParameter(QgsProcessingParameterBoolean(
        BRIDGE, tr("Track: interpolate across the gaps between segments"),
        defaultValue=False))


def track_from_parameters(alg, parameters, context):
    """The engine's TrackOptions, None without a track; a zone or offset that cannot be
    read is a QgsProcessingException with the engine's line."""
    folder = alg.parameterAsFile(parameters, TRACK_PHOTOS, context)
    request = TrackRequest(
        gpx=tuple(p for p in alg.parameterAsFileList(parameters, GPX, context) if p),
        photos_as_track=alg.parameterAsBool(parameters, PHOTOS_AS_TRACK, context),
        track_photos=(folder,) if folder else (),
        camera_offset=alg.parameterAsString(parameters, CAMERA_OFFSET, context) or "",
        photo_tz=alg.parameterAsString(parameters, PHOTO_TZ, context) or "",
        max_gap_s=alg.parameterAsDouble(parameters, MAX_GAP, context),
        bridge_segments=alg.parameterAsBool(parameters, BRIDGE, context))
    if not request.wanted:
        return None
    try:
        return track_options(request)
    except ValueError as exc:
        raise QgsProcessingException(str(exc)) from exc
