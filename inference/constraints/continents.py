"""Which continent a country lies on, for naming a credible region in words.

"Somewhere in Europe" is what a reader of a weak answer can use; the shipped country
boundaries (``resources/boundaries/countries.geojson``) carry no continent, so this
table gives one per ISO 3166-1 alpha-2 code of that file (Natural Earth's own choice
where a country is split: Turkey, Cyprus and the Caucasus in Asia; Greenland in North
America).  Russia alone spans two continents over a large area: ``continent_of`` puts
its part east of the Urals (60 degrees E) in Asia.  Remote islands and territories go to
the continent they are administered from or lie nearest to; the southern ocean's to
Antarctica.
"""

from __future__ import annotations

_TABLE = {
    "Africa": "AO BF BI BJ BW CD CF CG CI CM CV DJ DZ EG EH ER ET GA GH GM GN GQ GW KE KM LR "
              "LS LY MA MG ML MR MU MW MZ NA NE NG RW SC SD SH SL SN SO SS ST SZ TD TG TN TZ "
              "UG ZA ZM ZW",
    "Antarctica": "AQ HM TF GS",
    "Asia": "AE AF AM AZ BD BH BN BT CN CY GE HK ID IL IN IO IQ IR JO JP KG KH KP KR KW KZ "
            "LA LB LK MM MN MO MV MY NP OM PH PK PS QA SA SG SY TH TJ TL TM TR TW UZ VN YE",
    "Europe": "AD AL AT AX BA BE BG BY CH CZ DE DK EE ES FI FO FR GB GG GI GR HR HU IE IM IS "
              "IT JE LI LT LU LV MC MD ME MK MT NL NO PL PT RO RS RU SE SI SK SM UA XK",
    "North America": "AG AI AW BB BL BM BS BZ CA CR CU CW DM DO GD GL GT HN HT JM KN KY LC MF "
                     "MS MX NI PA PM PR SV SX TC TT US VC VG VI",
    "Oceania": "AS AU CK FJ FM GU KI MH MP NC NF NR NU NZ PF PG PN PW SB TK TO TV UM VU WF WS",
    "South America": "AR BO BR CL CO EC FK GY PE PY SR UY VE",
}
CONTINENTS = tuple(_TABLE)
CONTINENT = {code: name for name, codes in _TABLE.items() for code in codes.split()}
URALS_LON = 60.0  # Russia east of this longitude counts as Asia


def continent_of(code: str, lon: float | None = None) -> str:
    """The continent of the country `code` ("" when the code is unknown); for Russia the
    longitude of the place decides between Europe and Asia."""
    code = code.upper()
    if code == "RU" and lon is not None and lon >= URALS_LON:
        return "Asia"
    return CONTINENT.get(code, "")
