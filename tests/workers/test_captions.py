"""The caption analyser with a tiny random Qwen3-VL built locally (workers.ml.testing), loaded
through the same code as a hub id: captions per picture within the pixel budget, batches of mixed
sizes, the model id following the prompt, offline unavailability with its reason, and captions
through the worker path into search, where a person's correction or own caption wins."""

from __future__ import annotations

import io

import pytest
from PIL import Image

from assets import actions
from assets.models import Analysis, Asset
from assets.processing import process_asset
from search.bm25 import bm25_scores
from tests.conftest import noise_picture
from workers import analysis
from workers.ml import analysers, hub, qwen_vl
from workers.ml.analysers import Subject
from workers.ml.analysers.captions import Captions
from workers.ml.config import ModelConfig
from workers.ml.errors import ModelUnavailable


@pytest.fixture(scope="module")
def captioner(tiny_qwen_vl_dir) -> Captions:
    config = ModelConfig(profile="full", device="cpu", caption_model=tiny_qwen_vl_dir, vl_max_pixels=128 * 128)
    return Captions(config).load()


def test_captions_are_one_clean_line_per_picture_and_the_same_alone_or_batched(captioner):
    pictures = [noise_picture(size, seed) for seed, size in enumerate([(200, 150), (120, 260), (4000, 3000), (10, 10)])]
    results = captioner.analyse([Subject(i, p) for i, p in enumerate(pictures)])
    assert len(results) == 4
    *written, tiny = results
    assert tiny.text == "" and "too small" in tiny.data["skipped"]
    for result in written:
        assert result.text and "\n" not in result.text and result.text == result.text.strip()
        assert not any(ord(ch) < 32 or ch == "\ufffd" for ch in result.text)
        assert result.data == {"caption": result.text, "language": "English"}
    # Left padding: a picture's caption does not depend on what it was batched with.
    alone = [captioner.analyse([Subject(9, p)])[0].text for p in pictures[:3]]
    assert alone == [result.text for result in written]
    assert captioner.analyse([Subject(1, pictures[0])])[0].text == written[0].text  # greedy: repeatable


def test_pictures_are_held_to_the_pixel_budget(captioner):
    budget = captioner.config.vl_max_pixels
    huge = qwen_vl.bounded(noise_picture((8000, 6000), 5), budget)
    assert huge.width * huge.height <= budget and abs(huge.width / huge.height - 4 / 3) < 0.02
    small = noise_picture((100, 80), 6)
    assert qwen_vl.bounded(small, budget).size == (100, 80)  # never enlarged
    assert qwen_vl.bounded(Image.new("L", (50, 40)), budget).mode == "RGB"
    inputs = captioner._processor(text=["<|vision_start|><|image_pad|><|vision_end|>"], images=[huge],
                                  images_kwargs={"size": qwen_vl.size_budget(budget)}, return_tensors="pt")
    tokens = int(inputs["image_grid_thw"][0].prod()) // 4  # 2x2 patches merged into one token
    assert tokens <= budget // qwen_vl.PIXELS_PER_TOKEN


def test_a_caption_is_cleaned_of_reasoning_and_broken_bytes():
    from workers.ml.analysers.captions import _cleaned

    assert _cleaned("<think>a dog?\nmaybe</think>\n A dog  on\ta beach.\x07\ufffd") == "A dog on a beach."
    assert _cleaned("A harbour</think> at night") == "A harbour at night"
    assert _cleaned("<think>unfinished reasoning") == ""


def test_batches_group_pictures_of_similar_size():
    sizes = [10, 500, 20, 480, 15, 510]
    assert qwen_vl.by_size(sizes, lambda s: s, 3) == [[10, 15, 20], [480, 500, 510]]


def test_the_model_id_follows_the_prompt_language_and_budget(tiny_qwen_vl_dir):
    base = Captions(ModelConfig(caption_model=tiny_qwen_vl_dir))
    assert base.model_id.startswith(f"{tiny_qwen_vl_dir}+ask-")
    others = {Captions(ModelConfig(caption_model=tiny_qwen_vl_dir, caption_language="Deutsch")).model_id,
              Captions(ModelConfig(caption_model=tiny_qwen_vl_dir, caption_prompt="Say what you see.")).model_id,
              Captions(ModelConfig(caption_model=tiny_qwen_vl_dir, vl_max_pixels=256 * 256)).model_id}
    assert len(others) == 3 and base.model_id not in others
    assert "Deutsch" in Captions(ModelConfig(caption_model=tiny_qwen_vl_dir, caption_language="Deutsch")).prompt
    assert base.describe()["source"] == tiny_qwen_vl_dir


def test_offline_a_hub_model_not_in_the_cache_is_unavailable_with_the_reason(monkeypatch, tmp_path):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.setenv("HF_HUB_CACHE", str(tmp_path))
    monkeypatch.setattr(hub, "cached_file", lambda repo, name: None)
    captions = Captions(ModelConfig(profile="offline", caption_model="Qwen/Qwen3-VL-2B-Instruct"))
    with pytest.raises(ModelUnavailable, match="not in the local Hugging Face cache"):
        captions.load()


@pytest.mark.django_db
def test_captions_reach_search_and_a_persons_words_win(alice, captioner, monkeypatch, settings):
    settings.ANALYSERS = ["caption"]
    monkeypatch.setattr(analysers, "get_analyser", lambda name: captioner)
    buffer = io.BytesIO()
    noise_picture((640, 480), 7).save(buffer, format="JPEG")
    asset = actions.upload_asset(alice, io.BytesIO(buffer.getvalue()), "IMG_0001.jpg", actions.AssetOptions()).asset
    assert process_asset(asset.pk).startswith("ready")

    report = analysis.analyse_now([asset.pk], names=["caption"])
    assert (report.claimed, report.errors) == (1, 0)
    row = Analysis.objects.get(asset=asset, analyser="caption")
    assert row.text and row.model_id == captioner.model_id
    word = max((w for w in row.text.lower().split() if w.isalpha()), key=len, default=None)
    if word is not None:  # a random model's caption: search for its longest plain word
        assert asset.pk in [pk for pk, _ in bm25_scores(word, visible=None, limit=10)]
    assert row.text in Asset.objects.get(pk=asset.pk).document_text()

    actions.correct_analysis(alice, asset.pk, "caption", "a red kayak on a mountain lake")
    analysis.analyse_now([asset.pk], names=["caption"])  # a later run keeps the correction
    row.refresh_from_db()
    assert row.searchable_text == "a red kayak on a mountain lake"
    assert [pk for pk, _ in bm25_scores("kayak", visible=None, limit=5)] == [asset.pk]

    actions.update_asset(alice, asset.pk, {"caption": "Harbour ferry at dawn"})
    document = Asset.objects.get(pk=asset.pk).document_text()
    assert "Harbour ferry at dawn" in document and "kayak" not in document  # the asset's own caption wins
    assert [pk for pk, _ in bm25_scores("ferry", visible=None, limit=5)] == [asset.pk]
    assert not bm25_scores("kayak", visible=None, limit=5)


@pytest.mark.django_db
def test_the_status_pages_list_each_analyser_and_why_one_cannot_run(settings, monkeypatch, tmp_path):
    from assets.models import ActiveModel
    from workers.ml import registry
    from workers.reporting import record_active_models

    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.setattr(hub, "cached_file", lambda repo, name: None)
    settings.ANALYSERS = ["colours", "caption"]
    analysers.reset()
    registry.reset_registry(ModelConfig(profile="offline", device="cpu"))
    try:
        record_active_models("test")
        colours, caption = (ActiveModel.objects.get(kind=f"analyser:{name}") for name in ("colours", "caption"))
        assert colours.available and colours.model_id == "colours-v1"
        assert not caption.available and "Qwen/Qwen3-VL-2B-Instruct" in caption.reason
        assert "not in the local Hugging Face cache" in caption.reason
    finally:
        analysers.reset()
        registry.reset_registry()
