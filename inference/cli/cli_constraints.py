"""The constraint options of ``predict`` and how they become a Constraints object.

Everything is checked before the model loads (seconds), so a typo in a country name or
a time without a zone costs nothing and writes nothing.
"""

from __future__ import annotations

from .cli_common import UserError
from .cli_text_clue import add_text_clue_arguments, text_clue_area_from_args


def add_constraint_arguments(parser) -> None:
    g = parser.add_argument_group(
        "constraints", "what you know about the place, applied as weights on the model's "
        "cells (probabilities are renormalised; see docs/CONSTRAINTS.md)")
    g.add_argument("--countries", action="append", default=[], metavar="LIST",
                   help="keep only these countries: ISO codes or English names, comma "
                   "separated, e.g. CH,AT or 'Switzerland, Austria'")
    g.add_argument("--exclude-countries", action="append", default=[], metavar="LIST",
                   help="rule these countries out (same form as --countries)")
    g.add_argument("--area", action="append", default=[], metavar="FILE",
                   help="keep only the polygons of this file (.gpkg, .geojson, .shp, any "
                   "CRS; FILE|layername=NAME picks a layer); repeatable")
    g.add_argument("--exclude-area", action="append", default=[], metavar="FILE",
                   help="rule out the polygons of this file; repeatable")
    g.add_argument("--sun-time", default=None, metavar="TIME",
                   help="when the photo was taken, ISO 8601 with its zone, e.g. "
                   "2024-06-01T14:10:00Z or 2024-06-01T16:10:00+02:00")
    g.add_argument("--sun-elevation", type=float, default=None, metavar="DEG",
                   help="the sun's elevation above the horizon at --sun-time, degrees")
    g.add_argument("--shadow", type=float, nargs=2, default=None,
                   metavar=("HEIGHT", "LENGTH"),
                   help="an object's height and its shadow's length on level ground (same "
                   "unit) at --sun-time; instead of --sun-elevation")
    g.add_argument("--sun-tolerance", type=float, default=2.0, metavar="DEG",
                   help="how far the sun may be from that elevation, degrees (default 2)")
    add_text_clue_arguments(g)


def constraints_from_args(args):
    """A Constraints object from the parsed options; UserError with the reason."""
    from ..constraints import (ConstraintError, Constraints, area_from_file,
                               countries_area)
    from ..constraints.base import sun_from_inputs

    try:
        areas = []
        for names in args.countries:
            areas.append(countries_area(names, include=True))
        for names in args.exclude_countries:
            areas.append(countries_area(names, include=False))
        areas += [_area(area_from_file, p, "--area", True) for p in args.area]
        areas += [_area(area_from_file, p, "--exclude-area", False) for p in args.exclude_area]
        text_area = text_clue_area_from_args(args)
        areas += [text_area] if text_area is not None else []
        sun = None
        wants_sun = args.sun_elevation is not None or args.shadow is not None
        if args.sun_time is None and wants_sun:
            raise ConstraintError("--sun-elevation and --shadow need --sun-time (when the "
                                  "photo was taken, with its zone)")
        if args.sun_time is not None:
            sun = sun_from_inputs(args.sun_time, args.sun_elevation,
                                  tuple(args.shadow) if args.shadow else None,
                                  args.sun_tolerance)
        return Constraints(tuple(areas), sun)
    except ConstraintError as exc:
        raise UserError(str(exc)) from exc


def _area(read, path, option: str, include: bool):
    """``read(path, include)``, with a geometry GEOS refuses (a ring that does not close,
    NaN or infinite coordinates: issue 21.9) as one line that names the file."""
    from shapely.errors import GEOSException

    try:
        return read(path, include=include)
    except GEOSException as exc:
        text = str(exc)
        if "closed linestring" in text:
            why = "a polygon ring is not closed (its last point must be its first)"
        elif "NaN" in text or "Inf" in text:
            why = "it holds coordinates that are not numbers (NaN or infinite)"
        else:
            why = text.split(": ", 1)[-1] or type(exc).__name__
        raise UserError(f"{option} {path}: not a usable polygon: {why}") from None
