"""Text clues: writing seen in a photo (a shop sign, a street name) narrows the countries.

The text is read exactly, letter by letter: its scripts come from Unicode
(``scripts``), the languages written in them and where those languages are official
come from CLDR through ``babel`` (``languages``), and letters that only some alphabets
have narrow a script to those languages (``letters``).  ``analysis`` puts it together
into a ``TextClue``; ``area`` makes a usable one into the engine's "keep only these
countries" constraint, with the text and the reasoning written beside it.

No statistical language detector: the ones on PyPI ship their models as pickles or
without weights we may load, and a guess from a few words of a sign would be worse
than saying what the letters prove.  See docs/CONSTRAINTS.md ("Text in the photo").
"""

from .analysis import MAX_COUNTRIES, TextClue, TextClueError, analyse_text
from .area import language_codes, text_clue_area, text_clue_from_inputs

__all__ = ["MAX_COUNTRIES", "TextClue", "TextClueError", "analyse_text", "language_codes",
           "text_clue_area", "text_clue_from_inputs"]
