"""Letters that only some alphabets have, and the languages whose alphabets have them.

Where the alphabets come from: each official language's standard orthography (the
letters its alphabet adds to the basic Latin a-z, the Russian-style Cyrillic core or
the Arabic alphabet), written out by hand in ``ALPHABETS`` because babel does not ship
CLDR's exemplar characters.  Latin: the national orthographies (French à â æ ç é è ê ë
î ï ô œ ù û ü ÿ, Polish ą ć ę ł ń ó ś ź ż, Turkish ç ğ ı İ ö ş ü...), including the
regional languages CLDR makes official (Welsh, Catalan, Basque, Dene languages of
Canada's Northwest Territories, Senegal's and South Africa's national languages);
Vietnamese with its tone marks.  Cyrillic: Ukrainian і ї є ґ, Belarusian ў і, Serbian
ђ ј љ њ ћ џ, Macedonian ѓ ѕ ј љ њ ќ џ, the Central Asian and Russian-republic alphabets.
Arabic script: the letters Persian, Urdu, Pashto, Kurdish, Sindhi, Uyghur, Kashmiri,
Jawi add to Arabic.

``LANGUAGES_BY_LETTER`` is the inversion: a letter maps to EVERY language listed here
whose alphabet has it, so a letter shared by French and Slovak (ô) never proves Slovak.
Letters only narrow the languages a script already allows (analysis.py intersects),
never add one.  A language missing here would wrongly be dropped by its letters: every
official language with letters beyond the script's core must be listed.  Codes are
CLDR's base codes (``sr`` covers both writings, ``az`` both alphabets).
"""

from __future__ import annotations

import unicodedata


def _vietnamese() -> str:
    vowels = "aăâeêioôơuưy"
    tones = "\u0300\u0301\u0303\u0309\u0323"  # grave, acute, tilde, hook, dot below
    marked = {unicodedata.normalize("NFC", v + t) for v in vowels for t in tones}
    return "ăâêôơưđ" + "".join(sorted(marked))


_SLAVIC_LATIN = "čćđšž"  # Croatian, Bosnian, Serbian (Latin); Slovenian has č š ž
_RU_CORE = "ёыэъ"  # Russian letters Ukrainian, Serbian or Macedonian lack
_DENE = "ąęįǫųł"  # Chipewyan, Slave, Dogrib, Gwich'in (Northwest Territories, Canada)
_IRANIAN = "پچژگکی"  # the Persian letters, shared by most Arabic-script alphabets

ALPHABETS: dict[str, str] = {
    # Latin: the letters beyond a-z (lower case, and İ, whose lower case is plain i)
    "af": "áäéèêëíîïóôöúûüý", "ast": "áéíñóúüḥḷ", "ay": "äïüñ", "az": "çəğıİöşü",
    "bs": _SLAVIC_LATIN, "ca": "àçèéíïŀòóúü", "cs": "áčďéěíňóřšťúůýž",
    "csb": "ąãéëłńòóôùż", "cy": "âêîôûŵŷáéíóúàèìòùëïöü", "da": "æøåé", "de": "äöüß",
    "ee": "ɖɛƒɣŋɔʋ", "ak": "ɛɔ", "gaa": "ɛɔŋ", "es": "áéíñóúü", "et": "äöõüšž",
    "eu": "ñ", "ff": "ɓɗŋɲƴ", "fi": "äöåšž", "fil": "ñ", "fo": "áðíóúýæø",
    "fr": "àâæçéèêëîïôœùûüÿ", "frr": "äöüå", "fy": "âêéôûúëïöü", "ga": "áéíóú",
    "gd": "àèìòù", "gl": "áéíñóúü", "gn": "ãẽĩõũỹñ", "gsw": "äöü", "gv": "ç",
    "haw": "āēīōū", "ht": "èò", "hr": _SLAVIC_LATIN, "hu": "áéíóöőúüű",
    "is": "áðéíóúýþæö", "it": "àèéìíîòóù", "kl": "åæø", "lb": "äéë", "ln": "éèɛɔ",
    "lt": "ąčęėįšųūž", "lv": "āčēģīķļņšūž", "mg": "àôñ", "mh": "āļņōū", "mi": "āēīōū",
    "mt": "ċġħżàèìòù", "nb": "æøåéèêóòô", "nn": "æøåéèêóòô", "no": "æøåéèêóòô",
    "nso": "šêô", "oc": "àáçèéíïòóúü", "pap": "áéèíóòúüñ", "pl": "ąćęłńóśźż",
    "pt": "áâãàçéêíóôõú", "qu": "ñ", "quc": "äëïöü", "rm": "àèéìòùäöü",
    "ro": "ăâîșțşţ", "se": "áčđŋšŧž", "sms": "âčʒǯđǧǥǩŋõšžåä",
    "sk": "áäčďéíĺľňóôŕšťúýž", "sl": "čšžćđ", "sq": "çë", "sr": _SLAVIC_LATIN,
    "st": "êô", "sv": "åäöé", "tet": "áéíñóú", "tk": "äçňöşüýž", "tn": "êôš",
    "tr": "çğıİöşüâîû", "tzm": "ɛɣḍḥṛṣṭẓ", "ve": "ḓḽṅṋṱ", "vec": "àèéìòóù",
    "vi": _vietnamese(), "wo": "àéëóñŋ", "yo": "ẹọṣáàéèíìóòúùńǹḿ", "nl": "ĳéèëïöüáóú",
    "chp": _DENE, "den": _DENE, "dgr": _DENE, "gwi": _DENE,
    # Cyrillic: beyond the core Ukrainian, Serbian and Macedonian share with Russian
    "ru": _RU_CORE, "be": "ёыэіў", "uk": "іїєґ", "bg": "ъ", "mk": "ѓѕјљњќџ",
    "kk": "әғқңөұүһі" + _RU_CORE, "ky": "ңөү" + _RU_CORE, "mn": "өү" + _RU_CORE,
    "tg": "ғӣқӯҳҷёэъ", "uz": "ўқғҳёэъ", "tt": "әөүҗңһ" + _RU_CORE,
    "ba": "әөүғҡңҙҫһ" + _RU_CORE, "sah": "ҕҥөһү" + _RU_CORE, "tyv": "ңөү" + _RU_CORE,
    "os": "ӕ" + _RU_CORE, "ab": "әҕҟҩҭҳҵҷҽҿӡџқҧы", "kv": "іӧ" + _RU_CORE,
    "koi": "іӧ" + _RU_CORE, "udm": "ӝӟӥӧӵ" + _RU_CORE,
    # (sr, bs: ђ ј љ њ ћ џ; az Cyrillic: ә ғ ҝ ј һ ө ү ҹ ы; the Caucasian languages
    # of Russia: the Russian letters and the palochka)
    "ce": "ӏ" + _RU_CORE, "inh": "ӏ" + _RU_CORE, "av": "ӏ" + _RU_CORE,
    "kbd": "ӏ" + _RU_CORE, "ady": "ӏ" + _RU_CORE, "lez": "ӏ" + _RU_CORE,
    "lbe": "ӏ" + _RU_CORE, "krc": _RU_CORE, "kum": _RU_CORE, "mdf": _RU_CORE,
    "myv": _RU_CORE,
    # Arabic script: beyond the Arabic alphabet (ڤ also writes a foreign v in Arabic)
    "ar": "ڤ", "fa": _IRANIAN, "ur": _IRANIAN + "ٹڈڑںے",
    "ps": _IRANIAN + "ټځڅډړږښګڼېۍ", "ckb": _IRANIAN + "ڕڵۆێڤە",
    "ku": _IRANIAN + "ڕڵۆێڤە", "ug": "پچژگڭۆۈۋېى", "ks": _IRANIAN + "ٹڈڑںےۆۄێ",
    "sd": _IRANIAN + "ٻڄڃڇٺٽٿڊڌڍڎڏڙڦڪڳڱڻ", "pa": _IRANIAN + "ٹڈڑںے",
    "ms": "چڠڤڽۏݢک",
}
# letters of second alphabets, under the base code (the analysis matches base codes)
ALPHABETS["sr"] += "ђјљњћџ"
ALPHABETS["bs"] += "ђјљњћџ"
ALPHABETS["az"] += "әғҝјһөүҹы" + _IRANIAN
ALPHABETS["uz"] += _IRANIAN

LANGUAGES_BY_LETTER: dict[str, frozenset[str]] = {
    letter: frozenset(k for k, alphabet in ALPHABETS.items() if letter in alphabet)
    for letter in sorted({x for alphabet in ALPHABETS.values() for x in alphabet})}


def distinctive_letters(text: str) -> tuple[str, ...]:
    """The table's letters in ``text`` (any case), in the order they first appear.
    Turkish İ is its own letter (its lower case is a plain i); Catalan l·l is ŀ."""
    seen: list[str] = []
    text = (text or "").replace("l·l", "ŀl").replace("L·L", "ĿL")
    for char in text:
        low = char if char in LANGUAGES_BY_LETTER else char.lower()
        if low in LANGUAGES_BY_LETTER and low not in seen:
            seen.append(low)
    return tuple(seen)


def languages_of_letters(letters, among=None) -> frozenset[str]:
    """The languages (base codes; of ``among`` when given) whose alphabets have every one
    of ``letters``; when no single alphabet has them all (a name from abroad, a typo),
    those that have any."""
    sets = [LANGUAGES_BY_LETTER[x] for x in letters]
    if among is not None:
        sets = [s & frozenset(among) for s in sets]
    if not sets:
        return frozenset()
    every = frozenset.intersection(*sets)
    return every or frozenset.union(*sets)
