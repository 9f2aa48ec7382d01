"""From a camera's clock to the track's: zones and the camera's clock error.

EXIF ``DateTimeOriginal`` is the camera's wall clock without a zone; phones add
``OffsetTimeOriginal``.  GPX times are UTC.  So a photo's time on the track is
``(camera time - camera offset)`` read in its zone: the zone from the photo's own
offset, else the one the user gives (``--photo-tz``: "+02:00" or a name such as
"Europe/Zurich", which knows summer time), else none, and then the time is a wall-clock
time (``track.LOCAL``) that only GPS photos without a zone are compared with.

The camera offset is camera time minus true time ("+00:02:30": the camera is two and a
half minutes fast), as exiftool's and digiKam's offsets; it corrects the photos being
placed, not the GPS photos used as a track (a phone sets its clock from the network).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone, tzinfo
from typing import Optional

from .track import LOCAL, UTC

_EPOCH = datetime(1970, 1, 1)


class ClockError(ValueError):
    """A zone or offset that cannot be read; the message says how to write it."""


def parse_camera_offset(text: str) -> timedelta:
    """"+00:02:30", "-1:05:00", "02:30" (minutes:seconds) -> timedelta."""
    raw = (text or "").strip()
    m = re.fullmatch(r"([+-]?)(?:(\d{1,3}):)?(\d{1,2}):(\d{2})", raw)
    if not m or int(m.group(4)) >= 60 or (m.group(2) and int(m.group(3)) >= 60):
        raise ClockError(f"cannot read the camera offset {raw!r}: write it as "
                         "±[HH:]MM:SS, camera time minus true time, e.g. +00:02:30")
    sign = -1 if m.group(1) == "-" else 1
    return sign * timedelta(hours=int(m.group(2) or 0), minutes=int(m.group(3)),
                            seconds=int(m.group(4)))


def parse_zone(text: str) -> tzinfo:
    """"UTC", "Z", "+02:00", "-0530" or a zone name ("Europe/Zurich") -> tzinfo."""
    raw = (text or "").strip()
    if raw.upper() in ("Z", "UTC", "GMT"):
        return timezone.utc
    m = re.fullmatch(r"([+-])(\d{1,2}):?(\d{2})", raw)
    if m:
        if int(m.group(2)) > 14 or int(m.group(3)) >= 60:
            raise ClockError(f"the zone {raw!r} is not a UTC offset (-14:00 .. +14:00)")
        sign = 1 if m.group(1) == "+" else -1
        return timezone(sign * timedelta(hours=int(m.group(2)), minutes=int(m.group(3))))
    try:
        from zoneinfo import ZoneInfo

        return ZoneInfo(raw)
    except Exception:  # noqa: BLE001 - ZoneInfoNotFoundError, ValueError for odd names
        raise ClockError(f"cannot read the zone {raw!r}: write a UTC offset such as "
                         "+02:00 or a zone name such as Europe/Zurich") from None


def seconds(moment: datetime) -> float:
    """Seconds since 1970: UTC for an aware datetime, the wall clock for a naive one."""
    if moment.tzinfo is not None:
        moment = moment.astimezone(timezone.utc).replace(tzinfo=None)
    return (moment - _EPOCH).total_seconds()


@dataclass(frozen=True)
class Clock:
    zone: Optional[tzinfo] = None  # for photo times without their own offset
    camera_offset: timedelta = timedelta(0)  # camera time minus true time
    zone_text: str = ""  # as the user wrote it, for the record

    def instant(self, local: datetime, offset: Optional[timedelta],
                correct: bool = True) -> tuple[float, str]:
        """(seconds, clock) of a photo taken at camera time ``local`` with the EXIF
        ``offset`` (None when the photo has none); ``correct``: apply the camera offset
        (the photos being placed), not for GPS photos used as a track."""
        true = local - self.camera_offset if correct else local
        if offset is not None:
            return seconds(true - offset), UTC
        if self.zone is not None:
            return seconds(true.replace(tzinfo=self.zone)), UTC
        return seconds(true), LOCAL

    def describe(self) -> list[tuple[str, str]]:
        """The clock facts a run records (``run_info``, the case report)."""
        off = self.camera_offset.total_seconds()
        sign = "-" if off < 0 else "+"
        off = abs(int(off))
        return [("track_camera_offset",
                 f"{sign}{off // 3600:02d}:{off % 3600 // 60:02d}:{off % 60:02d}"),
                ("track_photo_tz", self.zone_text or "from each photo's EXIF only")]
