"""bm25_scores on small hand-made corpora: CJK, identifiers, visibility and filters inside the SQL."""

from __future__ import annotations

import pytest
from django.contrib.auth import get_user_model
from django.db import connection

from assets.models import Asset, Visibility
from search import bm25
from search.bm25 import IMPACT_REFERENCE_LENGTH, K1, B, _slack, bm25_for_ids, bm25_scores
from tests.search.conftest import make_asset

pytestmark = pytest.mark.django_db


def test_a_chinese_query_finds_a_chinese_description(alice):
    target = make_asset(alice, original_filename="a.jpg", description="一辆红色的汽车停在路边")
    make_asset(alice, original_filename="b.jpg", description="一只白色的猫")
    make_asset(alice, original_filename="c.jpg", description="red car parked by the road")
    assert [pk for pk, _ in bm25_scores("红色汽车", visible=None, limit=10)] == [target.pk]


def test_file_name_identifiers_find_their_asset_first(alice):
    target = make_asset(alice, original_filename="IMG_5195.HEIC", title="IMG_5195")
    for name in ["IMG_5196.HEIC", "IMG_5194.HEIC", "DSC_5195.JPG", "IMG_0001.HEIC"]:
        make_asset(alice, original_filename=name, title=name.split(".")[0])
    for query in ["IMG_5195", "img5195", "IMG_5195.HEIC", "ＩＭＧ＿５１９５"]:
        assert bm25_scores(query, visible=None, limit=5)[0][0] == target.pk, query


def test_charlie_never_gets_alices_private_asset_even_as_the_best_match(alice, bob, charlie, team):
    private = make_asset(alice, description="kayak kayak kayak on a lake", visibility=Visibility.PRIVATE)
    team_only = make_asset(alice, description="kayak in the harbour", visibility=Visibility.TEAM, team=team)
    public = make_asset(alice, description="a red kayak, a lake and mountains", visibility=Visibility.ORGANISATION)

    def hits(user):
        return [pk for pk, _ in bm25_scores("kayak lake", visible=Asset.objects.visible_to(user), limit=10)]

    assert hits(alice)[0] == private.pk and set(hits(alice)) == {private.pk, team_only.pk, public.pk}
    assert set(hits(bob)) == {team_only.pk, public.pk}
    assert hits(charlie) == [public.pk]
    assert bm25_for_ids("kayak lake", [private.pk, public.pk], visible=Asset.objects.visible_to(charlie)) == {
        private.pk: 0.0,
        public.pk: pytest.approx(dict(bm25_scores("kayak lake", visible=None, limit=5))[public.pk]),
    }


def test_a_selective_filter_still_fills_the_page(alice, team):
    # Thirty better matches outside the team, then the team's weaker ones: the page is all team.
    for i in range(30):
        make_asset(alice, original_filename=f"o{i}.jpg", description="sunset sunset over the sea")
    in_team = [
        make_asset(
            alice,
            original_filename=f"t{i}.jpg",
            description=f"sunset number {i} with a long caption here",
            team=team,
            visibility=Visibility.TEAM,
        )
        for i in range(8)
    ]
    visible = Asset.objects.visible_to(alice).filter(team=team)
    page = bm25_scores("sunset", visible=visible, limit=5)
    assert len(page) == 5 and {pk for pk, _ in page} <= {a.pk for a in in_team}
    assert len(bm25_scores("sunset", visible=visible, limit=5, offset=5)) == 3


def test_a_search_costs_three_statements(alice, django_assert_num_queries):
    # Term statistics, the essential terms' best documents, which of those the caller may see:
    # a fixed cost, not one statement per candidate.
    for i in range(30):
        make_asset(alice, original_filename=f"b{i}.jpg", description=f"one small boat number {i}")
    with django_assert_num_queries(3):
        assert len(bm25_scores("small boat", visible=Asset.objects.visible_to(alice), limit=10)) == 10


def test_nothing_to_search_for_costs_no_query(alice, dave_like_user, django_assert_num_queries):
    make_asset(alice, description="one small boat")
    with django_assert_num_queries(0):
        assert bm25_scores("", visible=None, limit=10) == []
        assert bm25_scores("...", visible=None, limit=10) == []
        assert bm25_scores("boat", visible=Asset.objects.visible_to(dave_like_user), limit=10) == []
    assert bm25_scores("unknownword", visible=None, limit=10) == []


@pytest.fixture
def dave_like_user(db):
    """An account without staff rights: sees nothing."""
    return get_user_model().objects.create_user(username="nostaff", is_staff=False)


def test_the_impact_index_uses_the_constants_of_the_python_side():
    with connection.cursor() as cursor:
        cursor.execute("SELECT search_impact(3, 30), search_impact(1, 7)")
        got = cursor.fetchone()
    for (tf, dl), impact in zip([(3, 30), (1, 7)], got, strict=True):
        assert impact == pytest.approx(tf / (tf + K1 * (1 - B) + K1 * B * dl / IMPACT_REFERENCE_LENGTH), rel=1e-12)


@pytest.mark.parametrize("avgdl", [3.0, 11.5, 24.0, 40.0, 250.0])
def test_a_contribution_never_exceeds_its_impact_times_the_slack(avgdl):
    for tf in (1, 2, 5, 40):
        for dl in (tf, tf + 1, 10, 24, 60, 500):
            contribution = tf / (tf + K1 * (1 - B) + K1 * B * dl / avgdl)
            impact = tf / (tf + K1 * (1 - B) + K1 * B * dl / IMPACT_REFERENCE_LENGTH)
            assert contribution <= impact * _slack(avgdl) * (1 + 1e-12), (tf, dl)


def test_an_identifier_query_fills_the_page_from_the_long_list_exactly(alice, team, monkeypatch):
    # Every file is IMG_<n>.jpg: "img" and "jpg" are long lists; "5195" is held by one asset.
    # With a small essential budget the page is filled from "img" group by group, and must equal
    # full scoring, ties by id included, with and without a selective filter.
    monkeypatch.setattr(bm25, "ESSENTIAL_POSTINGS", 5)
    for n in range(60):
        words = " ".join(["harbour"] * (n % 4) + ["boat"] * (n % 3))
        in_team = n % 3 == 0
        make_asset(
            alice,
            original_filename=f"IMG_{5160 + n}.jpg",
            description=f"{words} img" * (1 + n % 2),
            team=team if in_team else None,
            visibility=Visibility.TEAM if in_team else Visibility.ORGANISATION,
        )
    scopes = {"all": None, "team": Asset.objects.visible_to(alice).filter(team=team)}
    for query in ["IMG_5195", "img_5170 boat", "IMG_5161.jpg"]:
        for name, visible in scopes.items():
            for limit, offset in ((10, 0), (24, 5), (100, 0)):
                pruned = bm25_scores(query, visible=visible, limit=limit, offset=offset)
                full = bm25_scores(query, visible=visible, limit=limit, offset=offset, prune=False)
                assert pruned == full, (query, name, limit, offset)
    assert len(bm25_scores("IMG_5195", visible=None, limit=100)) == 60


def test_min_coverage_reads_no_long_list_and_leaves_out_only_documents_that_cannot_be_strong(alice, monkeypatch):
    monkeypatch.setattr(bm25, "ESSENTIAL_POSTINGS", 1)  # every list but the rarest counts as long
    target = make_asset(alice, original_filename="IMG_5195.jpg")
    others = [make_asset(alice, original_filename=f"IMG_{n:04d}.jpg") for n in range(10)]
    # Without it, the documents sharing only "img" and "jpg" fill the page after the target.
    assert [pk for pk, _ in bm25_scores("IMG_5195.jpg", visible=None, limit=5)] == [
        target.pk, *[asset.pk for asset in others[:4]]
    ]
    assert [pk for pk, _ in bm25_scores("IMG_5195.jpg", visible=None, limit=5, min_coverage=0.5)] == [target.pk]
    # A file name nobody has: its number weighs more than the words everyone shares.
    assert bm25_scores("IMG_9999.jpg", visible=None, limit=5, min_coverage=0.5) == []
    # The documents it keeps are ranked exactly as full scoring ranks them.
    reference = bm25_scores("img 5195 0003", visible=None, limit=20, prune=False)
    kept = bm25_scores("img 5195 0003", visible=None, limit=20, min_coverage=0.5)
    assert kept == [hit for hit in reference if hit[0] in {pk for pk, _ in kept}]
    assert {pk for pk, _ in kept} == {target.pk, others[3].pk}
