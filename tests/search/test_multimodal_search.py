"""The multimodal kind end to end with a tiny random Qwen3-VL-Embedding: the embed step stores
its picture vectors under their own kind and model id with their own HNSW index, and search uses
them for text-to-image, image-to-image and "similar" beside the other signals, the query vectors
coming from the realtime worker's own lane functions. An install without the kind configured
asks nothing of it and names no degraded signal."""

from __future__ import annotations

import io

import pytest
from django.db import connection
from PIL import Image

from assets import actions
from assets.models import ActiveModel, Asset, Embedding, Status
from assets.vector_index import index_name
from search.eval_loading import LocalEncoder
from search.service import MULTIMODAL, MULTIMODAL_IMAGE, SearchRequest, search
from tests.conftest import noise_picture, upload_bytes
from workers import embedding, realtime
from workers.client import LANES
from workers.ml import registry
from workers.ml.config import ModelConfig
from workers.reporting import record_active_models

pytestmark = pytest.mark.django_db


@pytest.fixture
def multimodal(tiny_qwen_vl_dir):
    registry.reset_registry(ModelConfig(profile="offline", device="cpu", multimodal_model=tiny_qwen_vl_dir,
                                        vl_max_pixels=128 * 128))
    yield registry.get_model("multimodal")
    registry.reset_registry()


def jpeg(seed: int, size=(160, 120)) -> bytes:
    buffer = io.BytesIO()
    noise_picture(size, seed).save(buffer, format="JPEG", quality=95)
    return buffer.getvalue()


def ready(user, data: bytes, name: str) -> Asset:
    result = actions.upload_asset(user, upload_bytes(data, name), name, actions.AssetOptions())
    from assets.processing import process_asset

    assert process_asset(result.asset.pk).startswith("ready")
    return Asset.objects.get(pk=result.asset.pk, status=Status.READY)


def test_pictures_get_multimodal_vectors_and_search_uses_them(alice, multimodal):
    photos = {seed: jpeg(seed) for seed in (1, 2, 3)}
    assets = {seed: ready(alice, data, f"p{seed}.jpg") for seed, data in photos.items()}
    report = embedding.embed_now([a.pk for a in assets.values()], kinds=("multimodal",))
    assert report.image_vectors == 3 and not report.failed
    rows = Embedding.objects.filter(kind="multimodal")
    assert rows.count() == 3 and {r.model_id for r in rows} == {multimodal.model_id} and {r.dim for r in rows} == {32}
    with connection.cursor() as cursor:
        cursor.execute("SELECT to_regclass(%s)", [index_name("multimodal", multimodal.model_id)])
        assert cursor.fetchone()[0] is not None  # its own HNSW index
    record_active_models("test")
    assert ActiveModel.objects.get(kind="multimodal").model_id == multimodal.model_id
    visible = Asset.objects.visible_to(alice)

    words = search(visible, SearchRequest(query="a harbour at night", mode="semantic"), LocalEncoder(), user=alice)
    assert MULTIMODAL in words.signals_run and MULTIMODAL not in words.degraded
    assert {hit.asset.pk for hit in words.hits} == {a.pk for a in assets.values()}  # uncalibrated: all strong

    example = search(visible, SearchRequest(image=photos[2]), LocalEncoder(), user=alice)
    assert MULTIMODAL_IMAGE in example.signals_run
    assert example.hits[0].asset.pk == assets[2].pk  # a picture is nearest to itself

    similar = search(visible, SearchRequest(similar_to=assets[1]), LocalEncoder(), user=alice)
    assert MULTIMODAL_IMAGE in similar.signals_run
    assert {hit.asset.pk for hit in similar.hits} == {assets[2].pk, assets[3].pk}  # never itself


def test_without_the_kind_configured_search_neither_asks_nor_reports_it(alice):
    registry.reset_registry(ModelConfig(profile="offline", device="cpu"))
    try:
        record_active_models("test")
        row = ActiveModel.objects.get(kind="multimodal")
        assert not row.available and row.reason.startswith("not configured")
        asset = ready(alice, jpeg(4), "p4.jpg")
        asked = []

        class Watching(LocalEncoder):
            def text(self, query, kind):
                asked.append(kind)
                return super().text(query, kind)

        visible = Asset.objects.visible_to(alice)
        response = search(visible, SearchRequest(query="p4"), Watching(), user=alice)
        assert "multimodal" not in asked
        assert not {MULTIMODAL, MULTIMODAL_IMAGE} & (set(response.degraded) | set(response.signals_run))
        similar = search(visible, SearchRequest(similar_to=asset), Watching(), user=alice)
        assert MULTIMODAL_IMAGE not in similar.degraded
    finally:
        registry.reset_registry()


def test_a_picture_reading_reranker_gets_each_candidates_rendition(alice, tiny_qwen_vl_dir, settings, monkeypatch):
    registry.reset_registry(ModelConfig(profile="offline", device="cpu", rerank_model=tiny_qwen_vl_dir,
                                        vl_max_pixels=128 * 128))
    try:
        reranker = registry.get_model("rerank")
        record_active_models("test")
        photos = [ready(alice, jpeg(seed, size=(640, 480)), f"harbour-{seed}.jpg") for seed in (5, 6, 7)]
        seen = []
        real_score = reranker.score

        def watched(query, documents, instruction=None, pictures=None):
            seen.append((list(documents), list(pictures)))
            return real_score(query, documents, instruction=instruction, pictures=pictures)

        monkeypatch.setattr(reranker, "score", watched)
        visible = Asset.objects.visible_to(alice)
        response = search(visible, SearchRequest(query="harbour", mode="keyword", rerank=True), LocalEncoder(),
                          user=alice)
        assert "rerank" not in response.degraded
        [(documents, pictures)] = seen
        assert len(documents) == len(pictures) == 3
        assert all(isinstance(p, Image.Image) and max(p.size) <= 1024 for p in pictures)  # renditions, not originals
        assert all(hit.explanation["rerank"] is not None for hit in response.hits)

        settings.SEARCH_VL_RERANK_TOP_N = 2
        seen.clear()
        search(visible, SearchRequest(query="harbour", mode="keyword", rerank=True), LocalEncoder(), user=alice)
        assert len(seen[0][0]) == 2
        assert {p.pk for p in photos} == {hit.asset.pk for hit in response.hits}
    finally:
        registry.reset_registry()


def test_a_configured_multimodal_model_that_cannot_load_is_a_named_degraded_signal(alice, monkeypatch):
    from workers.ml import hub

    monkeypatch.setattr(hub, "cached_file", lambda repo, name: None)
    registry.reset_registry(ModelConfig(profile="offline", device="cpu",
                                        multimodal_model="Qwen/Qwen3-VL-Embedding-2B"))
    try:
        record_active_models("test")
        row = ActiveModel.objects.get(kind="multimodal")
        assert not row.available and "not in the local Hugging Face cache" in row.reason
        ready(alice, jpeg(8), "p8.jpg")
        response = search(Asset.objects.visible_to(alice), SearchRequest(query="harbour"), LocalEncoder(), user=alice)
        assert "not in the local Hugging Face cache" in response.degraded[MULTIMODAL]
    finally:
        registry.reset_registry()


def test_clip_turned_off_leaves_pictures_to_the_multimodal_model(alice, tiny_qwen_vl_dir):
    registry.reset_registry(ModelConfig(profile="offline", device="cpu", clip_model="off",
                                        multimodal_model=tiny_qwen_vl_dir, vl_max_pixels=128 * 128))
    try:
        record_active_models("test")
        assert ActiveModel.objects.get(kind="image").off
        asset = ready(alice, jpeg(9), "p9.jpg")
        embedding.embed_now([asset.pk])
        visible = Asset.objects.visible_to(alice)
        response = search(visible, SearchRequest(query="harbour", mode="semantic"), LocalEncoder(), user=alice)
        assert MULTIMODAL in response.signals_run and not response.degraded  # CLIP is absent, not degraded
        example = search(visible, SearchRequest(image=jpeg(9)), LocalEncoder(), user=alice)
        assert example.hits[0].asset.pk == asset.pk and not example.degraded
    finally:
        registry.reset_registry()


def test_the_realtime_worker_serves_every_lane_web_code_calls():
    """The lanes web code sends to (workers.client) are exactly those the realtime worker listens
    on: the multimodal text and picture lanes included."""
    assert sorted(lane.name for lane in realtime.lanes()) == sorted(LANES)
    assert {"encode-text-multimodal", "encode-image-multimodal"} <= set(LANES)
