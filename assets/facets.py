"""Facet counts: how many of a set of assets have each tag, place, camera, year and type.

``facets(queryset)`` counts over whatever set it is given (the assets a person sees, with their
filters applied: the library, later the search page), one GROUP BY statement per facet and no work
per asset in Python; each facet keeps its most common values. The SQL expressions that group the
camera and place facets are the same ones the filters compare with (``camera_matches``,
``place_matches``), so a facet's link always finds the assets it counted; text a person typed that is
no facet value matches where a word starts (``by_camera``, ``by_place``).

Places come from the place analyser's findings: the place facet lists countries (every asset in the
country) and cities with their country, side by side. A finding's ``data`` names its city as ``"city"``,
or, as the GeoNames analyser (workers/ml/analysers/place.py) writes it, as the ``"nearest"`` place
``"distance_km"`` away, which counts as the photo's city within ``CITY_KM`` and its country within
``COUNTRY_KM``: the distances within which that analyser puts them in its text (farther out, at sea,
naming the nearest town would be wrong). A place a person corrected is counted as they wrote it, as
one value ("Lyon, France"), and no longer under the machine's city and country; corrected to nothing,
it counts nowhere.
"""

from __future__ import annotations

import re
import unicodedata
from typing import NamedTuple

from django.core.exceptions import EmptyResultSet
from django.db import connection
from django.db.models import (
    Case,
    CharField,
    Count,
    Exists,
    F,
    FloatField,
    Func,
    Min,
    OuterRef,
    Q,
    QuerySet,
    Value,
    When,
)
from django.db.models.fields.json import KT, KeyTransform
from django.db.models.functions import Cast, Coalesce, Concat, ExtractYear, NullIf, Trim
from django.db.models.lookups import Exact, GreaterThan, IExact, IRegex, LessThanOrEqual, Regex

from assets.metadata import PLACE_FIELDS
from assets.models import Analysis, Asset
from mediavault.folding import folded_in_sql, normalize

TOP = 12  # values kept per facet
FACETS = ("tags", "place", "camera", "year", "type")
PLACE_ANALYSER = "place"
CITY_KM, COUNTRY_KM = 30.0, 150.0  # the place analyser's MAX_PLACE_KM and MAX_REGION_KM


class FacetValue(NamedTuple):
    value: str  # what the filter takes
    count: int
    label: str  # what people read


def _concat_ws(*expressions) -> Func:
    """PostgreSQL's concat_ws(', ', ...): the non-null parts joined."""
    return Func(Value(", "), *expressions, function="concat_ws", output_field=CharField())


# "Canon Canon EOS 40D" is what the columns say; the label drops the repeated make.
CAMERA = Trim(Concat("camera_make", Value(" "), "camera_model", output_field=CharField()))
# The finding's distance to its nearest place, when it gave one as a number (else NULL: never a cast error).
_DISTANCE = Case(
    When(Exact(Func(KeyTransform("distance_km", "data"), function="jsonb_typeof", output_field=CharField()),
               Value("number")), then=Cast(KT("data__distance_km"), FloatField())),
    default=None, output_field=FloatField(),
)
CITY = Coalesce(
    NullIf(KT("data__city"), Value("")),
    Case(When(LessThanOrEqual(_DISTANCE, CITY_KM), then=NullIf(KT("data__nearest"), Value(""))), default=None,
         output_field=CharField()),
    output_field=CharField(),
)
COUNTRY = Case(When(GreaterThan(_DISTANCE, COUNTRY_KM), then=None), default=NullIf(KT("data__country"), Value("")),
               output_field=CharField())
# "Siena, Italy", or the one of them a finding has.
PLACE = _concat_ws(CITY, COUNTRY)


# A finding's text as people see it: a person's correction wins over the machine's.
SHOWN_TEXT = Coalesce("corrected_text", "text", output_field=CharField())
# A corrected place is free text, with no city or country of its own to group by: it is a place
# value by itself (NULL when corrected to nothing, or not corrected).
CORRECTED_PLACE = NullIf(Trim("corrected_text"), Value(""), output_field=CharField())
_MACHINES = Q(corrected_text__isnull=True)


def camera_matches(value: str) -> IExact:
    """Assets whose camera ("make model", as the camera facet's values are) is this one."""
    return IExact(CAMERA, value)


def place_matches(value: str) -> Exists:
    """Assets whose place finding names this place: "City, Country" (the place facet's city values), or a
    city or a country alone (a country value: every asset in that country)."""
    places = Analysis.objects.filter(asset=OuterRef("pk"), analyser=PLACE_ANALYSER).alias(
        _place=PLACE, _city=CITY, _country=COUNTRY, _corrected=CORRECTED_PLACE
    )
    machine = Q(_place__iexact=value) | Q(_city__iexact=value) | Q(_country__iexact=value)
    return Exists(places.filter((_MACHINES & machine) | Q(_corrected__iexact=value)))


# Scripts written without spaces between words (Chinese, Japanese, Thai...): a name there has no
# word start inside it to wait for, so "新宿" must find "東京都新宿区" anywhere.
UNSPACED_SCRIPTS = ("CJK", "HIRAGANA", "KATAKANA", "HANGUL", "THAI", "LAO", "KHMER", "MYANMAR", "TIBETAN")


def starting_a_word(value: str) -> str:
    """A PostgreSQL regular expression for `value`, taken literally, where a word starts: what a
    person types as part of a name ("us" finds "USA", not "Russia" or "Australia"; "40d" finds
    "EOS 40D"). In a script without spaces between words, anywhere."""
    first = value[:1]
    at_a_start = first.isalnum() and not unicodedata.name(first, "").startswith(UNSPACED_SCRIPTS)
    return (r"\m" if at_a_start else "") + re.escape(value)


def by_camera(queryset: QuerySet[Asset], value: str) -> QuerySet[Asset]:
    """The library's and the API's camera filter: a value the facet offers picks exactly what its link
    counted; any other text a person typed is matched where a word of the camera starts, case ignored
    ("canon": every Canon; "EOS 40D", the label a chip shows), as camera: in the search box is."""
    return _facet_value_or_typed(queryset, camera_matches(value), IRegex(CAMERA, starting_a_word(value)))


def by_place(queryset: QuerySet[Asset], value: str) -> QuerySet[Asset]:
    """The library's and the API's place filter: a value the facet offers picks exactly what its link
    counted; any other text is a typed place (`typed_place`)."""
    return _facet_value_or_typed(queryset, place_matches(value), typed_place(value))


def typed_place(value: str) -> Q:
    """Assets whose place, as people see it, has a word starting with `value`: the place finding (a
    region, "Missouri", or another name of the country, "USA", finds it too) or a place field
    embedded in the file (its location, city, region or country). Case and Latin accents are ignored
    on both sides ("zurich" finds "Zürich", "zürich" the GeoNames "Zurich"). The library's and the
    API's typed place and place: in the search box are this one condition."""
    wanted = starting_a_word(normalize(value))  # folded, as the texts are below
    named = (Analysis.objects.filter(asset=OuterRef("pk"), analyser=PLACE_ANALYSER)
             .alias(_shown=folded_in_sql(SHOWN_TEXT)).filter(_shown__regex=wanted))
    condition = Q(Exists(named))
    for key in PLACE_FIELDS:
        condition |= Q(Regex(folded_in_sql(KT(f"exif__embedded__{key}")), Value(wanted)))
    return condition


def _facet_value_or_typed(queryset: QuerySet[Asset], exact, typed) -> QuerySet[Asset]:
    """`exact` where some asset of `queryset` meets it (the value is one the facet offers), else
    `typed`. Asked of `queryset` itself, the caller's visible set: what a filter means never depends
    on assets the caller may not see."""
    chosen = queryset.filter(exact)
    return chosen if chosen.exists() else queryset.filter(typed)


TEXT_ANALYSER, FACES_ANALYSER = "text_in_image", "faces"


def has_finding(analyser: str) -> Exists:
    """Assets for which `analyser` found something, as people see it, so a finding corrected to
    nothing counts as none ("has text", "has people")."""
    return Exists(
        Analysis.objects.filter(asset=OuterRef("pk"), analyser=analyser).alias(_shown=Trim(SHOWN_TEXT))
        .exclude(_shown="")
    )


def _camera_label(make: str, model: str) -> str:
    make, model = make.strip(), model.strip()
    if make and model.lower().startswith(make.lower()):
        return model
    return " ".join(part for part in (make, model) if part)


def _ids(queryset: QuerySet[Asset]) -> QuerySet:
    """The set as a subquery of ids: whatever the queryset's joins, annotations or prefetches."""
    return queryset.order_by().values("pk")


def _tags(ids: QuerySet, top: int) -> list[FacetValue]:
    # unnest() needs a FROM of its own to be grouped; the id subquery is compiled by Django.
    try:
        sql, params = ids.query.sql_with_params()
    except EmptyResultSet:  # an empty set (.none(), an impossible filter): nothing to ask the database
        return []
    table = connection.ops.quote_name(Asset._meta.db_table)
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT tag, count(*) AS n FROM {table} AS a, unnest(a.tags) AS tag "
            f"WHERE a.id IN ({sql}) GROUP BY tag ORDER BY n DESC, tag LIMIT %s",
            [*params, top],
        )
        return [FacetValue(tag, n, tag) for tag, n in cursor.fetchall()]


def _places(ids: QuerySet, top: int) -> list[FacetValue]:
    """Countries ("Italy": every asset in Italy), cities in their country ("Siena, Italy") and the places
    people wrote, together. One value whatever its case or source: a correction "italy" counts with
    the machine's Italy, as the filter (case ignored) finds them both."""
    found = (
        Analysis.objects.filter(asset__in=ids, analyser=PLACE_ANALYSER).order_by().alias(_city=CITY)
        .values(country=Case(When(_MACHINES, then=COUNTRY), default=None, output_field=CharField()),
                city=Case(When(_MACHINES & Q(_city__isnull=False), then=PLACE), When(_MACHINES, then=None),
                          default=CORRECTED_PLACE, output_field=CharField()))
    )
    try:
        sql, params = found.query.sql_with_params()
    except EmptyResultSet:
        return []
    # Each finding gives its country and its city (or the place a person wrote) to one GROUP BY: a
    # single pass over the findings, in a shape Django's ORM does not write.
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT min(key) AS shown, count(*) AS n FROM ({sql}) AS f, "
            f"LATERAL (VALUES (f.country), (f.city)) AS v(key) WHERE key IS NOT NULL "
            f"GROUP BY lower(key) ORDER BY n DESC, shown LIMIT %s",
            [*params, top],
        )
        return [FacetValue(key, n, key) for key, n in cursor.fetchall()]


def _grouped(rows, key: str, top: int) -> list:
    return list(rows.values(key).annotate(n=Count("pk")).order_by("-n", key)[:top])


def facets(queryset: QuerySet[Asset], top: int = TOP) -> dict[str, list[FacetValue]]:
    """{facet: [FacetValue(value, count, label), ...]} over the assets of `queryset`, most common first
    (years newest first among the most common). Five statements, whatever the size of the set."""
    ids = _ids(queryset)
    assets = Asset.objects.filter(pk__in=ids)
    cameras = (
        assets.alias(_camera=CAMERA).exclude(_camera="").values(key=F("_camera"))
        .annotate(n=Count("pk"), make=Min("camera_make"), model=Min("camera_model")).order_by("-n", "key")[:top]
    )
    years = (
        assets.filter(taken_at__isnull=False).annotate(year=ExtractYear("taken_at"))
        .values("year").annotate(n=Count("pk")).order_by("-n", "-year")[:top]
    )
    types = _grouped(assets.exclude(media_type=""), "media_type", top)
    return {
        "tags": _tags(ids, top),
        "place": _places(ids, top),
        "camera": [
            FacetValue(row["key"], row["n"], _camera_label(row["make"], row["model"]))
            for row in cameras
        ],
        "year": sorted(
            (FacetValue(str(row["year"]), row["n"], str(row["year"])) for row in years),
            key=lambda facet: facet.value, reverse=True,
        ),
        "type": [FacetValue(row["media_type"], row["n"], row["media_type"]) for row in types],
    }
