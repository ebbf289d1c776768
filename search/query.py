"""What a person typed in the search box, understood: words, "quoted phrases", -exclusions,
field filters (tag:, camera:, place:, type:, before:, after:) and date phrases.

    red kayak tag:lake -night "golden hour" camera:canon after:2018 October 2019

- Words and phrases are what the signals score (BM25, text vectors, rerank); a phrase's words
  must also appear together, in order, in one field of a result.
- -word (or -"two words") leaves out the assets whose document holds it.
- tag:, camera:, place:, type: filter (case-insensitive; tag: is a whole tag, camera: and place:
  match where a word starts, type: a part of the MIME type: camera:canon, place:paris, type:video
  or type:heic; type: knows what people call the media types: type:photos is type:image). A value
  with spaces is quoted: place:"new york".
- before:/after: take a year, a month (2019-05) or a day (2019-05-01) and mean strictly before
  its start or strictly after its end: after:2018 is 2019 on.
- A month or season with a year ("October 2008", "summer 2019") filters by the date taken; the
  season follows the photo's hemisphere, as the date-words analyser decides it. A year alone
  stays a word: it matches the date words and any file name or text that holds it.
Anything not understood (a filter without a value, an impossible date) is searched as words
and named in `problems`, never an error: the box takes whatever people type.
"""

from __future__ import annotations

import calendar
import datetime as dt
import re
from dataclasses import dataclass, field

from django.db.models import Exists, F, Func, OuterRef, Q, QuerySet, TextField, Value
from django.db.models.functions import Concat, Lower

from assets import facets
from assets.documents import field_texts
from assets.models import Analysis
from search.analyzer import analyze
from search.models import Posting

FIELDS = ("tag", "camera", "place", "type", "before", "after")
MONTHS = {name.lower(): number for number, name in enumerate(calendar.month_name) if name}
MONTHS |= {name.lower(): number for number, name in enumerate(calendar.month_abbr) if name}
MONTHS["sept"] = 9
SEASONS = {"spring": "spring", "summer": "summer", "autumn": "autumn", "fall": "autumn", "winter": "winter"}
YEARS = range(1826, 2200)  # the first photograph to well past any camera clock

# A field filter (its value quoted or not), a quoted phrase (maybe excluded), or a bare word.
_PART_RE = re.compile(
    r'(?P<field>\w+):(?:"(?P<fquoted>[^"]*)"?|(?P<fvalue>\S*))'
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
    months: list[Period] = field(default_factory=list)  # "October 2008": any of them
    seasons: list[tuple[str, int]] = field(default_factory=list)  # ("summer", 2019): any of them
    understood: list[str] = field(default_factory=list)  # in words, for the page
    problems: list[str] = field(default_factory=list)

    @property
    def has_filters(self) -> bool:
        return bool(self.excluded or self.tags or self.cameras or self.places or self.types or self.taken_before
                    or self.taken_from or self.months or self.seasons or self.phrases)


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
    words: list[str] = []
    for match in _PART_RE.finditer(query):
        if match.group("field") is not None:
            name = match.group("field").lower()
            value = (match.group("fquoted") if match.group("fquoted") is not None else match.group("fvalue")).strip()
            if name in FIELDS and value:
                _filter(parsed, name, value)
            elif name in FIELDS:
                parsed.problems.append(f"{name}: needs a value, e.g. {name}:{_EXAMPLES[name]}")
            else:
                words.append(match.group())  # "12:30", "http://…": words, not filters
        elif match.group("phrase") is not None:
            tokens = analyze(match.group("phrase"))
            if not tokens:
                continue
            if match.group("neg"):
                parsed.excluded += tokens
                parsed.understood.append(f"without “{match.group('phrase').strip()}”")
            else:
                if len(tokens) > 1:
                    parsed.phrases.append(tokens)
                words.append(match.group("phrase"))
        else:
            word = match.group("word")
            if word.startswith("-") and len(word) > 1 and analyze(word[1:]):
                parsed.excluded += analyze(word[1:])
                parsed.understood.append(f"without “{word[1:]}”")
            else:
                words.append(word)
    parsed.text = " ".join(_take_date_phrases(parsed, words))
    return parsed


_EXAMPLES = {"tag": "beach", "camera": "canon", "place": "paris", "type": "video", "before": "2019-06",
             "after": "2018"}


def _filter(parsed: ParsedQuery, name: str, value: str) -> None:
    if name in ("before", "after"):
        period = period_of(value)
        if period is None:
            parsed.problems.append(f"{name}:{value} is not a date: use a year, 2019-05 or 2019-05-01")
        elif name == "before":
            parsed.taken_before = min(filter(None, (parsed.taken_before, period.start)))
            parsed.understood.append(f"taken before {value}")
        else:
            parsed.taken_from = max(filter(None, (parsed.taken_from, period.end)))
            parsed.understood.append(f"taken after {value}")
        return
    if name == "type":
        value = TYPE_WORDS.get(value.lower(), value)
    target = {"tag": parsed.tags, "camera": parsed.cameras, "place": parsed.places, "type": parsed.types}[name]
    target.append(value)
    parsed.understood.append(f"{name}: {value}")


# What people call the media types (type:photos is type:image); other values match a part of the
# MIME type (type:heic, type:mp4, type:pdf).
TYPE_WORDS = {
    **dict.fromkeys(("images", "photo", "photos", "picture", "pictures", "pic", "pics"), "image"),
    **dict.fromkeys(("videos", "movie", "movies", "film", "films", "clip", "clips"), "video"),
    **dict.fromkeys(("music", "sound", "sounds", "recording", "recordings"), "audio"),
    **dict.fromkeys(("documents", "doc", "docs"), "document"),
}


def _take_date_phrases(parsed: ParsedQuery, words: list[str]) -> list[str]:
    """`words` without the month/season + year pairs, which become date filters."""
    kept: list[str] = []
    index = 0
    while index < len(words):
        word = words[index].lower().strip(",.")
        year = _year(words[index + 1].strip(",.")) if index + 1 < len(words) else None
        if year is not None and word in MONTHS:
            start = dt.date(year, MONTHS[word], 1)
            parsed.months.append(Period(start, _next_month(start)))
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


# --- What the query means for the set of assets ----------------------------------------------

PHRASE_TERMS_IN_SQL = 8
_TAG_SEPARATOR = "\x1f"  # cannot occur in a tag (control characters are refused at the door)


def narrow(visible: QuerySet, parsed: ParsedQuery) -> QuerySet:
    """`visible` narrowed by the query's filters, exclusions and phrases' words (their order is
    checked on the ranked results: `phrase_holds`)."""
    if parsed.tags:
        joined = Func(F("tags"), Value(_TAG_SEPARATOR), function="array_to_string", output_field=TextField())
        visible = visible.alias(_tags_line=Concat(Value(_TAG_SEPARATOR), Lower(joined), Value(_TAG_SEPARATOR),
                                                  output_field=TextField()))
    for tag in parsed.tags:
        visible = visible.filter(_tags_line__contains=f"{_TAG_SEPARATOR}{tag.lower()}{_TAG_SEPARATOR}")
    for camera in parsed.cameras:
        visible = visible.alias(_camera=facets.CAMERA).filter(_camera__iregex=facets.starting_a_word(camera))
    for place in parsed.places:
        visible = visible.filter(facets.typed_place(place))
    for kind in parsed.types:
        visible = visible.filter(Q(media_type__iexact=kind) | Q(mime_type__icontains=kind))
    if parsed.taken_before:
        visible = visible.filter(taken_at__lt=_midnight(parsed.taken_before))
    if parsed.taken_from:
        visible = visible.filter(taken_at__gte=_midnight(parsed.taken_from))
    if parsed.months:
        visible = visible.filter(_any(
            Q(taken_at__gte=_midnight(period.start), taken_at__lt=_midnight(period.end)) for period in parsed.months
        ))
    if parsed.seasons:
        visible = visible.filter(_any(
            Exists(Analysis.objects.filter(asset=OuterRef("pk"), analyser="dates", data__season=season,
                                           data__year=year))
            for season, year in parsed.seasons
        ))
    if parsed.excluded:
        visible = visible.exclude(Exists(Posting.objects.filter(document_id=OuterRef("pk"),
                                                                term__in=parsed.excluded)))
    for term in phrase_terms_in_sql(parsed):
        visible = visible.filter(Exists(Posting.objects.filter(document_id=OuterRef("pk"), term=term)))
    return visible


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
