"""mediavault.rows: instances built from fixed statements behave as the ORM's own."""

from __future__ import annotations

import pytest
from django.db import connection

from assets.models import Analysis
from mediavault.rows import instances, plain_columns
from tests.portal.conftest import make_asset

pytestmark = pytest.mark.django_db


def test_built_instances_are_the_orms_own_with_the_rest_deferred(alice):
    asset = make_asset(alice)
    made = Analysis.objects.create(asset=asset, analyser="labels", model_id="l", text="dog", data={"big": [1, 2]})
    columns, names = plain_columns(Analysis, ("id", "asset_id", "analyser", "text"))
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT {columns} FROM assets_analysis WHERE id = %s", [made.pk])
        rows = cursor.fetchall()
    (fast,) = instances(Analysis, "default", names, rows)
    (slow,) = [Analysis.from_db("default", names, row) for row in rows]
    assert [getattr(fast, name) for name in names] == [getattr(slow, name) for name in names]
    assert fast.get_deferred_fields() == slow.get_deferred_fields() and "data" in fast.get_deferred_fields()
    assert not fast._state.adding and fast._state.db == "default"
    assert fast.data == {"big": [1, 2]}  # a deferred field is read when asked for
    fast.text = "cat"
    fast.save(update_fields=["text"])  # an update of the row, not an insert
    assert Analysis.objects.get(pk=made.pk).text == "cat" and Analysis.objects.count() == 1


def test_fields_that_need_converting_are_refused():
    from assets.models import Embedding

    with pytest.raises(TypeError, match="vector"):
        plain_columns(Embedding)
