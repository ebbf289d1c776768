"""The asset's API representation is written directly (it is every list's and search page's hot path):
it must stay equal to what the serializer's declared fields produce, field for field."""

from __future__ import annotations

import datetime as dt

import pytest
from django.test import RequestFactory
from django.utils import timezone
from rest_framework import serializers

from assets.api.serializers import AssetSerializer
from assets.models import Analysis, Asset, Embedding, Visibility
from tests.portal.conftest import make_asset

pytestmark = pytest.mark.django_db


def _through_the_fields(asset, context) -> dict:
    return serializers.ModelSerializer.to_representation(AssetSerializer(context=context), asset)


def test_the_direct_representation_equals_the_declared_fields(alice, team):
    plain = make_asset(alice, renditions=False)
    rich = make_asset(alice, team=team, visibility=Visibility.TEAM, tags=["sea", "boat"], exif={"make": "Nikon"},
                      taken_at=timezone.now() - dt.timedelta(days=400), gps_latitude=51.5, gps_longitude=-0.1,
                      orientation=6, caption="a boat", camera_make="Nikon")
    Embedding.objects.create(asset=rich, kind="text", model_id="m", dim=3, vector=[1, 0, 0])
    Analysis.objects.create(asset=rich, analyser="colours", model_id="colours-v1", text="blue", corrected_text="navy")
    Analysis.objects.create(asset=rich, analyser="labels", model_id="l", error="labels failed: timeout")
    request = RequestFactory().get("/api/v1/assets/", HTTP_HOST="testserver:8443")
    for context in ({"request": request}, {}):
        for asset in Asset.objects.filter(pk__in=[plain.pk, rich.pk]).select_related("owner", "team"):
            direct = AssetSerializer(asset, context=context).data
            assert direct == _through_the_fields(asset, context)
            assert list(direct) == AssetSerializer.Meta.fields
    listed = AssetSerializer(Asset.objects.filter(pk=rich.pk), many=True, context={"request": request}).data[0]
    assert listed["urls"]["self"] == f"http://testserver:8443/api/v1/assets/{rich.pk}/"
    assert listed["renditions"]["max256"]["url"].endswith(f"/api/v1/assets/{rich.pk}/renditions/max256/")
    assert listed["findings"]["colours"] == {"text": "navy", "machine_text": "blue", "corrected": True,
                                             "model_id": "colours-v1", "error": ""}
