"""Text clues on the command line: ``text-clue "TEXT"`` shows what the writing says and
the ``predict`` flag to use it; ``predict --text-clue "TEXT"`` applies it as a keep-only
country constraint beside the others.  A text that gives no clue is one line and exit 2,
before any model loads.
"""

from __future__ import annotations

from .cli_common import UserError


def add_text_clue_arguments(group) -> None:
    group.add_argument("--text-clue", default=None, metavar="TEXT",
                       help="text seen in the photo, as written there (a sign, a street "
                       "name): keep only the countries where its script and letters are "
                       "official (see 'text-clue --help')")
    group.add_argument("--text-clue-language", action="append", default=[], metavar="CODE",
                       help="the language of --text-clue when you know it (ISO 639, e.g. "
                       "pl; comma separated or repeated): replaces the guess from the letters")


def add_text_clue_command(sub) -> None:
    tc = sub.add_parser(
        "text-clue", help="which countries write the text seen in a photo",
        description="Read text seen in a photo (in its own script) exactly: its scripts "
        "from Unicode, the languages written so and the countries where they are "
        "official from CLDR, narrowed by letters only some alphabets have (ß: German, ї: "
        "Ukrainian). Prints the reasoning and the predict option that applies it. No clue "
        "(no letters, or a script used in too many countries): one line, exit 2.")
    tc.add_argument("text", help="the text as it appears in the photo")
    tc.add_argument("--language", action="append", default=[], metavar="CODE",
                    help="the language when you know it (ISO 639, e.g. pl); replaces the "
                    "guess from the letters")
    tc.set_defaults(func=cmd_text_clue)


def analyse(text: str, languages):
    """The engine's TextClue; UserError for an unknown language code."""
    from ..textclue import TextClueError, analyse_text, language_codes

    try:
        return analyse_text(text, language_codes(languages))
    except TextClueError as exc:
        raise UserError(str(exc)) from exc


def text_clue_area_from_args(args):
    """The keep-only area of ``--text-clue``, None without it; UserError when the text
    gives no clue, a language is unknown or given without the text (the line says why)."""
    from ..constraints.base import ConstraintError
    from ..textclue import text_clue_from_inputs

    try:
        return text_clue_from_inputs(
            getattr(args, "text_clue", None), getattr(args, "text_clue_language", None),
            text_option="--text-clue", language_option="--text-clue-language")
    except ConstraintError as exc:
        raise UserError(str(exc)) from exc


def cmd_text_clue(args) -> int:
    from ..constraints.areas import country_names

    clue = analyse(args.text, args.language)
    if not clue.usable:
        raise UserError(clue.describe())
    names = dict(country_names())
    language_names = {x.language: x.name for x in clue.languages}
    print(f"text: {args.text}")
    print("scripts: " + ", ".join(f"{s.script} {s.share:.0%} ({s.letters} letters)"
                                  for s in clue.scripts) if clue.scripts else "scripts: none")
    print(f"languages ({len(clue.languages)}):")
    for x in clue.languages:
        print(f"  {x.language:<8} {x.name}  [{x.reason}]")
    print(f"countries ({len(clue.countries)}):")
    for c in clue.countries:
        why = ", ".join(language_names[k] for k in c.languages)
        print(f"  {c.country}  {names.get(c.country, c.country)}  ({why})")
    if clue.left_out:
        print(f"not in the boundary set, left out: {', '.join(clue.left_out)}")
    print(f"clue: {clue.describe()}")
    print(f"use with predict: --countries {','.join(clue.country_codes)}")
    from ..textclue import language_codes

    language = "".join(f" --text-clue-language {c}" for c in language_codes(args.language))
    print(f"  or, with the reasoning recorded: --text-clue {_shell_quote(args.text)}{language}")
    return 0


def _shell_quote(text: str) -> str:
    import shlex

    return shlex.quote(text)
