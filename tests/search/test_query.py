"""The search box's language: filters, exclusions, phrases and date phrases, parsed and applied."""

from __future__ import annotations

import datetime as dt

import pytest

from assets import actions
from assets.models import Analysis, Asset
from search.query import (
    MAX_ALTERNATIVES,
    MAX_FILTERS,
    PHRASE_TERMS_IN_SQL,
    Period,
    narrow,
    parse,
    period_of,
    phrase_terms_in_sql,
)
from search.service import FILTERS, SearchRequest, search
from tests.search.conftest import make_asset


def test_words_filters_exclusions_and_phrases_are_told_apart():
    parsed = parse('red kayak tag:lake -night "golden hour" camera:"EOS 5D" place:paris type:video after:2018')
    assert parsed.text == "red kayak golden hour"
    assert parsed.tags == ["lake"] and parsed.cameras == ["EOS 5D"] and parsed.places == ["paris"]
    assert parsed.types == ["video"] and parsed.excluded == ["night"] and parsed.phrases == [["golden", "hour"]]
    assert parsed.taken_from == dt.date(2019, 1, 1)  # after 2018: from its end on
    assert parsed.problems == []


def test_month_and_season_with_a_year_become_date_filters_and_a_year_alone_stays_a_word():
    parsed = parse("boats October 2008 summer 2019 2012")
    assert parsed.text == "boats 2012"
    assert parsed.periods == [Period(dt.date(2008, 10, 1), dt.date(2008, 11, 1))]
    assert parsed.seasons == [("summer", 2019)]
    assert parse("Dec 1999").periods == [Period(dt.date(1999, 12, 1), dt.date(2000, 1, 1))]
    # A day of a named month, either way round.
    day = [Period(dt.date(2008, 10, 22), dt.date(2008, 10, 23))]
    for query in ("22 October 2008", "October 22, 2008", "Oct 22nd 2008", "22nd of October 2008"):
        parsed = parse(f"harbour {query}")
        assert (parsed.periods, parsed.text) == (day, "harbour"), query
    assert parse("22 October 2008").understood == ["taken on 22 October 2008"]
    parsed = parse("30 February 2020")  # no such day: a word, and the month still counts
    assert parsed.periods == [Period(dt.date(2020, 2, 1), dt.date(2020, 3, 1))] and parsed.text == "30"
    assert parse("fall 2020").seasons == [("autumn", 2020)]
    # Words that only wrap the filters say nothing: the filters alone are the query.
    assert parse("photos taken in October 2008").text == parse("show me tag:beach").text == ""
    assert parse("The Who").text == "The Who"  # stop words without a filter are still searched


@pytest.mark.parametrize(("value", "period"), [
    ("2019", Period(dt.date(2019, 1, 1), dt.date(2020, 1, 1))),
    ("2019-02", Period(dt.date(2019, 2, 1), dt.date(2019, 3, 1))),
    ("2019-12-31", Period(dt.date(2019, 12, 31), dt.date(2020, 1, 1))),
    ("2019-02-30", None), ("2019-13", None), ("0001", None), ("soon", None), ("", None),
])
def test_dates_in_before_and_after(value, period):
    assert period_of(value) == period


def test_what_is_not_understood_is_searched_as_words_and_named():
    parsed = parse("before:someday tag: 12:30 http://example.com/x -")
    assert parsed.text == "12:30 http://example.com/x -"
    assert len(parsed.problems) == 2 and parsed.taken_before is None and parsed.tags == []


def test_a_minus_or_not_before_a_filter_leaves_out_what_it_matches():
    parsed = parse('kayak -tag:draft NOT camera:"EOS 5D" -has:people -before:2019 -type:photos')
    assert parsed.text == "kayak"
    assert parsed.left_out == [("tag", "draft"), ("camera", "EOS 5D"), ("has", "faces"), ("before", "2019"),
                               ("type", "image")]
    assert parsed.tags == parsed.cameras == parsed.types == parsed.has == [] and parsed.taken_before is None
    assert parsed.understood == ["without tag: draft", "without camera: EOS 5D", "without people",
                                 "not taken before 2019", "without type: image"]
    assert parse("has:text has:Faces").has == ["text_in_image", "faces"]
    # NOT in capitals is the minus, for words and phrases too; AND changes nothing; OR is named.
    assert parse('harbour NOT night NOT "golden hour"').excluded == ["night", "golden", "hour"]
    assert parse("dog AND cat").text == "dog cat" and parse("dog AND cat").problems == []
    assert parse("not a dog").excluded == []  # lower case: words
    assert parse("NOT FOR SALE").excluded == [] and parse("NOT FOR SALE").text == "NOT FOR SALE"  # a title
    # A value the box cannot use is named, never a filter: has:cats, -before:soon, -has:
    parsed = parse("has:cats -before:soon -has:")
    assert parsed.has == parsed.left_out == [] and len(parsed.problems) == 3
    assert parse("--dog").understood == ["without “dog”"]
    # A box of hostile length holds at most MAX_FILTERS filters (each is tested on every candidate).
    many = parse(" ".join(f"-place:p{index}" for index in range(MAX_FILTERS + 5)) + " tag:kept after:2001")
    assert len(many.left_out) == MAX_FILTERS and many.tags == [] and many.taken_from == dt.date(2002, 1, 1)
    assert many.problems == [f"more than {MAX_FILTERS} filters, so the rest were left out"]


def _ids(user, query, **options):
    response = search(Asset.objects.visible_to(user), SearchRequest(query=query, mode="keyword", **options),
                      user=user)
    return [hit.asset.pk for hit in response.hits]


def _taken(year, month, day=15):
    return dt.datetime(year, month, day, 12, tzinfo=dt.UTC)


@pytest.mark.django_db
def test_filters_narrow_every_signal_and_a_filter_alone_lists_newest_first(alice):
    beach = make_asset(alice, title="beach", tags=["Holiday", "sea"], camera_make="Canon", camera_model="EOS 5D",
                       taken_at=_taken(2008, 10))
    other = make_asset(alice, title="beach", tags=["holidays"], camera_make="NIKON", taken_at=_taken(2019, 7))
    video = make_asset(alice, title="beach", media_type="video", mime_type="video/mp4", taken_at=_taken(2020, 1))
    assert _ids(alice, "beach tag:holiday") == [beach.pk]  # a whole tag, any case: not "holidays"
    assert _ids(alice, "beach camera:canon") == [beach.pk]
    assert _ids(alice, "beach type:video") == [video.pk]
    assert _ids(alice, "beach type:mp4") == [video.pk]
    assert _ids(alice, "beach type:Movies") == [video.pk]  # what people call the media types
    assert sorted(_ids(alice, "beach type:photos")) == sorted([beach.pk, other.pk])
    assert parse("type:pics").understood == ["type: image"]
    assert _ids(alice, "beach before:2019") == [beach.pk]
    assert sorted(_ids(alice, "beach after:2008")) == sorted([other.pk, video.pk])
    assert _ids(alice, "beach October 2008") == [beach.pk]
    assert _ids(alice, "beach 15 October 2008") == [beach.pk] and _ids(alice, "beach Oct 16th, 2008") == []
    response = search(Asset.objects.visible_to(alice), SearchRequest(query="after:2000", mode="keyword"), user=alice)
    assert [hit.asset.pk for hit in response.hits] == [video.pk, other.pk, beach.pk]
    assert all(FILTERS in hit.explanation["signals"] for hit in response.hits)
    assert response.understood == ["taken after 2000"]


@pytest.mark.django_db
def test_a_season_follows_the_hemisphere_the_date_words_analyser_gave_it(alice):
    north = make_asset(alice, title="garden", taken_at=_taken(2019, 7))
    south = make_asset(alice, title="garden", taken_at=_taken(2019, 1), gps_latitude=-33.9)
    for asset, season in ((north, "summer"), (south, "summer")):
        Analysis.objects.create(asset=asset, analyser="dates", model_id="dates-v1",
                                data={"season": season, "year": 2019, "month": asset.taken_at.month})
    assert sorted(_ids(alice, "garden summer 2019")) == sorted([north.pk, south.pk])
    assert _ids(alice, "garden winter 2019") == []


@pytest.mark.django_db
def test_places_come_from_the_place_finding_or_the_embedded_metadata(alice):
    found = make_asset(alice, title="square")
    Analysis.objects.create(asset=found, analyser="place", model_id="geonames", text="Siena, Tuscany, Italy",
                            data={"city": "Siena", "country": "Italy"})
    embedded = make_asset(alice, title="square", exif={"embedded": {"city": "Siena"}})
    make_asset(alice, title="square")
    assert sorted(_ids(alice, "square place:siena")) == sorted([found.pk, embedded.pk])
    assert _ids(alice, "square place:tuscany") == [found.pk]


@pytest.mark.django_db
def test_a_place_filter_folds_accents_and_case_as_words_do(alice):
    zurich = make_asset(alice, title="lake")
    Analysis.objects.create(asset=zurich, analyser="place", model_id="geonames", text="Zurich, Zurich, Switzerland",
                            data={"city": "Zurich", "country": "Switzerland"})
    sao_paulo = make_asset(alice, title="lake", exif={"embedded": {"city": "São Paulo", "country": "BRASIL"}})
    make_asset(alice, title="lake", exif={"embedded": {"city": "Paris"}})
    assert _ids(alice, "lake place:Zürich") == [zurich.pk]
    assert _ids(alice, 'lake place:"sao paulo"') == _ids(alice, 'lake place:"SÃO PAULO"') == [sao_paulo.pk]
    assert _ids(alice, "lake place:brasil") == [sao_paulo.pk]
    assert _ids(alice, "lake place:100%") == []  # LIKE's wildcards are the value's own characters
    assert _ids(alice, "lake place:ich") == []  # where a word starts: not inside "Zurich"
    assert _ids(alice, "lake place:zur") == [zurich.pk]
    assert _ids(alice, "lake place:(") == _ids(alice, "lake place:.*") == []  # literal, not a pattern
    # The place as people see it: an editor's correction is what place: reads.
    actions.correct_analysis(alice, zurich.pk, "place", "Geneva, Switzerland")
    assert _ids(alice, "lake place:geneva") == [zurich.pk]
    assert _ids(alice, "lake place:zurich") == []


@pytest.mark.django_db
def test_many_quoted_words_are_planned_quickly_and_still_matched_in_order(alice):
    """Each phrase word SQL requires is one EXISTS, and PostgreSQL took 6.7 s to plan 150 of them:
    SQL requires at most PHRASE_TERMS_IN_SQL, and the order check on the results still holds every
    phrase to every word."""
    words = [f"w{index:02d}" for index in range(24)]
    both = make_asset(alice, description=" ".join(words))
    scrambled = make_asset(alice, description=" ".join(reversed(words)))
    query = " ".join(f'"{first} {second}"' for first, second in zip(words[::2], words[1::2], strict=True))
    parsed = parse(query)
    narrowed = narrow(Asset.objects.visible_to(alice), parsed).values("pk")
    assert str(narrowed.query).count('"search_posting"') == PHRASE_TERMS_IN_SQL
    assert set(narrowed.values_list("pk", flat=True)) == {both.pk, scrambled.pk}  # all the words: both
    assert _ids(alice, query, weak=True) == [both.pk]  # in order: one
    # A phrase whose words stand apart, among the ones SQL does not require, still rules out.
    assert not {words[20], words[22]} & set(phrase_terms_in_sql(parsed))
    apart = query.replace(f'"{words[22]} {words[23]}"', f'"{words[22]} {words[20]}"')
    assert _ids(alice, apart, weak=True) == []


@pytest.mark.django_db
def test_excluded_words_and_phrases(alice):
    night = make_asset(alice, description="harbour lights at night")
    day = make_asset(alice, description="harbour in the golden hour")
    scrambled = make_asset(alice, description="an hour of golden harbour light")
    assert set(_ids(alice, "harbour -night", weak=True)) == {day.pk, scrambled.pk}
    assert night.pk not in _ids(alice, 'harbour -"at night"', weak=True)
    assert _ids(alice, '"golden hour"', weak=True) == [day.pk]  # the words together and in order



@pytest.mark.django_db
def test_filters_left_out_keep_the_assets_they_cannot_judge(alice):
    """-camera:, -place:, -before: leave out what the filter picks; an asset with no camera, no place
    or no date taken is not picked by it, so it stays (SQL's NOT of an unknown would drop it)."""
    canon = make_asset(alice, title="pier", camera_make="Canon", tags=["draft"], taken_at=_taken(2008, 10))
    nikon = make_asset(alice, title="pier", camera_make="NIKON", taken_at=_taken(2020, 5))
    unknown = make_asset(alice, title="pier")
    Analysis.objects.create(asset=nikon, analyser="place", model_id="geonames", text="Siena, Tuscany, Italy",
                            data={"city": "Siena", "country": "Italy"})
    Analysis.objects.create(asset=canon, analyser="faces", model_id="mtcnn", text="person\none person")
    Analysis.objects.create(asset=nikon, analyser="faces", model_id="mtcnn", text="")  # looked: nobody
    Analysis.objects.create(asset=unknown, analyser="text_in_image", model_id="ocr", text="EXIT")
    everyone = {canon.pk, nikon.pk, unknown.pk}
    assert set(_ids(alice, "pier -camera:canon")) == everyone - {canon.pk}
    assert set(_ids(alice, "pier NOT camera:canon")) == everyone - {canon.pk}
    assert set(_ids(alice, "pier -place:siena")) == everyone - {nikon.pk}
    assert set(_ids(alice, "pier -tag:draft")) == everyone - {canon.pk}
    assert set(_ids(alice, "pier -before:2019")) == everyone - {canon.pk}
    assert set(_ids(alice, "pier -after:2019")) == everyone - {nikon.pk}
    assert set(_ids(alice, "pier -type:photos")) == set()
    assert _ids(alice, "pier has:people") == [canon.pk]
    assert set(_ids(alice, "pier -has:people")) == {nikon.pk, unknown.pk}
    assert _ids(alice, "pier has:text") == [unknown.pk]
    # An editor's correction is what has: reads, as in the library.
    actions.correct_analysis(alice, canon.pk, "faces", "")
    assert _ids(alice, "pier has:people") == []
    # A word that starts like a filter but names none is left out as words, as before.
    assert set(_ids(alice, "pier -pier:x", weak=True)) == set()


def test_or_between_words_makes_alternatives_and_filters_hold_for_all():
    parsed = parse('red car OR "blue truck" -night tag:fleet OR')
    assert parsed.alternatives == ["red car", "blue truck"] and parsed.text == "red car blue truck"
    assert parsed.phrases == []  # a phrase in an OR query counts as its words
    assert parsed.excluded == ["night"] and parsed.tags == ["fleet"]
    assert parsed.understood[-1] == "any of “red car”, “blue truck”"
    assert parse("OR dog").alternatives == parse("dog OR -cat").alternatives == []  # one alternative
    assert parse("dog or cat").alternatives == []  # lower case: a word
    assert parse("dog OR the").alternatives == []  # an alternative of stop words says nothing
    many = parse(" OR ".join(f"w{index}" for index in range(MAX_ALTERNATIVES + 1)))
    assert many.alternatives == [] and len(many.problems) == 1


@pytest.mark.django_db
def test_a_result_holding_most_of_one_alternative_is_a_strong_match(alice):
    """Without OR a strong keyword match holds at least half of what the query says, and a word
    nobody wrote counts in full; with OR, half of any one alternative."""
    dog = make_asset(alice, description="a dog on the grass")
    lizard = make_asset(alice, description="a lizard on a warm rock")
    make_asset(alice, description="a cat on the sofa")
    assert _ids(alice, "dog kayak") == []  # "kayak" is in no document: "dog" alone is not enough
    assert _ids(alice, "dog OR kayak") == [dog.pk]
    assert sorted(_ids(alice, "dog OR lizard OR kayak")) == sorted([dog.pk, lizard.pk])
    assert _ids(alice, "dog OR lizard -rock") == [dog.pk]
    assert _ids(alice, "sofa kayak OR cat rock", weak=True)  # weak ones are still found
