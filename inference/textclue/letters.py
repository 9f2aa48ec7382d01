"""Letters that only some alphabets have, and the languages whose alphabets have them.

Hand-written from the languages' alphabets (their standard orthographies: the Polish
alphabet has ł, ą, ę, ś, ź, ż; the Ukrainian one і, ї, є, ґ; the Persian one adds پ,
چ, ژ, گ to Arabic ...).  The table only ever narrows the languages a script already
allows (analysis.py intersects), never adds one: a letter missing here costs precision,
not correctness.  Codes are ISO 639 (CLDR's base codes; ``sr`` covers both writings).
"""

from __future__ import annotations

_VIETNAMESE = "ơưạảấầẩẫậắằẳẵặẹẻẽếềểễệỉịỏốồổỗộớờởỡợụủứừửữựỳỵỷỹ"
_TABLE: tuple[tuple[str, tuple[str, ...]], ...] = (
    # Latin
    ("ß", ("de",)),
    ("ä", ("de", "sv", "fi", "et", "sk", "lb")),
    ("ö", ("de", "sv", "fi", "et", "hu", "tr", "az", "is", "tk")),
    ("ü", ("de", "hu", "tr", "az", "et", "lb", "tk", "es", "ca")),
    ("őű", ("hu",)),
    ("ł", ("pl", "hsb", "dsb", "csb")),
    ("ąę", ("pl", "lt")),
    ("śź", ("pl", "hsb", "dsb")),
    ("ż", ("pl", "mt")),
    ("ñ", ("es", "gl", "eu", "fil", "gn", "qu")),
    ("ã", ("pt", "vi")),
    ("õ", ("pt", "et", "vi")),
    ("å", ("da", "nb", "nn", "no", "sv", "se")),
    ("æ", ("da", "nb", "nn", "no", "fo", "is")),
    ("ø", ("da", "nb", "nn", "no", "fo")),
    ("ðþ", ("is", "fo")),
    ("ğı", ("tr", "az")),
    ("ş", ("tr", "az", "tk", "ro")),  # Romanian written with the older cedilla
    ("ţ", ("ro",)),
    ("șț", ("ro",)),
    ("ă", ("ro", "vi")),
    ("řů", ("cs",)),
    ("ě", ("cs", "hsb", "dsb")),
    ("ďťň", ("cs", "sk")),
    ("ľĺŕô", ("sk",)),
    ("č", ("cs", "sk", "sl", "hr", "bs", "sr", "lt", "lv", "hsb", "dsb")),
    ("đ", ("hr", "bs", "sr", "vi")),
    ("ģķļņ", ("lv",)),
    ("ėįų", ("lt",)),
    ("ç", ("fr", "pt", "ca", "tr", "az", "sq", "ku", "tk")),
    (_VIETNAMESE, ("vi",)),
    ("ĳ", ("nl",)),
    # Cyrillic
    ("і", ("uk", "be", "kk")),
    ("їєґ", ("uk",)),
    ("ў", ("be", "uz")),
    ("ђћ", ("sr",)),
    ("јљњџ", ("sr", "mk")),
    ("ѓќѕ", ("mk",)),
    ("ә", ("kk", "az", "tt", "ba")),
    ("ң", ("kk", "ky", "tt", "ba")),
    ("үө", ("kk", "ky", "mn", "tt", "ba")),
    ("ұ", ("kk",)),
    ("қғ", ("kk", "uz", "tg")),
    ("ӣӯҷ", ("tg",)),
    ("ҳ", ("tg", "uz")),
    ("ъ", ("ru", "bg")),
    ("ы", ("ru", "be", "kk", "ky", "mn", "tt", "ba")),
    # Arabic script: letters Arabic itself lacks
    ("پچژگ", ("fa", "ur", "ps", "ckb", "ku", "sd", "ug", "pa", "uz")),
    ("ٹڈڑںے", ("ur", "pa")),
    ("ځڅښږډړڼ", ("ps",)),
    ("ۆێڵڕ", ("ckb", "ku")),
    ("ڭ", ("ug",)),
)
LANGUAGES_BY_LETTER: dict[str, frozenset[str]] = {
    letter: frozenset(languages) for letters, languages in _TABLE for letter in letters}


def distinctive_letters(text: str) -> tuple[str, ...]:
    """The table's letters in ``text`` (any case), in the order they first appear."""
    seen: list[str] = []
    for char in text or "":
        low = char.lower()[:1]  # "İ".lower() is i + a combining dot
        if low in LANGUAGES_BY_LETTER and low not in seen:
            seen.append(low)
    return tuple(seen)


def languages_of_letters(letters) -> frozenset[str]:
    """The languages (base codes) whose alphabets have every one of ``letters``; when no
    single alphabet has them all (a name from abroad, a typo), those that have any."""
    sets = [LANGUAGES_BY_LETTER[x] for x in letters]
    if not sets:
        return frozenset()
    every = frozenset.intersection(*sets)
    return every or frozenset.union(*sets)
