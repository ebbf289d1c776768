"""The one text analyzer: documents and queries go through the same `analyze`, so a word matches
itself whatever form it was typed in.

Decisions, and why:
- NFKC, then case folding, then NFKC again (folding can un-normalise): full-width "ＩＭＧ５１９５" and
  ligatures match their plain forms, and "Straße" matches "STRASSE" (casefold, not lower).
- Latin letters lose their diacritics, as Lucene's ASCII folding does: "Zürich" typed by a person
  or embedded in a file matches "Zurich" (the place finding's GeoNames names are ASCII), "café"
  matches "cafe". Other scripts keep their marks (Devanagari vowel signs are marks too).
- A token is a run of letters and digits (combining marks kept inside words so Indic and Thai words
  stay whole). Everything else splits, underscores included: "IMG_5195.HEIC" -> img, 5195, heic.
- A token made of letters then at least three digits (or the reverse), like "img5195" or "dsc01234",
  also yields its two parts, so "IMG5195" finds "IMG_5195" and the other way round. Only one
  letter/digit boundary qualifies: hex hashes ("693b08cb0e") stay whole instead of shattering into
  noise that would lengthen every document.
- Chinese, Japanese and Korean runs become overlapping character bigrams (a lone character stays a
  unigram), as Lucene's CJK analyzer does: no dictionary needed and a query's bigrams are a subset
  of a matching document's.
- The words of fields that hold a machine's singular nouns (labels, people: `Field.nouns`) are
  indexed with their English plurals too (`plurals`), so "mountains" finds the label "mountain"
  and "dogs" the label "dog". People's own words are not folded: measured on the Flickr8k
  paraphrase dev file, folding every plural to its singular cost keyword search 0.009 recall@10
  (a caption's "two dogs" tells its photo from those with "a dog"), and a query's singular still
  finds a label's singular.
- Text recognition often drops the spaces between words ("QUARTERLYHARBOURREPORT", a poster's
  "EINFILMVON"), so the words of such runs are indexed after the run for the text in the picture
  (`run_together_words`: the most probable split into English words, pieces of three letters or
  more); the run itself stays, for the query whose words run together the same way.
- No stemming and no stop words in the index. Queries drop an English stop list and the words
  people wrap a request in (see `query_terms`): those words sit in most documents or in none, so
  they add almost nothing to BM25 while costing a posting list the size of the corpus on every
  query, and a word in no document would count in full against every match (search.cutoff).
"""

from __future__ import annotations

import re
import sys
import unicodedata
from collections.abc import Iterable
from functools import cache, lru_cache

from assets.documents import ASSET_COLUMNS, BY_NAME, field_texts
from mediavault.folding import normalize

# Longest token kept: a SHA-256 in hex fits; longer runs are cut, identically for queries.
MAX_TOKEN_CHARS = 64

# Han (incl. extensions and compatibility ideographs, iteration marks), Hiragana, Katakana
# (incl. phonetic extensions; NFKC already turned half-width forms into these) and Hangul.
_CJK_RANGES = (
    "\u1100-\u11ff"  # Hangul Jamo
    "\u3005-\u3007"  # 々 〆 〇
    "\u3040-\u309f"  # Hiragana
    "\u30a0-\u30ff"  # Katakana
    "\u3130-\u318f"  # Hangul compatibility Jamo
    "\u31f0-\u31ff"  # Katakana phonetic extensions
    "\u3400-\u4dbf"  # CJK extension A
    "\u4e00-\u9fff"  # CJK unified ideographs
    "\ua960-\ua97f"  # Hangul Jamo extended A
    "\uac00-\ud7af"  # Hangul syllables
    "\ud7b0-\ud7ff"  # Hangul Jamo extended B
    "\uf900-\ufaff"  # CJK compatibility ideographs
    "\U00020000-\U0003134f"  # CJK extensions B-G and compatibility supplement
)


def _mark_ranges() -> str:
    """Character-class ranges of the combining marks (Mn, Mc, Me) in planes 0-1.

    `re` has no \\p{M}; without marks inside words "हिन्दी" would fall apart at every vowel sign.
    """
    ranges: list[str] = []
    start = None
    for code in range(0x20000 if sys.maxunicode > 0xFFFF else 0x10000):
        is_mark = unicodedata.category(chr(code)).startswith("M")
        if is_mark and start is None:
            start = code
        elif not is_mark and start is not None:
            ranges.append(f"{re.escape(chr(start))}-{re.escape(chr(code - 1))}")
            start = None
    return "".join(ranges)


_CJK = f"[{_CJK_RANGES}]"
_WORD_START = rf"(?:(?!{_CJK})[^\W_])"  # a letter or digit that is not CJK
TOKEN_RE = re.compile(rf"(?P<cjk>{_CJK}+)|(?P<word>{_WORD_START}(?:{_WORD_START}|[{_mark_ranges()}])*)")
# Letters then >= 3 digits, or >= 3 digits then letters: a file-name counter glued to its prefix.
_IDENTIFIER_RE = re.compile(r"^(?:([^\W\d_]+)(\d{3,})|(\d{3,})([^\W\d_]+))$")


def _word_set(text: str) -> frozenset[str]:
    return frozenset(text.split())


# Words a query says nothing with: the Snowball project's English stop list (snowballstem.org;
# Lucene ships it as snowball/english_stop.txt) without its words of place and time, and the words
# people put around what they look for in a media library ("show me photos taken in ..."). Dropped
# from queries only, never from the index, and only beside other words ("the who", "photos" still
# search for something). Beside saving a posting list, this keeps them out of what a strong match
# must hold (search.cutoff): a word that no document holds counts in full there, so "show me dogs"
# did not find the dogs.
SNOWBALL_STOP_WORDS = _word_set("""
    i me my myself we our ours ourselves you your yours yourself yourselves he him his himself she her hers
    herself it its itself they them their theirs themselves what which who whom this that these those am is
    are was were be been being have has had having do does did doing would should could ought a an the and
    but if or because as until while of at by for with about against between into through during before
    after above below to from up down in out on off over under again further then once here there when where
    why how all any both each few more most other some such no nor not only own same so than too very
    cannot let s t d ll m re ve
""")
REQUEST_WORDS = _word_set("show find photo photos picture pictures pic pics image images taken")
# Kept: where and when things are ("jumps over a fence", "climbing up a rock"), which captions say.
PLACE_AND_TIME_WORDS = _word_set("up down out off over under above below between through against during before "
                                 "after again further once")
QUERY_STOP_WORDS = (SNOWBALL_STOP_WORDS - PLACE_AND_TIME_WORDS) | REQUEST_WORDS


# Plurals no suffix rule makes (nor the "-f" -> "-ves" rule, which "roof" and "chief" break).
IRREGULAR_PLURALS = {
    "man": "men", "woman": "women", "person": "people", "child": "children", "foot": "feet", "tooth": "teeth",
    "mouse": "mice", "goose": "geese", "ox": "oxen", "knife": "knives", "wife": "wives", "wolf": "wolves",
    "leaf": "leaves", "loaf": "loaves", "half": "halves", "shelf": "shelves", "calf": "calves",
    "thief": "thieves", "life": "lives", "scarf": "scarves", "hoof": "hooves",
}
_PLAIN_WORD = re.compile(r"^[a-z]{3,}$")
_ES_AFTER = ("s", "x", "z", "ch", "sh")  # bus, box, waltz, church, dish: the plural adds "es"


def plurals(word: str) -> tuple[str, ...]:
    """An English noun's plural by the spelling rules ("puppy" -> "puppies", "church" -> "churches",
    "monkey" -> "monkeys"), a short list of irregular ones, both spellings after "o" ("tomatoes",
    "pianos"). Only plain lower-case words of three letters or more; none for other words."""
    if word in IRREGULAR_PLURALS:
        return (IRREGULAR_PLURALS[word],)
    if not _PLAIN_WORD.match(word):
        return ()
    if word.endswith(_ES_AFTER):
        return (word + "es",)
    if word.endswith("y") and word[-2] not in "aeiou":
        return (word[:-1] + "ies",)
    if word.endswith("o"):
        return (word + "s", word + "es")
    return (word + "s",)


MIN_RUN = 6  # letters: shorter runs are words, initials or codes
MIN_PIECE = 3  # letters: shorter pieces of a split are noise ("e", "in") more often than words
_LETTERS = re.compile(r"[a-z]+")


@cache
def _split_words():
    # wordninja (MIT): the most probable split into English words, from Wikipedia word frequencies.
    # Imported on first use (0.9 s, 16 MB): only documents with text from a picture need it.
    import wordninja

    return wordninja.split


@lru_cache(maxsize=1 << 16)  # a library's recognised text repeats its words; a split costs ~0.3 ms
def run_together_words(token: str) -> tuple[str, ...]:
    """The words of a token of letters that is several words run together
    ("quarterlyharbourreport" -> quarterly, harbour, report); nothing for one word, or a token
    with digits (`analyze` gives "welcomehome2024" its letters as a token of their own). Latin
    letters only: the analyzer has folded their accents."""
    if len(token) < MIN_RUN or not _LETTERS.fullmatch(token):
        return ()
    pieces = _split_words()(token)
    return tuple(piece for piece in pieces if len(piece) >= MIN_PIECE) if len(pieces) > 1 else ()


def field_analyze(name: str, text: str, *, wanted: set[str] | None = None) -> list[str]:
    """`analyze` of one field of the document: with each word's plurals after it where the field
    holds nouns (`Field.nouns`), and the words of runs of words after the run where the field's
    words may run together (`Field.joined`).

    `wanted`: the caller only asks which of these terms the field holds (an explanation), so a run
    is split only when a wanted term is inside it: a substring test instead of a split (0.3 ms)
    for every long word of every result's text."""
    tokens = analyze(text)
    field = BY_NAME[name]
    if field.joined:
        tokens = [form for token in tokens for form in (token, *(
            run_together_words(token) if wanted is None or any(term in token for term in wanted) else ()))]
    if field.nouns:
        tokens = [form for token in tokens for form in (token, *plurals(token))]
    return tokens


def _bigrams(run: str) -> Iterable[str]:
    if len(run) == 1:
        return (run,)
    return (run[i : i + 2] for i in range(len(run) - 1))


def analyze(text: str) -> list[str]:
    """Tokens of `text`, in order, duplicates kept (term frequency matters)."""
    if not text:
        return []
    tokens: list[str] = []
    for match in TOKEN_RE.finditer(normalize(text)):
        cjk = match.group("cjk")
        if cjk:
            tokens.extend(_bigrams(cjk))
            continue
        word = match.group("word")[:MAX_TOKEN_CHARS]
        tokens.append(word)
        parts = _IDENTIFIER_RE.match(word)
        if parts:
            tokens.extend(part for part in parts.groups() if part)
    return tokens


def query_terms(query: str) -> list[str]:
    """The analysed query BM25 scores: `analyze` minus stop words, unless nothing else is left
    ("the who" still searches for something). Duplicates are kept: a repeated word counts twice,
    as in Lucene and bm25s."""
    tokens = analyze(query)
    kept = [token for token in tokens if token not in QUERY_STOP_WORDS]
    return kept or tokens


def says_something(text: str) -> bool:
    """Whether `text` holds a word beside the query stop words ("show me the" does not)."""
    return any(token not in QUERY_STOP_WORDS for token in analyze(text))


def weighted_tokens(texts: dict[str, str]) -> list[str]:
    """Every token BM25 indexes for these field texts: each field's tokens as many times as the
    field's weight (BM25F: a word in the title counts three times one in the detected text)."""
    tokens: list[str] = []
    for name, text in texts.items():
        tokens.extend(field_analyze(name, text) * BY_NAME[name].weight)
    return tokens


def document_tokens(asset) -> list[str]:
    return weighted_tokens(field_texts(asset))


# The asset columns `document_tokens` reads (besides the analyses).
INDEXED_FIELDS = ASSET_COLUMNS
