"""When a photo was taken, from its EXIF, for the sun constraint.  Here, beside photos.py,
because it reads photo files (HEIF included) as they do: the clues stay below the
prediction and know nothing of photo files.

EXIF ``DateTimeOriginal`` is the camera's local clock with no zone; EXIF 2.31 added
``OffsetTimeOriginal`` (e.g. "+02:00"), which phones write and most cameras do not.
So the UTC time is only known when the offset is there, and even then the clock may
be wrong: the dock shows the local time and the offset and lets the user confirm or
type the offset (``PhotoTime.with_offset``) before a sun constraint uses it.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from typing import Optional

from ..constraints.base import ConstraintError

_EXIF_IFD = 0x8769
_DATETIME_ORIGINAL, _OFFSET_TIME_ORIGINAL = 0x9003, 0x9011
_DATETIME = 0x0132  # IFD0 "modified" time: a fallback when the original is missing


@dataclass(frozen=True)
class PhotoTime:
    local: datetime  # the camera clock, naive
    offset: Optional[timedelta]  # from OffsetTimeOriginal, None when the photo has none
    source: str  # "DateTimeOriginal" or "DateTime"

    @property
    def utc(self) -> Optional[datetime]:
        """The UTC time when the photo says its offset, else None (ask the user)."""
        return None if self.offset is None else self.with_offset(self.offset)

    def with_offset(self, offset: timedelta) -> datetime:
        """The UTC time for a UTC offset the user confirmed (or typed)."""
        return (self.local - offset).replace(tzinfo=timezone.utc)

    def offset_text(self) -> str:
        if self.offset is None:
            return ""
        minutes = int(self.offset.total_seconds() // 60)
        sign = "+" if minutes >= 0 else "-"
        return f"{sign}{abs(minutes) // 60:02d}:{abs(minutes) % 60:02d}"


def parse_offset(text: str) -> timedelta:
    """"+02:00", "-0530", "Z" -> timedelta; ConstraintError otherwise."""
    raw = (text or "").strip()
    if raw.upper() in ("Z", "UTC", "+00:00", "00:00"):
        return timedelta(0)
    m = re.fullmatch(r"([+-])(\d{1,2}):?(\d{2})", raw)
    if not m or int(m.group(2)) > 14 or int(m.group(3)) >= 60:
        raise ConstraintError(f"cannot read the UTC offset {raw!r}: write it as +02:00 or "
                              "-05:30")
    sign = 1 if m.group(1) == "+" else -1
    return sign * timedelta(hours=int(m.group(2)), minutes=int(m.group(3)))


def read_photo_time(path) -> Optional[PhotoTime]:
    """The photo's EXIF time (and offset when recorded); None when it has none or it
    cannot be read (never raises for a bad photo: the user types the time instead)."""
    from PIL import Image

    from .photos import refuse_unsafe_heif, register_heif

    try:
        if not os.path.isfile(path):
            return None
        register_heif()
        refuse_unsafe_heif(path)
        with Image.open(path) as img:
            exif = img.getexif()
            sub = exif.get_ifd(_EXIF_IFD)
            for tag, holder, name in ((_DATETIME_ORIGINAL, sub, "DateTimeOriginal"),
                                      (_DATETIME, exif, "DateTime")):
                local = _exif_datetime(holder.get(tag))
                if local is not None:
                    offset = None
                    if name == "DateTimeOriginal" and sub.get(_OFFSET_TIME_ORIGINAL):
                        try:
                            offset = parse_offset(str(sub.get(_OFFSET_TIME_ORIGINAL)))
                        except ConstraintError:
                            offset = None
                    return PhotoTime(local, offset, name)
    except Exception:  # noqa: BLE001 - garbage EXIF must not break the form
        return None
    return None


def _exif_datetime(value) -> Optional[datetime]:
    text = str(value or "").strip().strip("\x00")
    try:
        return datetime.strptime(text[:19], "%Y:%m:%d %H:%M:%S")
    except ValueError:
        return None
