"""XMP sidecars with the positions a track gave: write-back that never touches a photo.

digiKam, darktable, Lightroom and exiftool read a sidecar ``photo.jpg.xmp`` beside (or
imported with) a photo, so a collection's placed positions reach them without a byte of
the photos changing: an investigator's evidence stays as it was seized, and its SHA-256
in the run still names it.  Only photos placed by a track get one (those with EXIF GPS
have their position already, the model's guesses are not positions to write into a
catalogue).  All sidecars of a run are renamed into place together at its commit, like
every other output (``files.Publication``); a sidecar already there is replaced.
"""

from __future__ import annotations

import os
from pathlib import Path

from .files import Staged, remove_quietly, temp_sibling
from .writer import RunWriter

NAMESPACE = "https://github.com/geodecoder/ns/placement/1.0/"


def _attr(value: str) -> str:
    """An XML attribute value, quoted, with &, <, > and the quote escaped."""
    for raw, escaped in (("&", "&amp;"), ("<", "&lt;"), (">", "&gt;"), ('"', "&quot;")):
        value = value.replace(raw, escaped)
    return f'"{value}"'


def xmp_coordinate(value: float, positive: str, negative: str) -> str:
    """47.375 -> "47,22.500000N": the XMP form of an EXIF GPS coordinate (XMP part 2,
    GPSCoordinate: degrees, decimal minutes, the reference letter)."""
    letter = positive if value >= 0 else negative
    value = abs(value)
    degrees = int(value)
    minutes = (value - degrees) * 60
    if round(minutes, 6) >= 60:
        degrees, minutes = degrees + 1, 0.0
    return f"{degrees},{minutes:.6f}{letter}"


def sidecar_text(lat: float, lon: float, radius_m, source: str, gap_s, sha256: str) -> str:
    attrs = {
        "exif:GPSVersionID": "2.3.0.0",
        "exif:GPSLatitude": xmp_coordinate(lat, "N", "S"),
        "exif:GPSLongitude": xmp_coordinate(lon, "E", "W"),
        "exif:GPSMapDatum": "WGS-84",
        "geodecoder:method": "track",
        "geodecoder:trackSource": source,
        "geodecoder:gapSeconds": "" if gap_s is None else f"{gap_s:.0f}",
        "geodecoder:photoSha256": sha256,
    }
    if radius_m is not None:
        attrs["exifEX:GPSHPositioningError"] = f"{radius_m:.0f}"
    body = "\n".join(f"    {k}={_attr(str(v))}" for k, v in attrs.items())
    return ('<?xpacket begin="\ufeff" id="W5M0MpCehiHzreSzNTczkc9d"?>\n'
            '<x:xmpmeta xmlns:x="adobe:ns:meta/">\n'
            ' <rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#">\n'
            '  <rdf:Description rdf:about=""\n'
            '    xmlns:exif="http://ns.adobe.com/exif/1.0/"\n'
            '    xmlns:exifEX="http://cipa.jp/exif/1.0/"\n'
            f'    xmlns:geodecoder="{NAMESPACE}"\n'
            f'{body}/>\n'
            ' </rdf:RDF>\n'
            '</x:xmpmeta>\n'
            '<?xpacket end="w"?>\n')


class XmpSidecarWriter(RunWriter):
    """``<folder>/<photo file name>.xmp`` for every photo a track placed; two photos of
    the same name (from two folders) get the first 8 digits of their SHA-256 added."""

    def __init__(self, folder):
        self.folder = Path(os.path.abspath(os.fspath(folder)))
        if not self.folder.is_dir():
            raise NotADirectoryError(2, "the folder for the XMP sidecars does not exist",
                                     str(self.folder))
        self.placed: list[tuple] = []  # (path, lat, lon, radius, source, gap, sha256)
        self._tmps: list[Path] = []

    def add(self, predictions, failures=(), *, regions=None, places=None) -> None:
        for p in predictions:
            if p.method == "track":
                how = p.placement
                self.placed.append((p.path, p.lat, p.lon, how.radius_m, how.source,
                                    how.gap_s, p.sha256))

    def _targets(self):
        names: set[str] = set()
        for path, *rest in self.placed:
            name = f"{os.path.basename(path)}.xmp"
            if name in names:
                name = f"{os.path.basename(path)}.{rest[-1][:8]}.xmp"
            names.add(name)
            yield self.folder / name, rest

    def prepare(self, run=None) -> Staged:
        renames = []
        try:
            for target, (lat, lon, radius, source, gap, sha) in self._targets():
                tmp = temp_sibling(target, ".xmp")
                self._tmps.append(tmp)
                tmp.write_text(sidecar_text(lat, lon, radius, source, gap, sha),
                               encoding="utf-8")
                renames.append((tmp, target))
        except BaseException:
            self.abort()
            raise
        return Staged(tuple(renames), [t for _, t in renames])

    def abort(self) -> None:
        remove_quietly(*self._tmps)
        self._tmps = []
