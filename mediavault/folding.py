"""How text is folded before words are compared, in Python and in SQL: the search analyzer's
`normalize` (search.analyzer) and the filters that compare typed text with stored text inside the
database (assets.facets: a place typed in the library, place: in the search box) fold alike, so
"zurich" finds "Zürich" through every door.

Here rather than in the search app because the asset filters need it too, and assets import
nothing from search.
"""

from __future__ import annotations

import unicodedata
from functools import cache

from django.db.models import Func, TextField, Value
from django.db.models.functions import Lower

# Latin letters that carry their mark inside them (no decomposition): Lucene's ASCIIFoldingFilter's.
_LATIN_LETTERS = {"ø": "o", "æ": "ae", "œ": "oe", "ł": "l", "đ": "d", "ð": "d", "þ": "th", "ı": "i", "ħ": "h"}


def _fold_latin(text: str) -> str:
    """Latin letters without their diacritics ("zürich" -> "zurich", "łódź" -> "lodz"): marks
    are dropped only after a Latin letter, so other scripts' vowel signs and marks stay."""
    out: list[str] = []
    latin = False
    for char in unicodedata.normalize("NFD", text):
        if latin and unicodedata.combining(char):
            continue
        char = _LATIN_LETTERS.get(char, char)
        latin = "a" <= char[-1] <= "z"
        out.append(char)
    return unicodedata.normalize("NFKC", "".join(out))


def normalize(text: str) -> str:
    """NFKC, case folding, NFKC again (folding can un-normalise), then Latin accents off."""
    folded = unicodedata.normalize("NFKC", unicodedata.normalize("NFKC", text).casefold())
    return folded if folded.isascii() else _fold_latin(folded)


@cache
def latin_folding_table() -> tuple[str, str]:
    """(letters, their folds) for SQL's translate(): each Latin letter up to U+024F that `normalize`
    folds to one ASCII letter, upper and lower case, so that a filter inside the database folds as
    the analyzer does (the few that fold to two letters, "æ" and "ß", stay as they are there)."""
    pairs = [(letter, normalize(letter)) for letter in map(chr, range(0xC0, 0x250)) if letter.isalpha()]
    kept = [(letter, fold) for letter, fold in pairs if len(fold) == 1 and fold.isascii() and fold != letter]
    return "".join(letter for letter, _ in kept), "".join(fold for _, fold in kept)


def folded_in_sql(text) -> Lower:
    """`text` (an expression) folded in SQL as `normalize` folds words: Latin accents off, lower
    case, so that a folded value typed by a person can be compared with it."""
    letters, folds = latin_folding_table()
    return Lower(Func(text, Value(letters), Value(folds), function="translate", output_field=TextField()))
