"""The embed step in-process: batching, claiming, model-id bookkeeping, failures."""

import threading

import numpy as np
import pytest
from django.core.files.storage import default_storage
from django.db import connection

from assets import actions
from assets.actions import pipeline
from assets.models import Asset, Embedding, EmbeddingStatus, Status
from tests.conftest import make_jpeg, sample, upload_bytes, upload_file
from workers import embedding
from workers.ml import registry


def _ready_asset(user, data: bytes, name: str) -> Asset:
    result = actions.upload_asset(user, upload_bytes(data, name), name, actions.AssetOptions())
    assert result.status == "created", result.reason
    Asset.objects.filter(pk=result.asset.pk).update(status=Status.READY)
    return Asset.objects.get(pk=result.asset.pk)


def ids(assets) -> list[int]:
    return [asset.pk for asset in assets]


def _colours(n: int) -> list[bytes]:
    return [make_jpeg(color=(40 * i % 256, 255 - 30 * i % 256, 90), size=(48 + i, 40)) for i in range(n)]


@pytest.mark.django_db
def test_vectors_are_stored_with_their_model_and_batches_do_not_change_them(alice, tiny_models_in_process, settings):
    assets = [_ready_asset(alice, data, f"c{i}.jpg") for i, data in enumerate(_colours(5))]
    settings.EMBED_BATCH_SIZE = 2
    report = embedding.embed_now(ids(assets))
    assert report.image_vectors == 5 and report.text_vectors == 5 and not report.failed
    image_model, text_model = registry.get_model("image"), registry.get_model("text")
    rows = {(e.asset_id, e.kind): e for e in Embedding.objects.all()}
    assert len(rows) == 10
    for asset in assets:
        image_row, text_row = rows[(asset.pk, "image")], rows[(asset.pk, "text")]
        assert image_row.model_id == image_model.model_id and image_row.dim == image_model.dim == 32
        assert text_row.model_id == text_model.model_id and text_row.dim == 384
        assert text_row.source_hash == embedding.text_hash(asset.document_text())
    batched = np.array([rows[(a.pk, "image")].vector for a in assets])
    # Same images in one batch of five: halfvec storage rounds, so compare at fp16 precision.
    settings.EMBED_BATCH_SIZE = 5
    embedding.embed_now(ids(assets), force=True)
    whole = np.array([Embedding.objects.get(asset=a, kind="image").vector for a in assets])
    assert np.allclose(batched, whole, atol=2e-3)
    assert np.allclose(np.linalg.norm(whole, axis=1), 1.0, atol=5e-3)
    assert set(Asset.objects.values_list("embedding_status", flat=True)) == {EmbeddingStatus.READY}


@pytest.mark.django_db
def test_unchanged_text_is_not_recomputed_but_edited_text_is(alice, tiny_models_in_process):
    asset = _ready_asset(alice, make_jpeg(), "a.jpg")
    assert embedding.embed_now([asset.pk]).text_vectors == 1
    assert embedding.embed_now([asset.pk]).text_vectors == 0
    actions.update_asset(alice, asset, {"description": "a lighthouse at dusk"})
    asset.refresh_from_db()
    assert asset.embedding_status == EmbeddingStatus.PENDING
    assert embedding.embed_now([asset.pk]).text_vectors == 1
    row = Embedding.objects.get(asset=asset, kind="text")
    assert row.source_hash == embedding.text_hash(asset.document_text())


@pytest.mark.django_db
def test_an_unreadable_file_fails_that_asset_only_with_a_readable_error(alice, tiny_models_in_process):
    good = _ready_asset(alice, make_jpeg(), "good.jpg")
    bad = _ready_asset(alice, make_jpeg(color=(1, 2, 3)), "bad.jpg")
    with open(default_storage.path(bad.blob.name), "wb") as handle:
        handle.write(b"not an image any more")
    report = embedding.embed_now([good.pk, bad.pk])
    good.refresh_from_db(), bad.refresh_from_db()
    assert good.embedding_status == EmbeddingStatus.READY
    assert bad.embedding_status == EmbeddingStatus.FAILED
    assert "image embedding failed" in bad.embedding_error
    assert set(report.failed) == {bad.pk}
    # Retrying is one call once the file is good again.
    actions.request_embedding(alice, [bad.pk])
    bad.refresh_from_db()
    assert bad.embedding_status == EmbeddingStatus.PENDING and bad.embedding_error == ""


@pytest.mark.django_db
def test_unavailable_model_is_skipped_not_failed(alice, worker_model_env, monkeypatch):
    for name, value in worker_model_env.items():
        monkeypatch.setenv(name, value)
    monkeypatch.setenv("MEDIAVAULT_CLIP_PRETRAINED", "/nonexistent/clip.bin")
    registry.reset_registry()
    try:
        asset = _ready_asset(alice, make_jpeg(), "a.jpg")
        report = embedding.embed_now([asset.pk])
    finally:
        registry.reset_registry()
    asset.refresh_from_db()
    assert "image" in report.skipped and report.skipped["image"]
    assert report.text_vectors == 1
    assert asset.embedding_status == EmbeddingStatus.READY
    assert list(asset.embeddings.values_list("kind", flat=True)) == ["text"]


@pytest.mark.django_db
def test_missing_embedding_is_relative_to_the_active_model(alice):
    from assets.models import ActiveModel

    asset = _ready_asset(alice, make_jpeg(), "a.jpg")
    Embedding.objects.create(asset=asset, kind="text", model_id="old-model", dim=3, vector=[1, 0, 0])
    # update_or_create: a worker of another test may have reported its models already.
    ActiveModel.objects.update_or_create(kind="text", defaults={"available": True, "model_id": "new-model", "dim": 3})
    assert list(Asset.objects.missing_embedding("text")) == [asset]
    Embedding.objects.create(asset=asset, kind="text", model_id="new-model", dim=3, vector=[0, 1, 0])
    assert not Asset.objects.missing_embedding("text").exists()


@pytest.mark.django_db(transaction=True)
def test_two_workers_never_claim_the_same_asset(alice):
    for i, data in enumerate(_colours(30)):
        _ready_asset(alice, data, f"c{i}.jpg")
    barrier = threading.Barrier(2)
    claimed: list[list[int]] = [[], []]

    def worker(slot: int) -> None:
        try:
            barrier.wait()
            while claim := pipeline.claim_embedding(4):
                claimed[slot].extend(claim.ids)
        finally:
            connection.close()

    threads = [threading.Thread(target=worker, args=(i,)) for i in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    first, second = set(claimed[0]), set(claimed[1])
    assert not first & second
    assert len(claimed[0]) + len(claimed[1]) == 30
    assert first | second == set(Asset.objects.values_list("pk", flat=True))
    assert set(Asset.objects.values_list("embedding_status", flat=True)) == {EmbeddingStatus.EMBEDDING}


@pytest.mark.django_db
def test_real_photo_orientation_is_applied_before_embedding(alice, tiny_models_in_process):
    upright = actions.upload_asset(
        alice, upload_file(sample("jpg/orientation/landscape_1.jpg")), "l1.jpg", actions.AssetOptions()
    ).asset
    rotated = actions.upload_asset(
        alice, upload_file(sample("jpg/orientation/landscape_6.jpg")), "l6.jpg", actions.AssetOptions()
    ).asset
    Asset.objects.update(status=Status.READY)
    embedding.embed_now([upright.pk, rotated.pk], kinds=("image",))
    a, b = (np.array(Embedding.objects.get(asset=x, kind="image").vector) for x in (upright, rotated))
    # Same picture once EXIF orientation is applied: near-identical vectors even from a random model.
    assert float(a @ b) > 0.98


@pytest.mark.django_db
def test_a_video_vector_is_its_keyframes_vectors_averaged_and_a_sound_has_none(alice, tiny_models_in_process):
    from PIL import Image

    from assets.processing import process_asset
    from tests.av_files import audio_bytes, video_bytes
    from workers.analysis import keyframes

    video = actions.upload_asset(alice, upload_bytes(video_bytes("mp4", seconds=2.0), "clip.mp4"), "clip.mp4",
                                 actions.AssetOptions()).asset
    song = actions.upload_asset(alice, upload_bytes(audio_bytes("wav", seconds=0.5), "tone.wav"), "tone.wav",
                                actions.AssetOptions()).asset
    for asset in (video, song):
        process_asset(asset.pk)
    video = Asset.objects.get(pk=video.pk)
    report = embedding.embed_now([video.pk, song.pk], kinds=("image",))
    assert report.image_vectors == 1 and not report.failed

    model = registry.get_model("image")
    frames = keyframes(video, {r.spec: r for r in video.renditions.all()})
    assert len(frames) == 4
    pictures = []
    for _, rendition, _ in frames:
        with rendition.blob.open() as handle:
            pictures.append(Image.open(handle).convert("RGB"))
    each = model.encode_images(pictures)
    expected = each.mean(axis=0) / np.linalg.norm(each.mean(axis=0))
    stored = np.array(Embedding.objects.get(asset=video, kind="image").vector)
    assert float(stored @ expected) > 0.995
    assert float(stored @ each[0]) < float(stored @ expected)  # not just one of the frames
    assert not Embedding.objects.filter(asset=song, kind="image").exists()
