"""Text clues: writing seen in a photo -> scripts -> languages -> countries, on real CLDR
data (babel) and the shipped boundaries; the command line on the tiny bundle."""

from __future__ import annotations

import pytest

from inference.textclue import MAX_COUNTRIES, TextClueError, analyse_text, text_clue_area
from inference.textclue.letters import distinctive_letters, languages_of_letters
from inference.textclue.scripts import script_shares


def test_script_shares_count_letters_only():
    shares = {s.script: s for s in script_shares("Аптека 24/7 Pharmacy!!")}
    assert set(shares) == {"Cyrillic", "Latin"}
    assert shares["Cyrillic"].letters == 6 and shares["Latin"].letters == 8
    assert shares["Latin"].share == pytest.approx(8 / 14)
    assert script_shares("12:30 — 7/7 !?") == ()
    japanese = {s.script for s in script_shares("東京タワーへようこそ")}
    assert japanese == {"Han", "Katakana", "Hiragana"}


def test_decomposed_accents_are_the_same_letters():
    assert distinctive_letters("S\u0142oneczna") == ("ł",)
    decomposed = analyse_text("S\u0301wiez\u0307a")  # "Świeża", ś and ż as two code points
    assert decomposed.country_codes == ("PL",) and "ś" in decomposed.reasoning


def test_polish_letters_keep_poland_only():
    clue = analyse_text("Apteka Świeża")
    assert clue.usable and clue.country_codes == ("PL",)
    assert [(x.language, x.reason) for x in clue.languages] == [("pl", "letters ś, ż")]
    assert clue.describe() == 'Text "Apteka Świeża": Latin script, letters ś, ż -> ' \
        'Polish -> keep PL'
    # ł alone is Polish or Kashubian, or a Dene language official in Canada's NWT
    assert analyse_text("Apteka Słoneczna").country_codes == ("CA", "PL")


def test_german_sharp_s_keeps_german_speaking_countries():
    codes = set(analyse_text("Straße").country_codes)
    assert {"DE", "AT", "CH", "LI", "LU"} <= codes and "FR" not in codes and "NL" not in codes


def test_cyrillic_keeps_cyrillic_countries_and_letters_narrow_to_ukrainian():
    codes = set(analyse_text("Аптека").country_codes)
    assert {"RU", "UA", "BG", "RS", "BY", "KZ"} <= codes and "PL" not in codes
    assert len(codes) <= MAX_COUNTRIES
    ukrainian = analyse_text("Аптека ї")
    assert ukrainian.country_codes == ("RS", "UA")  # regional in Vojvodina counts too
    assert {x.language for x in ukrainian.languages} == {"uk"}
    assert analyse_text("Вуліца ў").country_codes == ("BY",)  # і and ў: Belarusian


def test_greek_hangul_and_japanese():
    assert set(analyse_text("Φαρμακείο").country_codes) == {"GR", "CY"}
    assert set(analyse_text("약국").country_codes) == {"KR", "KP", "CN"}  # Yanbian
    assert analyse_text("東京タワー").country_codes == ("JP",)
    han = set(analyse_text("藥房").country_codes)
    assert {"CN", "TW", "HK", "JP"} <= han and "KR" not in han


def test_a_bilingual_sign_is_narrowed_by_its_informative_writing():
    clue = analyse_text("Аптека Pharmacy")
    assert set(clue.country_codes) == set(analyse_text("Аптека").country_codes)
    assert "Latin script without distinctive letters" in clue.reasoning


def test_plain_latin_and_no_letters_give_no_clue():
    plain = analyse_text("Pharmacy")
    assert not plain.usable and plain.countries == ()
    line = plain.describe()
    assert line.startswith('Text "Pharmacy": Latin script without distinctive letters: '
                           "used in ") and line.endswith(" countries; no clue")
    assert int(line.split("used in ")[1].split()[0]) > MAX_COUNTRIES
    nothing = analyse_text("24/7 - 12:00")
    assert not nothing.usable and "no letters" in nothing.describe()
    with pytest.raises(Exception, match="no clue"):
        text_clue_area(plain)


def test_an_explicit_language_overrides_the_letters():
    assert analyse_text("Pharmacy", ["pl"]).country_codes == ("PL",)
    chosen = analyse_text("Straße", ["uk"])
    assert chosen.country_codes == ("RS", "UA") and chosen.languages[0].reason == "your choice"
    serbian = set(analyse_text("apoteka", ["sr"]).country_codes)
    assert {"RS", "BA", "ME"} <= serbian  # both writings of Serbian
    with pytest.raises(TextClueError, match="unknown language 'xx'"):
        analyse_text("Pharmacy", ["xx"])


def test_territories_the_boundaries_lack_are_named():
    french = analyse_text("x", ["fr"])
    assert "FR" in french.country_codes and "RE" in french.left_out  # Réunion
    assert not set(french.left_out) & set(french.country_codes)


def test_letter_table_narrows_and_falls_back_to_any_alphabet():
    assert languages_of_letters(["ö", "ß"]) == {"de"}
    assert languages_of_letters(["ł", "ñ"]) >= {"pl", "es"}  # no alphabet has both


def test_the_area_is_the_country_clue_with_its_provenance():
    from inference.constraints import countries_area

    clue = analyse_text("Apteka Świeża")
    area = text_clue_area(clue)
    assert area.include and area.geometry.equals(countries_area("PL").geometry)
    params = area.parameters()
    assert params["countries"] == "PL" and params["text"] == "Apteka Świeża"
    assert params["text_clue"] == clue.describe() and params["source"] == "text"
    assert area.describe().startswith('keep only countries: PL (from text "Apteka')
    edited = text_clue_area(analyse_text("Straße"), ["DE", "AT"])
    assert "edited by hand" in edited.label
    suggested = edited.parameters()["suggested_countries"].split(",")
    assert set(suggested) == set(analyse_text("Straße").country_codes)
    assert {"AT", "DE", "IT"} <= set(suggested)
    assert set(edited.parameters()["countries"].split(",")) == {"AT", "DE"}


# ------------------------------------------------------------------ command line
def test_the_text_clue_command_prints_the_reasoning_and_the_flag(capsys):
    from inference.__main__ import main

    assert main(["text-clue", "Apteka Świeża"]) == 0
    out = capsys.readouterr().out
    assert "pl       Polish  [letters ś, ż]" in out and "PL  Poland  (Polish)" in out
    assert "use with predict: --countries PL" in out
    assert "--text-clue 'Apteka Świeża'" in out
    assert main(["text-clue", "Pharmacy"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "no clue" in err[0]
    assert main(["text-clue", "Pharmacy", "--language", "pl"]) == 0
    assert "--countries PL" in capsys.readouterr().out
    assert main(["text-clue", "Pharmacy", "--language", "xx"]) == 2
    assert "unknown language 'xx'" in capsys.readouterr().err


def test_predict_with_a_text_clue_keeps_its_countries(tiny_bundle_dir, tmp_path, capsys):
    """The tiny model knows Paris, Nairobi, Tokyo, Lima, Sydney and Suva: Japanese text
    puts every point and candidate in Japan, and run_info records the text."""
    from osgeo import ogr
    from shapely.geometry import Point

    from inference.__main__ import main
    from inference.constraints import countries_area
    from tests.photo_factory import make_jpeg

    photo = make_jpeg(tmp_path / "sign.jpg")
    out = tmp_path / "run.gpkg"
    code = main(["predict", str(photo), "--model", str(tiny_bundle_dir), "--out", str(out),
                 "--quiet", "--device", "cpu", "--text-clue", "東京タワー"])
    err = capsys.readouterr().err
    assert code == 0, err
    assert 'constraint: keep only countries: JP (from text "東京タワー"' in err
    japan = countries_area("JP").geometry
    ds = ogr.Open(str(out))
    points = [(f["lon"], f["lat"]) for f in ds.GetLayerByName("predictions")]
    points += [(f["lon"], f["lat"]) for f in ds.GetLayerByName("candidates")]
    assert points and all(japan.contains(Point(x, y)) for x, y in points)
    info = {f["key"]: f["value"] for f in ds.GetLayerByName("run_info")}
    assert "東京タワー" in info["constraint_1"] and "Japanese" in info["constraint_1"]
    rows = list(ds.GetLayerByName("constraints"))
    assert '"text": "東京タワー"' in rows[0]["parameters"]


def test_predict_refuses_a_text_without_a_clue_in_one_line(tiny_bundle_dir, tmp_path, capsys):
    from inference.__main__ import main
    from tests.photo_factory import make_jpeg

    photo = make_jpeg(tmp_path / "sign.jpg")
    out = tmp_path / "run.gpkg"
    for extra, message in ((["--text-clue", "Pharmacy"], "no clue"),
                           (["--text-clue-language", "pl"], "needs --text-clue")):
        code = main(["predict", str(photo), "--model", str(tiny_bundle_dir), "--out",
                     str(out), "--quiet", *extra])
        err = capsys.readouterr().err.strip().splitlines()
        assert code == 2 and len(err) == 1 and message in err[0], err
    assert not out.exists()


def test_a_text_clue_is_joined_with_the_other_clues(tiny_bundle_dir, tmp_path, capsys):
    """Kept with --countries FR, Polish text leaves nothing: the clues intersect."""
    from inference.__main__ import main
    from tests.photo_factory import make_jpeg

    photo = make_jpeg(tmp_path / "sign.jpg")
    code = main(["predict", str(photo), "--model", str(tiny_bundle_dir), "--out",
                 str(tmp_path / "x.gpkg"), "--quiet", "--countries", "FR",
                 "--text-clue", "Apteka Słoneczna"])
    assert code == 2 and "leave nothing" in capsys.readouterr().err


# ------------------------------------------------------------------ the reviewer's cases
# The alphabets as the languages' orthographies give them: every letter must map to its
# language, or a text in that language loses its own country (an intersection).
_ALPHABETS = {
    "fr": "àâæçéèêëîïôœùûüÿ", "pt": "áâãàçéêíóôõú", "tk": "äçňöşüýž",
    "sk": "áäčďéíĺľňóôŕšťúýž", "cs": "áčďéěíňóřšťúůýž", "lt": "ąčęėįšųūž",
    "lv": "āčēģīķļņšūž", "pl": "ąćęłńóśźż", "hr": "čćđšž", "bs": "čćđšž",
    "sr": "čćđšžђјљњћџ", "sl": "čšž", "ro": "ăâîșț", "hu": "áéíóöőúüű",
    "es": "áéíñóúü", "ca": "àçèéíïòóúü", "de": "äöüß", "sv": "åäö", "da": "æøå",
    "nb": "æøå", "fi": "äö", "is": "áðéíóúýþæö", "tr": "çğıöşü", "az": "çğıöşüə",
    "sq": "çë", "mt": "ċġħż", "et": "äöõüšž", "cy": "ŵŷ", "ga": "áéíóú", "nl": "ĳ",
    "it": "àèéìòù", "vi": "ăâđêôơưạảấầẩẫậắằẳẵặẹẻẽếềểễệỉịỏốồổỗộớờởỡợụủứừửữựỳỵỷỹ",
    "uk": "ґєії", "be": "ўіёыэ", "mk": "ѓѕјљњќџ", "kk": "әғқңөұүһі", "ky": "ңөү",
    "mn": "өү", "tg": "ғӣқӯҳҷ", "ru": "ёыэъ", "bg": "ъ",
    "fa": "پچژگ", "ur": "پچژگٹڈڑںے", "ps": "پچژ", "ckb": "پچژگ",
}


def test_every_letter_maps_to_every_language_whose_alphabet_has_it():
    from inference.textclue.letters import LANGUAGES_BY_LETTER

    missing = [(letter, language) for language, letters in _ALPHABETS.items()
               for letter in letters if language not in LANGUAGES_BY_LETTER.get(letter, ())]
    assert missing == []
    assert {"fr", "pt", "sk", "vi"} <= LANGUAGES_BY_LETTER["ô"]


def test_a_letter_two_languages_share_never_proves_one_of_them():
    for text in ("Côte d'Azur", "Hôtel de Ville", "Avô"):
        clue = analyse_text(text)  # ô: French, Portuguese, Slovak, Vietnamese...
        assert not clue.usable or {"FR", "PT", "SK"} <= set(clue.country_codes), text
        assert clue.country_codes != ("SK",)
    assert "TM" in analyse_text("Täze").country_codes  # Turkmen ä
    assert analyse_text("Ąžuolas").country_codes == ("LT", "PL")  # Lithuanian (Sejny)
    lithuanian = set(analyse_text("Šiauliai").country_codes)
    assert {"LT", "LV", "CZ", "SK", "HR", "SI", "EE"} <= lithuanian
    assert set(analyse_text("Gdańsk").country_codes) >= {"PL"}
    assert analyse_text("Phở Hà Nội").country_codes == ("VN",)
    assert set(analyse_text("Col·legi").country_codes) == {"AD", "ES"}  # Catalan l·l
    # several letters: the languages with all of them, among those the script allows
    assert languages_of_letters(["ś", "ż"]) == {"pl"}
    assert languages_of_letters(["ł"], among={"pl", "de"}) == {"pl"}


def test_capital_letters_read_as_their_small_ones():
    turkish = analyse_text("İstanbul Caddesi")  # İ lower-cases to i + a combining dot
    assert set(turkish.country_codes) == {"TR", "CY", "AZ"} and "İ" in turkish.reasoning
    assert analyse_text("ŁÓDŹ").country_codes == ("PL",)
    assert not analyse_text("STRASSE").usable  # no ß in capitals: no clue
    assert set(analyse_text("GROẞE").country_codes) == set(analyse_text("Straße").country_codes)
    assert distinctive_letters("KAPI ılık") == ("ı",)


def test_any_official_status_counts_and_the_laws_cldr_lacks_are_added():
    from inference.textclue import languages as cldr

    german = set(analyse_text("Straße").country_codes)
    assert {"DE", "AT", "CH", "LI", "LU", "BE", "IT"} <= german  # South Tyrol
    assert "NL" not in german and "FR" not in german  # no official status there
    assert "ES" in analyse_text("x", ["eu"]).country_codes  # Basque, 2 %
    assert "ES" in analyse_text("x", ["gl"]).country_codes
    cyrillic = set(analyse_text("Црна Гора").country_codes)
    assert "ME" in cyrillic and "RS" in cyrillic  # Montenegro writes Cyrillic too
    assert all(source for _k, _t, source in cldr.OFFICIAL_ELSEWHERE)
    assert not cldr.counts_in({"population_percent": 80.0})  # Russian in Lithuania


def test_the_country_cut_off_refuses_latin_and_keeps_cyrillic_and_arabic():
    latin = analyse_text("Calle Mayor").describe()
    assert "no clue" in latin and int(latin.split("used in ")[1].split()[0]) > MAX_COUNTRIES
    assert 10 <= len(analyse_text("Привет").country_codes) <= MAX_COUNTRIES
    arabic = set(analyse_text("مرحبا").country_codes)
    assert 20 <= len(arabic) <= MAX_COUNTRIES and {"EG", "SA", "IR", "PK"} <= arabic
    persian = set(analyse_text("نمایشگاه").country_codes)  # ی and گ: not Arabic
    assert {"IR", "AF"} <= persian and "EG" not in persian


@pytest.mark.parametrize("code, expected", [
    ("pt-BR", "PT"), ("pt_BR", "BR"), ("en-GB", "GB"), ("zh-TW", "TW"), ("tl", "PH"),
    ("fil", "PH"), ("sr-Latn", "ME"), (" PL ", "PL")])
def test_language_tags_with_regions_and_aliases_are_read(code, expected):
    assert expected in analyse_text("x", [code]).country_codes


def test_the_language_choices_have_english_names():
    from inference.textclue.languages import official_language_choices

    choices = dict(official_language_choices())
    assert choices["pl"] == "Polish" and choices["fil"] == "Filipino"
    assert not [code for code, name in choices.items() if name == code]
    assert "wni" not in choices and "zdj" not in choices


def test_the_options_are_read_once_for_every_front_end():
    from inference.constraints.base import ConstraintError
    from inference.textclue import text_clue_from_inputs

    assert text_clue_from_inputs(None) is None and text_clue_from_inputs("  ", "") is None
    with pytest.raises(ConstraintError, match="^TEXT_CLUE_LANGUAGE needs TEXT_CLUE"):
        text_clue_from_inputs("", "pl", text_option="TEXT_CLUE",
                              language_option="TEXT_CLUE_LANGUAGE")
    with pytest.raises(ConstraintError, match="unknown language 'xx'"):
        text_clue_from_inputs("Pharmacy", "pl, xx")
    with pytest.raises(ConstraintError, match='^Text "Pharmacy": .*no clue$'):
        text_clue_from_inputs("Pharmacy")
    area = text_clue_from_inputs("Pharmacy", " pl , uk")
    assert set(area.details[0][1].split(",")) == {"PL", "UA", "RS"}
    edited = text_clue_from_inputs("Pharmacy", (), countries=["FR"])  # the dock's list
    assert edited.details[0][1] == "FR" and "edited by hand" in edited.label
