"""assets.representation: what every door shows of many assets, fetched in two round trips (the
assets, then their three relations sent together) however many assets there are, and equal to
what the ORM's own relations hold."""

from __future__ import annotations

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from assets.models import Analysis, Asset, Embedding
from assets.representation import represented, shown
from tests.portal.conftest import make_asset

pytestmark = pytest.mark.django_db


def _rich(owner, n: int) -> Asset:
    asset = make_asset(owner)
    Embedding.objects.create(asset=asset, kind="text", model_id="m-b", dim=3, vector=[1, 0, n])
    Embedding.objects.create(asset=asset, kind="image", model_id="m-a", dim=3, vector=[0, 1, n])
    Analysis.objects.create(asset=asset, analyser="labels", model_id="l", text=f"dog {n}", data={"big": [1] * 50})
    Analysis.objects.create(asset=asset, analyser="colours", model_id="c", text="blue", corrected_text="navy")
    return asset


@pytest.mark.parametrize("count", [1, 6])
def test_two_round_trips_for_any_number_of_assets(alice, count):
    ids = [_rich(alice, n).pk for n in range(count)] + [make_asset(alice, renditions=False).pk]
    with CaptureQueriesContext(connection) as queries:
        assets = list(represented(Asset.objects.filter(pk__in=ids)).order_by("pk"))
        read = [  # reading what is shown costs nothing more
            (asset.owner.username,
             [(r.spec, r.width, r.asset.pk) for r in shown(asset, "renditions")],
             [(e.kind, e.model_id, e.dim, e.created_at) for e in shown(asset, "embeddings")],
             [(a.analyser, a.searchable_text, a.error) for a in shown(asset, "analyses")])
            for asset in assets
        ]
    assert len(queries) == 2, [q["sql"][:80] for q in queries]
    assert queries[1]["sql"].count("SELECT") == 3  # renditions, vectors, analyses
    assert len(read) == count + 1
    assert sum(len(vectors) for _, _, vectors, _ in read) == 2 * count


def test_the_rows_shown_are_the_orms_own_in_order(alice):
    asset = _rich(alice, 3)
    bare = make_asset(alice, renditions=False)
    fetched = represented(Asset.objects.all()).in_bulk([asset.pk, bare.pk])
    one = fetched[asset.pk]
    assert [(r.pk, r.spec, r.width, r.height, r.mime_type) for r in shown(one, "renditions")] == [
        (r.pk, r.spec, r.width, r.height, r.mime_type) for r in asset.renditions.order_by("width")]
    assert [(e.pk, e.kind, e.model_id, e.created_at) for e in shown(one, "embeddings")] == [
        (e.pk, e.kind, e.model_id, e.created_at) for e in asset.embeddings.order_by("kind", "model_id")]
    assert [(a.pk, a.analyser, a.text, a.corrected_text) for a in shown(one, "analyses")] == [
        (a.pk, a.analyser, a.text, a.corrected_text) for a in asset.analyses.order_by("analyser")]
    assert all(r.asset is one for r in shown(one, "renditions"))  # the reverse relation, cached
    assert [shown(fetched[bare.pk], name) for name in ("renditions", "embeddings", "analyses")] == [[], [], []]
    # What is not shown is not read, yet still there when asked for (one query, as the ORM defers).
    label = next(a for a in shown(one, "analyses") if a.analyser == "labels")
    with CaptureQueriesContext(connection) as queries:
        assert label.data == {"big": [1] * 50}
    assert len(queries) == 1


def test_slices_gets_and_filters_of_it_keep_it(alice):
    assets = [_rich(alice, n) for n in range(3)]
    queryset = represented(Asset.objects.order_by("pk"))
    for got in (queryset[1:3][0], queryset.get(pk=assets[0].pk), queryset.filter(pk=assets[2].pk).first()):
        assert len(got.shown_renditions) == 2 and len(got.shown_analyses) == 2
    assert queryset.count() == 3
    assert list(queryset.values_list("pk", flat=True)) == [a.pk for a in assets]  # values are values
