"""Switching a vector kind to another model without a moment of empty search, with two tiny
Qwen3-Embedding models built locally: the workers report the new model, every asset is queued for
its vectors, search (the realtime worker's lane functions) keeps serving the previous model's
vectors until the new ones cover everything, then moves over, and the previous vectors go only
once nothing serves them. An administrator can follow the progress and finish or abandon."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.urls import reverse

from assets.actions import switches
from assets.models import ActiveModel, Asset, AuditEntry, Embedding, EmbeddingStatus, ModelSwitch, SwitchState
from search.eval_loading import LocalEncoder
from search.service import TEXT, SearchRequest, search
from tests.conftest import make_jpeg, upload_bytes
from workers import embedding
from workers.ml import registry
from workers.ml.config import ModelConfig
from workers.ml.testing import build_tiny_qwen_embedding
from workers.reporting import record_active_models

pytestmark = pytest.mark.django_db
NOW = timedelta(0)


@pytest.fixture(scope="module")
def models(tmp_path_factory) -> dict[str, str]:
    root = tmp_path_factory.mktemp("switch-models")
    return {name: build_tiny_qwen_embedding(root / name, seed=seed) for seed, name in enumerate("ABC")}


def serve(folder: str) -> str:
    """The workers restart configured with `folder` as the text model and report it."""
    # Local files only (the other kinds' hub models are not here), never MiniLM in the text model's place.
    registry.reset_registry(ModelConfig(profile="auto", device="cpu", text_model=folder,
                                        explicit=frozenset({"text_model"})))
    record_active_models("test")
    return registry.get_model("text").model_id


@pytest.fixture(autouse=True)
def _offline_fresh_registry(monkeypatch):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    yield
    registry.reset_registry()


def library(user, count: int, start: int = 0) -> list[Asset]:
    from assets import actions

    assets = []
    for i in range(start, start + count):
        name = f"switch-{i}.jpg"
        result = actions.upload_asset(user, upload_bytes(make_jpeg((30 * i, 90, 200), (40 + i, 30)), name), name,
                                      actions.AssetOptions(title=f"harbour photo {i}"))
        assets.append(result.asset)
    Asset.objects.update(status="ready")
    return assets


def found(user) -> tuple[set[int], str]:
    """What a semantic search finds, and the model of its query vector (uncalibrated, so named)."""
    response = search(Asset.objects.visible_to(user), SearchRequest(query="harbour at dawn", mode="semantic"),
                      LocalEncoder(), user=user)
    assert TEXT not in response.degraded, response.degraded
    [model_id] = response.cutoff["uncalibrated"]
    return {hit.asset.pk for hit in response.hits}, model_id


def test_search_serves_the_previous_model_until_the_new_one_covers_everything(alice, models):
    old = serve(models["A"])
    assets = library(alice, 3)
    ids = [a.pk for a in assets]
    embedding.embed_now(ids)
    assert set(found(alice)[0]) == set(ids)
    assert ModelSwitch.objects.count() == 0  # a first model is no switch

    new = serve(models["B"])
    switch = ModelSwitch.objects.get()
    assert AuditEntry.objects.filter(action="model.switch_started").count() == 1
    assert (switch.kind, switch.from_model_id, switch.to_model_id, switch.state) == ("text", old, new, "running")
    assert ActiveModel.serving_model_id("text") == old and ActiveModel.model_id_for("text") == new
    assert set(Asset.objects.values_list("embedding_status", flat=True)) == {EmbeddingStatus.PENDING}  # queued
    assert found(alice) == (set(ids), old)  # still every asset, by the previous model
    assert switches.progress(switch).done == 0 and switches.progress(switch).total == 3

    embedding.embed_now(ids[:2])  # the bulk worker on its way
    assert switches.advance(NOW) == []
    assert switches.progress(switch).done == 2
    assert found(alice) == (set(ids), old)
    [late] = library(alice, 1, start=3)  # uploaded during the switch: vectors of both models,
    embedding.embed_now([late.pk])  # so search finds it at once, and after the switch too
    assert set(Embedding.objects.filter(asset=late, kind="text").values_list("model_id", flat=True)) == {old, new}
    ids.append(late.pk)
    assert found(alice) == (set(ids), old)
    serve(models["B"])  # workers report again (the sweeper does every few seconds): nothing changes
    assert ModelSwitch.objects.get().state == SwitchState.RUNNING

    embedding.embed_now(ids[2:])
    [done] = switches.advance(timedelta(hours=1))  # finished; the previous vectors wait out the grace
    assert done.state == SwitchState.FINISHED and ActiveModel.serving_model_id("text") == new
    assert Embedding.objects.filter(model_id=old).count() == 4
    assert found(alice) == (set(ids), new)  # every asset, by the new model
    switches.advance(NOW)
    assert not Embedding.objects.filter(model_id=old).exists()  # nothing serves them now
    assert Embedding.objects.filter(kind="text", model_id=new).count() == 4


def test_a_switch_queues_a_large_library_in_batches(alice, models, monkeypatch):
    serve(models["A"])
    ids = [a.pk for a in library(alice, 5)]
    embedding.embed_now(ids)
    monkeypatch.setattr(switches, "REQUEST_BATCH", 2)
    requested = []
    real = switches.request_embedding
    monkeypatch.setattr(switches, "request_embedding", lambda actor, batch: requested.append(list(batch))
                        or real(actor, batch))
    serve(models["B"])
    assert requested == [ids[0:2], ids[2:4], ids[4:5]]
    assert set(Asset.objects.values_list("embedding_status", flat=True)) == {EmbeddingStatus.PENDING}


def test_abandoning_keeps_the_previous_model_until_the_configuration_returns(alice, models):
    first = serve(models["A"])
    ids = [a.pk for a in library(alice, 2)]
    embedding.embed_now(ids)
    second = serve(models["B"])
    embedding.embed_now(ids[:1])
    switch = ModelSwitch.objects.get()
    switches.abandon(alice, switch.pk)
    assert ModelSwitch.objects.get().state == SwitchState.ABANDONED
    assert not Embedding.objects.filter(model_id=second).exists()  # the new vectors went
    assert found(alice) == (set(ids), first)
    serve(models["B"])  # the configuration still names B: no new switch, search stays on A
    assert ModelSwitch.objects.count() == 1 and ActiveModel.serving_model_id("text") == first
    serve(models["A"])  # back to A: the switch ends
    assert ModelSwitch.objects.get().state == SwitchState.ENDED and ActiveModel.serving_model_id("text") == first

    third = serve(models["C"])  # a new switch, finished early by an administrator
    switch = ModelSwitch.objects.get(state=SwitchState.RUNNING)
    assert switch.to_model_id == third
    switches.finish(alice, switch.pk)
    assert ActiveModel.serving_model_id("text") == third
    assert found(alice)[1] == third


def test_the_admin_shows_progress_and_can_finish_or_abandon(admin_client, alice, models):
    serve(models["A"])
    ids = [a.pk for a in library(alice, 2)]
    embedding.embed_now(ids)
    serve(models["B"])
    embedding.embed_now(ids[:1])
    switch = ModelSwitch.objects.get()
    page = admin_client.get(reverse("admin:assets_modelswitch_changelist"))
    assert page.status_code == 200
    text = page.content.decode()
    assert "1 / 2" in text and "running" in text.lower()
    status = admin_client.get(reverse("system-status")).content.decode()
    assert 'data-testid="model-switch"' in status and "1 / 2" in status  # the status page says so too
    assert ">off<" in status  # the multimodal kind, not configured here: off, not a failure
    response = admin_client.post(reverse("admin:assets_modelswitch_changelist"),
                                 {"action": "abandon_switches", "_selected_action": [switch.pk]}, follow=True)
    assert response.status_code == 200 and ModelSwitch.objects.get().state == SwitchState.ABANDONED
    response = admin_client.post(reverse("admin:assets_modelswitch_changelist"),
                                 {"action": "finish_switches", "_selected_action": [switch.pk]}, follow=True)
    assert ModelSwitch.objects.get().state == SwitchState.FINISHED
