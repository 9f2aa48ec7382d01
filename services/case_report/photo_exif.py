"""The EXIF facts a case report quotes beside the prediction: when, with what camera.

The run records the photo's EXIF GPS (and checks it against the credible region); the
time and the camera are read here from the file, as they are now.  Values are quoted as
the camera wrote them: a camera clock is local time without a zone unless it also wrote
an offset, and the report must not pretend otherwise.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Optional

from ..i18n import tr

_MAKE, _MODEL, _DATETIME = 0x010F, 0x0110, 0x0132
_EXIF_IFD, _GPS_IFD = 0x8769, 0x8825
_ORIGINAL, _OFFSET_ORIGINAL, _LENS = 0x9003, 0x9011, 0xA434
_GPS_TIME, _GPS_DATE = 7, 29


@dataclass(frozen=True)
class ExifFacts:
    taken: str = ""  # DateTimeOriginal (else DateTime), with its offset when written
    gps_time_utc: str = ""  # GPSDateStamp + GPSTimeStamp: UTC by definition
    camera: str = ""  # make and model
    lens: str = ""
    problem: str = ""  # why nothing could be read

    def lines(self) -> list[str]:
        if self.problem:
            return [tr("EXIF not read: {why}").format(why=self.problem)]
        none = tr("not recorded")
        return [tr("Taken (camera clock): {t}").format(t=self.taken or none),
                tr("GPS time (UTC): {t}").format(t=self.gps_time_utc or none),
                tr("Camera: {c}").format(c=self.camera or none)]
        # the lens is rarely asked for; it stays in the data for whoever needs it


def _text(value) -> str:
    if value is None:
        return ""
    if isinstance(value, bytes):
        value = value.decode("utf-8", "replace")
    return str(value).strip().strip("\x00").strip()


def _gps_time(gps: dict) -> str:
    date, hms = _text(gps.get(_GPS_DATE)), gps.get(_GPS_TIME)
    if not date or not hms:
        return ""
    try:
        h, m, s = (float(x) for x in hms)
    except (TypeError, ValueError):
        return ""
    return f"{date.replace(':', '-')} {int(h):02d}:{int(m):02d}:{s:05.2f}Z"


def _camera(make: str, model: str) -> str:
    if make and model.lower().startswith(make.split()[0].lower()):
        return model  # "Canon" + "Canon DIGITAL IXUS": the model already names the make
    return " ".join(x for x in (make, model) if x)


def read_exif_facts(path: Optional[str]) -> ExifFacts:
    """The EXIF time and camera of the photo at `path` (HEIC too, where it can be
    decoded safely); an ExifFacts with `problem` set when there is nothing to read."""
    if not path:
        return ExifFacts(problem=tr("the photo file is missing"))
    try:
        from PIL import Image

        from ...inference.prediction.photos import PhotoError, refuse_unsafe_heif
    except ImportError:
        return ExifFacts(problem=tr("Pillow is not installed"))
    try:
        refuse_unsafe_heif(path)
        with Image.open(path) as im:
            exif = im.getexif()
    except PhotoError as exc:
        return ExifFacts(problem=str(exc))
    except Exception as exc:  # noqa: BLE001 - a broken or foreign file: say so, go on
        return ExifFacts(problem=f"{type(exc).__name__}: {exc}")
    sub, gps = exif.get_ifd(_EXIF_IFD), exif.get_ifd(_GPS_IFD)
    taken = _text(sub.get(_ORIGINAL)) or _text(exif.get(_DATETIME))
    offset = _text(sub.get(_OFFSET_ORIGINAL))
    if taken and offset:
        taken = f"{taken} {offset}"
    elif taken:
        taken = tr("{t} (no time zone recorded)").format(t=taken)
    return ExifFacts(taken=taken, gps_time_utc=_gps_time(gps),
                     camera=_camera(_text(exif.get(_MAKE)), _text(exif.get(_MODEL))),
                     lens=_text(sub.get(_LENS)))
