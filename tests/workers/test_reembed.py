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
