"""Words a document holds run together: a query of a few words also finds the one token they
make without the spaces between them.

Text recognition drops the spaces of widely spaced capitals ("PEDRO LENZ" on a poster reads
"PEDROLENZ", "EIN FILM VON" reads "EINFILMVON"), and people write names and brands run together
in titles and file names ("PedroLenz.jpg", "SummerFest 2019"). Neither can be split back into words
without a dictionary that knows every name, but the query already says where the words are: so a
query of two to four words, joined, is looked up as one indexed term, and the documents holding
it are literal matches, like a whole identifier (search.identifiers). The joined form of ordinary
words ("red kayak" -> "redkayak") is in no document, so it changes nothing for them.
"""

from __future__ import annotations

from django.db.models import QuerySet

from search.analyzer import MAX_TOKEN_CHARS, TOKEN_RE, analyze, normalize
from search.identifiers import visible_matches

MIN_WORDS, MAX_WORDS = 2, 4
# Shorter joins ("a b" -> "ab", "to go" -> "togo") are ordinary words or noise more often than a
# lost space.
MIN_CHARS = 6


def joined_term(query: str) -> str | None:
    """The indexed term the query's words make run together; None unless the query is two to four
    words (letters or digits, no Chinese, Japanese or Korean: their bigrams have no spaces to lose)."""
    matches = list(TOKEN_RE.finditer(normalize(query)))
    if not MIN_WORDS <= len(matches) <= MAX_WORDS or any(match.group("cjk") for match in matches):
        return None
    joined = "".join(match.group("word") for match in matches)
    if not MIN_CHARS <= len(joined) <= MAX_TOKEN_CHARS or analyze(joined) != [joined]:
        return None  # a join the analyzer would split again ("img" + "5195") is found by its parts
    return joined


_HOLDERS = "SELECT asset_id FROM search_posting WHERE term = %s ORDER BY asset_id LIMIT %s"


def holders(term: str, *, visible: QuerySet | None, limit: int) -> list[tuple[int, float]]:
    """(asset id, 1.0) of the visible documents whose index holds `term`, by id."""
    return visible_matches(_HOLDERS, term, visible=visible, limit=limit)
