"""What a person typed in the search box, understood: words, "quoted phrases", -exclusions,
field filters (tag:, camera:, place:, type:, has:, before:, after:) and date phrases.

    red kayak tag:lake -night "golden hour" camera:canon after:2018 October 2019 -has:people

- Words and phrases are what the signals score (BM25, text vectors, rerank); a phrase's words
  must also appear together, in order, in one field of a result.
- -word (or -"two words") leaves out the assets whose document holds it.
- tag:, camera:, place:, type: filter (case-insensitive; tag: is a whole tag, camera: and place:
  match where a word starts, type: a part of the MIME type: camera:canon, place:paris, type:video
  or type:heic; type: knows what people call the media types: type:photos is type:image). A value
  with spaces is quoted: place:"new york". has:text and has:people are the library's "has text in
  the picture" and "has people".
- before:/after: take a year, a month (2019-05) or a day (2019-05-01) and mean strictly before
  its start or strictly after its end: after:2018 is 2019 on.
- A filter with a minus leaves out what it matches (-tag:draft, -has:people, -before:2019), as
  GitHub's and Gmail's search boxes read it; an asset without a date taken is not "before" anything,
  so -before: keeps it. NOT in capitals before a word, phrase or filter is the same minus (people
  type it as in Lucene or Google), except before a stop word ("NOT FOR SALE" is a title); AND in
  capitals is dropped (every word counts already).
- OR in capitals between words makes alternatives ("dog OR cat", "red car OR blue truck"): a
  result is a strong keyword match when it holds most of any one of them, where without OR it must
  hold most of all the words. Filters and exclusions hold for every alternative; a phrase in an OR
  query counts as its words.
- A month or season with a year ("October 2008", "summer 2019") or a day of a named month ("22
  October 2008", "Oct 22nd, 2008") filters by the date taken; the season follows the photo's
  hemisphere, as the date-words analyser decides it. A year alone
  stays a word: it matches the date words and any file name or text that holds it.
Words that only wrap the filters ("photos taken in October 2008", search.analyzer's stop words)
leave the filters alone. Anything not understood (a filter without a value, an impossible date) is
left out and named in `problems`, never an error: the box takes whatever people type.
"""

from __future__ import annotations

import calendar
import datetime as dt
import re
from dataclasses import dataclass, field

from django.db.models import Case, Exists, F, Func, OuterRef, Q, QuerySet, TextField, Value, When
from django.db.models.functions import Concat, Lower

from assets import facets
from assets.documents import field_texts
from assets.models import Analysis
from search.analyzer import analyze, says_something
from search.models import Posting

FIELDS = ("tag", "camera", "place", "type", "has", "before", "after")
MONTHS = {name.lower(): number for number, name in enumerate(calendar.month_name) if name}
MONTHS |= {name.lower(): number for number, name in enumerate(calendar.month_abbr) if name}
MONTHS["sept"] = 9
SEASONS = {"spring": "spring", "summer": "summer", "autumn": "autumn", "fall": "autumn", "winter": "winter"}
YEARS = range(1826, 2200)  # the first photograph to well past any camera clock

# A field filter (its value quoted or not; maybe negated), a quoted phrase (maybe excluded), or a bare word.
_PART_RE = re.compile(
    r'(?P<fneg>-)?(?P<field>\w+):(?:"(?P<fquoted>[^"]*)"?|(?P<fvalue>\S*))'
    r'|(?P<neg>-)?"(?P<phrase>[^"]*)"?'
    r"|(?P<word>\S+)"
)
_DATE_RE = re.compile(r"^(\d{4})(?:-(\d{1,2})(?:-(\d{1,2}))?)?$")


@dataclass(frozen=True)
class Period:
    """A half-open range of dates: [start, end)."""

    start: dt.date
    end: dt.date


@dataclass
class ParsedQuery:
    text: str = ""  # what the signals score: the words and the phrases' words
    phrases: list[list[str]] = field(default_factory=list)  # analysed tokens of each phrase
    excluded: list[str] = field(default_factory=list)  # analysed terms, any of which excludes
    tags: list[str] = field(default_factory=list)
    cameras: list[str] = field(default_factory=list)
    places: list[str] = field(default_factory=list)
    types: list[str] = field(default_factory=list)
    taken_before: dt.date | None = None  # taken strictly before this day
    taken_from: dt.date | None = None  # taken on this day or later
    periods: list[Period] = field(default_factory=list)  # "October 2008", "22 October 2008": any of them
    seasons: list[tuple[str, int]] = field(default_factory=list)  # ("summer", 2019): any of them
    has: list[str] = field(default_factory=list)  # analysers that found something: has:people is "faces"
    alternatives: list[str] = field(default_factory=list)  # "dog OR cat": each one's words; else empty
    left_out: list[tuple[str, str]] = field(default_factory=list)  # (filter, value) that must not hold
    understood: list[str] = field(default_factory=list)  # in words, for the page
    problems: list[str] = field(default_factory=list)

    @property
    def has_filters(self) -> bool:
        return bool(self.excluded or self.tags or self.cameras or self.places or self.types or self.taken_before
                    or self.taken_from or self.periods or self.seasons or self.phrases or self.has
                    or self.left_out)


def period_of(value: str) -> Period | None:
    """The year, month or day `value` names (2019, 2019-05, 2019-05-01), or None."""
    match = _DATE_RE.match(value)
    if not match:
        return None
    year, month, day = (int(part) if part else None for part in match.groups())
    if year not in YEARS:
        return None
    try:
        if month is None:
            return Period(dt.date(year, 1, 1), dt.date(year + 1, 1, 1))
        if day is None:
            start = dt.date(year, month, 1)
            return Period(start, _next_month(start))
        start = dt.date(year, month, day)
    except ValueError:
        return None
    return Period(start, start + dt.timedelta(days=1))


def _next_month(day: dt.date) -> dt.date:
    return dt.date(day.year + day.month // 12, day.month % 12 + 1, 1)


def _year(word: str) -> int | None:
    return int(word) if word.isdigit() and len(word) == 4 and int(word) in YEARS else None


def parse(query: str) -> ParsedQuery:
    parsed = ParsedQuery()
    groups: list[list[str]] = [[]]  # the words between ORs
    words = groups[0]
    negate = False  # the part before was NOT
    for match in _PART_RE.finditer(query):
        if match.group("word") in OPERATORS:
            negate = match.group("word") == "NOT"
            continue
        if match.group("word") == "OR":
            words = []
            groups.append(words)
            continue
        after_not, negate = negate, False
        negated = after_not or bool(match.group("fneg") or match.group("neg"))
        if match.group("field") is not None:
            name = match.group("field").lower()
            value = (match.group("fquoted") if match.group("fquoted") is not None else match.group("fvalue")).strip()
            if name in FIELDS and value:
                _filter(parsed, name, value, negated)
            elif name in FIELDS:
                parsed.problems.append(f"{name}: has no value (e.g. {name}:{_EXAMPLES[name]}), so it was left out")
            elif negated and analyze(match.group().lstrip("-")):
                _exclude(parsed, match.group().lstrip("-"))
            else:
                words.append(match.group())  # "12:30", "http://…": words, not filters
        elif match.group("phrase") is not None:
            tokens = analyze(match.group("phrase"))
            if not tokens:
                continue
            if negated:
                _exclude(parsed, match.group("phrase").strip())
            else:
                if len(tokens) > 1:
                    parsed.phrases.append(tokens)
                words.append(match.group("phrase"))
        else:
            word = match.group("word")
            body = word.lstrip("-")
            if after_not and body == word and not says_something(word):
                words += ["NOT", word]  # "NOT FOR SALE": a title in capitals, not a stop word left out
            elif (negated or body != word) and analyze(body):
                _exclude(parsed, body)
            else:
                words.append(word)
    _take_alternatives(parsed, [" ".join(_take_date_phrases(parsed, group)) for group in groups])
    if parsed.has_filters and not says_something(parsed.text):
        # "photos taken in October 2008", "show me tag:beach": the words only wrap the filters.
        # Searched, they would be words nobody wrote, and no result would hold them.
        parsed.text = ""
    return parsed


def _take_alternatives(parsed: ParsedQuery, texts: list[str]) -> None:
    """The words the signals score, and the alternatives when OR stood between words."""
    parsed.text = " ".join(text for text in texts if text)
    alternatives = [text for text in texts if says_something(text)]
    if len(alternatives) < 2:
        return  # "OR dog", "dog OR -cat", "dog OR the": one alternative, a plain query
    if len(alternatives) > MAX_ALTERNATIVES:
        parsed.problems.append(f"more than {MAX_ALTERNATIVES} alternatives joined by OR, so all their words were "
                               "searched together")
        return
    parsed.alternatives = alternatives
    # A phrase's word order is checked on every result, which cannot hold for the alternatives
    # that lack it: in an OR query a phrase counts as its words.
    parsed.phrases = []
    parsed.understood.append("any of " + ", ".join(f"“{text}”" for text in alternatives))


# In capitals, as Lucene and Google read them: NOT leaves out the part after it; AND changes nothing,
# since every word counts already. OR (handled in parse) splits the words into alternatives.
OPERATORS = ("NOT", "AND")
# Each alternative is one coverage statement when results are judged (search.service).
MAX_ALTERNATIVES = 8
# Each tag:, camera:, place:, type: or has: filter is a condition every candidate row is tested
# against (a place: one a regular expression over four fields and a subquery): a box of 85 of them
# took half a second on 100 assets. Nobody narrows by more than a few.
MAX_FILTERS = 16
_EXAMPLES = {"tag": "beach", "camera": "canon", "place": "paris", "type": "video", "has": "people",
             "before": "2019-06", "after": "2018"}
# has: what the library's "has text in the picture" and "has people" filters read.
HAS_WORDS = {"text": facets.TEXT_ANALYSER,
             **dict.fromkeys(("people", "person", "persons", "face", "faces"), facets.FACES_ANALYSER)}
HAS_NAMES = {facets.TEXT_ANALYSER: "text in the picture", facets.FACES_ANALYSER: "people"}


def _exclude(parsed: ParsedQuery, text: str) -> None:
    parsed.excluded += analyze(text)
    parsed.understood.append(f"without “{text}”")


def _filter(parsed: ParsedQuery, name: str, value: str, negated: bool = False) -> None:
    if name in ("before", "after") and period_of(value) is None:
        parsed.problems.append(f"{name}:{value} is not a date (use a year, 2019-05 or 2019-05-01), so it was left out")
        return
    if name == "has":
        if value.lower() not in HAS_WORDS:
            parsed.problems.append(f"has:{value} is not something the box knows (use has:text or has:people), "
                                   "so it was left out")
            return
        value = HAS_WORDS[value.lower()]
    if name == "type":
        value = TYPE_WORDS.get(value.lower(), value)
    if name not in ("before", "after") and _filters_in_sql(parsed) >= MAX_FILTERS:
        problem = f"more than {MAX_FILTERS} filters, so the rest were left out"
        if problem not in parsed.problems:
            parsed.problems.append(problem)
        return
    if negated:
        parsed.left_out.append((name, value))
    elif name == "before":
        parsed.taken_before = min(filter(None, (parsed.taken_before, period_of(value).start)))
    elif name == "after":
        parsed.taken_from = max(filter(None, (parsed.taken_from, period_of(value).end)))
    else:
        {"tag": parsed.tags, "camera": parsed.cameras, "place": parsed.places, "type": parsed.types,
         "has": parsed.has}[name].append(value)
    parsed.understood.append(_described(name, value, negated))


def _filters_in_sql(parsed: ParsedQuery) -> int:
    return (len(parsed.tags) + len(parsed.cameras) + len(parsed.places) + len(parsed.types) + len(parsed.has)
            + len(parsed.left_out))


def _described(name: str, value: str, negated: bool) -> str:
    if name in ("before", "after"):
        return f"{'not ' if negated else ''}taken {name} {value}"
    if name == "has":
        return f"{'without' if negated else 'has'} {HAS_NAMES[value]}"
    return f"{'without ' if negated else ''}{name}: {value}"


# What people call the media types (type:photos is type:image); other values match a part of the
# MIME type (type:heic, type:mp4, type:pdf).
TYPE_WORDS = {
    **dict.fromkeys(("images", "photo", "photos", "picture", "pictures", "pic", "pics"), "image"),
    **dict.fromkeys(("videos", "movie", "movies", "film", "films", "clip", "clips"), "video"),
    **dict.fromkeys(("music", "sound", "sounds", "recording", "recordings"), "audio"),
    **dict.fromkeys(("documents", "doc", "docs"), "document"),
}


def _take_date_phrases(parsed: ParsedQuery, words: list[str]) -> list[str]:
    """`words` without the date phrases, which become date filters: a month or season with its
    year ("October 2008", "summer 2019") and a day of a named month ("22 October 2008", "Oct 22nd,
    2008"). A day that does not exist ("30 February 2020") is a word, and its month still a filter."""
    kept: list[str] = []
    index = 0
    while index < len(words):
        day, used = _named_day(words[index : index + 4])
        if day is not None:
            parsed.periods.append(Period(day, day + dt.timedelta(days=1)))
            parsed.understood.append(f"taken on {day.day} {calendar.month_name[day.month]} {day.year}")
            index += used
            continue
        word = words[index].lower().strip(",.")
        year = _year(words[index + 1].strip(",.")) if index + 1 < len(words) else None
        if year is not None and word in MONTHS:
            start = dt.date(year, MONTHS[word], 1)
            parsed.periods.append(Period(start, _next_month(start)))
            parsed.understood.append(f"taken in {calendar.month_name[start.month]} {year}")
            index += 2
        elif year is not None and word in SEASONS:
            parsed.seasons.append((SEASONS[word], year))
            parsed.understood.append(f"taken in {SEASONS[word]} {year}")
            index += 2
        else:
            kept.append(words[index])
            index += 1
    return kept


_DAY_RE = re.compile(r"^(\d{1,2})(?:st|nd|rd|th)?$")


def _named_day(words: list[str]) -> tuple[dt.date | None, int]:
    """The day the first words name, day first or month first ("22 October 2008", "22nd of
    October 2008", "October 22, 2008"), and how many words that took; (None, 0) if they name none."""
    plain = [word.lower().strip(",.") for word in words]
    if len(plain) >= 4 and plain[1] == "of":
        plain, used = [plain[0], *plain[2:4]], 4
    else:
        plain, used = plain[:3], 3
    if len(plain) < 3 or _year(plain[2]) is None:
        return None, 0
    for day, month in ((plain[0], plain[1]), (plain[1], plain[0])):
        match = _DAY_RE.match(day)
        if match and month in MONTHS:
            try:
                return dt.date(_year(plain[2]), MONTHS[month], int(match.group(1))), used
            except ValueError:
                return None, 0
    return None, 0


# --- What the query means for the set of assets ----------------------------------------------

PHRASE_TERMS_IN_SQL = 8
_TAG_SEPARATOR = "\x1f"  # cannot occur in a tag (control characters are refused at the door)


def narrow(visible: QuerySet, parsed: ParsedQuery) -> QuerySet:
    """`visible` narrowed by the query's filters, exclusions and phrases' words (their order is
    checked on the ranked results: `phrase_holds`)."""
    named = {name for name, _ in parsed.left_out}
    if parsed.tags or "tag" in named:
        joined = Func(F("tags"), Value(_TAG_SEPARATOR), function="array_to_string", output_field=TextField())
        visible = visible.alias(_tags_line=Concat(Value(_TAG_SEPARATOR), Lower(joined), Value(_TAG_SEPARATOR),
                                                  output_field=TextField()))
    if parsed.cameras or "camera" in named:
        visible = visible.alias(_camera=facets.CAMERA)
    for name, values in (("tag", parsed.tags), ("camera", parsed.cameras), ("place", parsed.places),
                         ("type", parsed.types), ("has", parsed.has)):
        for value in values:
            visible = visible.filter(_matching(name, value))
    if parsed.taken_before:
        visible = visible.filter(taken_at__lt=_midnight(parsed.taken_before))
    if parsed.taken_from:
        visible = visible.filter(taken_at__gte=_midnight(parsed.taken_from))
    if parsed.periods:
        visible = visible.filter(_any(
            Q(taken_at__gte=_midnight(period.start), taken_at__lt=_midnight(period.end)) for period in parsed.periods
        ))
    if parsed.seasons:
        visible = visible.filter(_any(
            Exists(Analysis.objects.filter(asset=OuterRef("pk"), analyser="dates", data__season=season,
                                           data__year=year))
            for season, year in parsed.seasons
        ))
    for index, (name, value) in enumerate(parsed.left_out):
        # Through CASE, so that a condition SQL finds unknown (no camera, no place, no date) counts
        # as not holding, and the asset stays: NOT of an unknown would leave it out.
        holds = Case(When(_matching(name, value), then=Value(True)), default=Value(False))
        visible = visible.alias(**{f"_holds_{index}": holds}).filter(**{f"_holds_{index}": False})
    if parsed.excluded:
        visible = visible.exclude(Exists(Posting.objects.filter(document_id=OuterRef("pk"),
                                                                term__in=parsed.excluded)))
    for term in phrase_terms_in_sql(parsed):
        visible = visible.filter(Exists(Posting.objects.filter(document_id=OuterRef("pk"), term=term)))
    return visible


def _matching(name: str, value: str) -> Q:
    """The assets filter `name` with `value` picks (narrow() gives tag: and camera: their aliases)."""
    if name == "tag":
        return Q(_tags_line__contains=f"{_TAG_SEPARATOR}{value.lower()}{_TAG_SEPARATOR}")
    if name == "camera":
        return Q(_camera__iregex=facets.starting_a_word(value))
    if name == "place":
        return facets.typed_place(value)
    if name == "type":
        return Q(media_type__iexact=value) | Q(mime_type__icontains=value)
    if name == "has":
        return Q(facets.has_finding(value))
    period = period_of(value)
    if name == "before":
        return Q(taken_at__lt=_midnight(period.start))
    return Q(taken_at__gte=_midnight(period.end))  # after


def phrase_terms_in_sql(parsed: ParsedQuery) -> list[str]:
    """The phrases' words that SQL requires, at most PHRASE_TERMS_IN_SQL of them, longest (and so
    likely rarest) first: each is one EXISTS, and PostgreSQL's time to plan a statement grows steeply
    with their number (here 9 ms for 5, 87 ms for 20, 6.7 s for 150: one search of many quoted words
    held the database for seconds). Leaving some out only lets more candidates through, since
    `phrase_holds` checks every phrase, word for word, on the ranked results."""
    terms = {term for phrase in parsed.phrases for term in phrase}
    return sorted(terms, key=lambda term: (-len(term), term))[:PHRASE_TERMS_IN_SQL]


def _midnight(day: dt.date) -> dt.datetime:
    return dt.datetime(day.year, day.month, day.day, tzinfo=dt.UTC)


def _any(conditions) -> Q:
    combined = Q()
    for condition in conditions:
        combined |= Q(condition)
    return combined


def phrase_holds(asset, phrases: list[list[str]]) -> bool:
    """Whether every phrase's tokens appear together, in order, in one field of the asset."""
    if not phrases:
        return True
    fields = [analyze(text) for text in field_texts(asset).values()]
    return all(any(_contains(tokens, phrase) for tokens in fields) for phrase in phrases)


def _contains(tokens: list[str], phrase: list[str]) -> bool:
    size = len(phrase)
    return any(tokens[i : i + size] == phrase for i in range(len(tokens) - size + 1))
