"""manage.py reembed: backfills vectors of the active models in-process, with a progress bar."""

import io

import pytest
from django.core.management import call_command

from assets import actions
from assets.models import ActiveModel, Asset, Embedding, Status
from tests.conftest import make_jpeg, upload_bytes
from workers.ml import registry

pytestmark = pytest.mark.django_db


def _ready(user, n: int) -> list[Asset]:
    assets = []
    for i in range(n):
        name = f"r{i}.jpg"
        data = upload_bytes(make_jpeg((i * 50, 10, 10)), name)
        result = actions.upload_asset(user, data, name, actions.AssetOptions())
        assets.append(result.asset)
    Asset.objects.update(status=Status.READY)
    return assets


def _run(*args) -> tuple[str, str]:
    out, err = io.StringIO(), io.StringIO()
    call_command("reembed", *args, stdout=out, stderr=err)
    return out.getvalue(), err.getvalue()


def test_only_missing_backfills_just_the_gaps_of_one_kind(alice, tiny_models_in_process):
    first, second, third = _ready(alice, 3)
    out, err = _run("--kind", "image")
    assert "3 asset(s), 3 vector(s) written, 0 failed" in out
    assert "reembed" in err and "3/3" in err  # the progress bar
    assert Embedding.objects.filter(kind="image").count() == 3
    assert not Embedding.objects.filter(kind="text").exists()

    image_model_id = registry.get_model("image").model_id
    assert ActiveModel.objects.get(kind="image").model_id == image_model_id
    Embedding.objects.filter(asset=second, kind="image").delete()
    out, _ = _run("--kind", "image", "--only-missing")
    assert "1 asset(s), 1 vector(s) written" in out
    assert set(Embedding.objects.filter(kind="image").values_list("asset_id", flat=True)) == {
        first.pk, second.pk, third.pk
    }


def test_a_new_model_leaves_old_vectors_alone_and_shows_assets_as_missing(alice, tiny_models_in_process):
    (asset,) = _ready(alice, 1)
    Embedding.objects.create(asset=asset, kind="text", model_id="retired-model", dim=3, vector=[1, 0, 0])
    out, _ = _run("--kind", "text", "--only-missing")
    text_model_id = registry.get_model("text").model_id
    assert "1 vector(s) written" in out
    assert set(Embedding.objects.filter(asset=asset, kind="text").values_list("model_id", flat=True)) == {
        "retired-model", text_model_id
    }
    assert not Asset.objects.missing_embedding("text").exists()


def test_queue_option_hands_the_work_to_the_embed_workers(
    alice, tiny_models_in_process, django_capture_on_commit_callbacks
):
    _ready(alice, 2)
    with django_capture_on_commit_callbacks(execute=False) as callbacks:
        out, _ = _run("--queue")
    assert "queued 2 asset(s)" in out
    assert len(callbacks) == 1
    assert set(Asset.objects.values_list("embedding_status", flat=True)) == {"pending"}


def test_reembed_holds_a_lease_the_sweeper_respects_and_loses_it_if_it_dies(alice, tiny_models_in_process,
                                                                             monkeypatch):
    """reembed claims each batch like a worker (claim token, lease): a sweep meanwhile leaves it alone;
    a reembed that died mid-batch leaves claims whose lease runs out, and the sweeper takes them back."""
    import datetime as dt

    from django.conf import settings
    from django.utils import timezone

    from assets.actions import pipeline
    from workers import embedding

    assets = _ready(alice, 2)
    seen = {}
    real_compute = embedding.compute

    def compute_and_sweep(batch, pool, kinds, force):
        rows = Asset.objects.filter(pk__in=[a.pk for a in batch])
        seen["claims"] = {(a.embedding_status, a.embedding_claim is not None, a.embedding_lease_until is not None)
                          for a in rows}
        seen["swept"] = pipeline.sweep(now=timezone.now() + dt.timedelta(seconds=settings.LEASE_S / 2))
        return real_compute(batch, pool, kinds, force)

    monkeypatch.setattr(embedding, "compute", compute_and_sweep)
    out, _ = _run()
    assert "2 asset(s)" in out and "0 failed" in out
    assert seen["claims"] == {("embedding", True, True)}
    assert not seen["swept"]["embedding_expired"]
    assert set(Asset.objects.values_list("embedding_status", flat=True)) == {"ready"}

    # A reembed that dies after claiming: nobody renews the lease, so the sweeper takes the batch back.
    monkeypatch.undo()
    claim = pipeline.claim_embedding(10, [a.pk for a in assets], include_done=True)
    assert pipeline.sweep(now=timezone.now())["embedding_expired"] == []
    later = timezone.now() + dt.timedelta(seconds=settings.LEASE_S + 1)
    assert sorted(pipeline.sweep(now=later)["embedding_expired"]) == sorted(claim.ids)
    assert set(Asset.objects.values_list("embedding_status", "embedding_claim")) == {("pending", None)}


def test_a_renewed_lease_outlives_its_first_deadline(alice):
    import time

    from assets import leases
    from assets.actions import pipeline

    (asset,) = _ready(alice, 1)
    claim = pipeline.claim_embedding(1, [asset.pk])
    first_deadline = Asset.objects.get(pk=asset.pk).embedding_lease_until
    time.sleep(0.05)
    assert pipeline.renew_lease(pipeline.EMBEDDING, claim.token) == 1
    renewed = Asset.objects.get(pk=asset.pk).embedding_lease_until
    assert renewed > first_deadline
    assert pipeline.sweep(now=first_deadline + (renewed - first_deadline) / 2)["embedding_expired"] == []
    # Once the claim is lost (an edit), renewing finds nothing and the keeper stops.
    from assets import actions as asset_actions

    asset_actions.update_asset(alice, asset.pk, {"title": "new"})
    assert pipeline.renew_lease(pipeline.EMBEDDING, claim.token) == 0
    started = time.monotonic()
    with leases.kept(pipeline.EMBEDDING, claim.token, every=0.01):
        time.sleep(0.05)
    assert time.monotonic() - started < 5  # the keeper stopped by itself once nothing was held
    row = Asset.objects.get(pk=asset.pk)
    assert (row.embedding_status, row.embedding_claim, row.embedding_lease_until) == ("pending", None, None)
