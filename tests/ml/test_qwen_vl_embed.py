"""Qwen3-VL-Embedding for the multimodal kind, with tiny random Qwen3-VL models built locally and
loaded through the same code as hub ids: shapes and normalisation, end-token pooling with left
padding, the instruction, Matryoshka widths, pgvector's 4,000-dimension limit, the picture budget,
and the registry's choice (off unless configured)."""

from __future__ import annotations

import numpy as np
import pytest

from tests.conftest import noise_picture
from workers.ml import registry
from workers.ml.errors import ModelUnavailable
from workers.ml.qwen_vl_embed import MAX_INDEXED_DIM, QwenVLEmbedder
from workers.ml.testing import build_tiny_qwen_vl

BUDGET = 128 * 128


@pytest.fixture(scope="module")
def embedder(tiny_qwen_vl_dir) -> QwenVLEmbedder:
    return QwenVLEmbedder(tiny_qwen_vl_dir, device="cpu", local_files_only=True, max_pixels=BUDGET).load()


def test_vectors_are_normalised_and_named_after_model_and_width(embedder, tiny_qwen_vl_dir):
    images = embedder.encode_images([noise_picture((200, 150), 1), noise_picture((64, 300), 2)])
    texts = embedder.encode_queries(["a red kayak", "harbour at night"])
    for vectors in (images, texts):
        assert vectors.shape == (2, 32) and vectors.dtype == np.float32
        np.testing.assert_allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-5)
    assert not np.allclose(images[0], images[1]) and not np.allclose(texts[0], texts[1])
    assert embedder.model_id == f"qwen3-vl-embed:{tiny_qwen_vl_dir}@dim=32" and embedder.kind == "multimodal"
    assert embedder.describe()["max_pixels"] == BUDGET and embedder.describe()["dtype"] == "float32"


def test_left_padding_keeps_each_vector_what_it_is_alone(embedder):
    pictures = [noise_picture((200, 150), 3), noise_picture((40, 40), 4), noise_picture((90, 260), 5)]
    together = embedder.encode_images(pictures)
    for index, single in enumerate(pictures):
        np.testing.assert_allclose(embedder.encode_images([single])[0], together[index], atol=1e-5)
    queries = ["dog", "a much longer query about boats in a harbour at dawn"]
    both = embedder.encode_queries(queries)
    np.testing.assert_allclose(embedder.encode_queries(queries[:1])[0], both[0], atol=1e-5)


def test_the_prompt_is_qwen3_vl_chat_with_the_instruction_as_system_turn(embedder):
    query = embedder.prompt("red kayak", picture=False, task=embedder.task)
    assert query == (f"<|im_start|>system\n{embedder.task}<|im_end|>\n<|im_start|>user\nred kayak<|im_end|>\n"
                     "<|im_start|>assistant\n")
    picture = embedder.prompt("", picture=True, task="Represent the user's input.")
    assert "<|im_start|>user\n<|vision_start|><|image_pad|><|vision_end|><|im_end|>" in picture


def test_queries_carry_the_instruction_documents_the_default_one(embedder):
    query = embedder.encode_queries(["red kayak"])[0]
    assert np.allclose(embedder.encode_texts(["red kayak"])[0], query)  # the realtime lane's call
    assert not np.allclose(embedder.encode_documents(["red kayak"])[0], query, atol=1e-3)
    other = embedder.encode_queries(["red kayak"], task="Find product photos for the query.")[0]
    assert not np.allclose(other, query, atol=1e-3)


def test_a_narrower_width_is_the_full_vector_cut_and_normalised_again(embedder, tiny_qwen_vl_dir):
    narrow = QwenVLEmbedder(tiny_qwen_vl_dir, dim=16, device="cpu", local_files_only=True, max_pixels=BUDGET).load()
    assert narrow.model_id.endswith("@dim=16") and narrow.dim == 16
    items = [noise_picture((120, 90), 6)]
    full, cut = embedder.encode_images(items)[0], narrow.encode_images(items)[0]
    np.testing.assert_allclose(cut, full[:16] / np.linalg.norm(full[:16]), atol=1e-5)
    with pytest.raises(ModelUnavailable, match="exceeds the model width"):
        QwenVLEmbedder(tiny_qwen_vl_dir, dim=64, device="cpu", local_files_only=True).load()


def test_a_model_wider_than_the_index_limit_is_cut_to_it(tmp_path):
    wide = build_tiny_qwen_vl(tmp_path / "wide", hidden=MAX_INDEXED_DIM + 8)
    model = QwenVLEmbedder(wide, device="cpu", local_files_only=True, max_pixels=BUDGET).load()
    assert (model.native_dim, model.dim) == (MAX_INDEXED_DIM + 8, MAX_INDEXED_DIM)
    vector = model.encode_images([noise_picture((64, 64), 7)])[0]
    assert vector.shape == (MAX_INDEXED_DIM,) and np.isclose(np.linalg.norm(vector), 1.0, atol=1e-5)


def test_a_huge_picture_costs_no_more_than_the_budget(embedder):
    huge = noise_picture((6000, 4000), 8)
    bounded = embedder.preprocess(huge)
    assert bounded.width * bounded.height <= BUDGET
    np.testing.assert_allclose(embedder.encode_images([huge])[0], embedder.encode_images([bounded])[0], atol=1e-5)


def test_the_registry_serves_it_only_when_configured(tiny_qwen_vl_dir, monkeypatch):
    with pytest.raises(ModelUnavailable, match="not configured"):
        registry.get_model("multimodal")
    assert registry.active_models()["multimodal"]["available"] is False
    monkeypatch.setenv("MEDIAVAULT_MULTIMODAL_MODEL", tiny_qwen_vl_dir)
    monkeypatch.setenv("MEDIAVAULT_MULTIMODAL_DIM", "24")
    monkeypatch.setenv("MEDIAVAULT_DEVICE", "cpu")
    registry.reset_registry()
    model = registry.get_model("multimodal")
    assert isinstance(model, QwenVLEmbedder) and model.dim == 24 and model.local_files_only
