"""Qwen3-Embedding path: left padding, last-token pooling, query instruction, Matryoshka widths."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from transformers import AutoModel, AutoTokenizer

from workers.ml.errors import ModelUnavailable
from workers.ml.qwen_embed import QwenEmbedder
from workers.ml.testing import TINY_QWEN_HIDDEN

TEXTS = [
    "red kayak",
    "a red kayak floating on a calm mountain lake at sunset, seen from the shore",
    "IMG_5195",
    "the quick brown fox jumps over the lazy dog",
    "dog",
]


def _reference_vector(folder: str, text: str) -> np.ndarray:
    """The model card's recipe for one unpadded text, computed with transformers directly."""
    tokenizer = AutoTokenizer.from_pretrained(folder, local_files_only=True)
    model = AutoModel.from_pretrained(folder, local_files_only=True).eval()
    ids = tokenizer([text], return_tensors="pt")
    assert ids["input_ids"][0, -1].item() == tokenizer.convert_tokens_to_ids("<|endoftext|>")
    with torch.no_grad():
        last = model(**ids).last_hidden_state[0, -1]
    return torch.nn.functional.normalize(last, dim=-1).numpy()


def test_vectors_are_unit_length_with_the_native_width(qwen_embedder):
    vectors = qwen_embedder.encode_documents(TEXTS)
    assert vectors.shape == (len(TEXTS), TINY_QWEN_HIDDEN)
    assert vectors.dtype == np.float32
    np.testing.assert_allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-5)
    assert qwen_embedder.dim == TINY_QWEN_HIDDEN


def test_padded_batch_equals_one_by_one(qwen_embedder):
    batched = qwen_embedder.encode_documents(TEXTS)
    alone = np.concatenate([qwen_embedder.encode_documents([text]) for text in TEXTS])
    np.testing.assert_allclose(batched, alone, atol=1e-5)


def test_vector_is_the_last_tokens_hidden_state(qwen_embedder, tiny_qwen_embedding_dir):
    reference = _reference_vector(tiny_qwen_embedding_dir, TEXTS[1])
    np.testing.assert_allclose(qwen_embedder.encode_documents([TEXTS[1]])[0], reference, atol=1e-5)


def test_queries_carry_the_instruction_and_documents_do_not(qwen_embedder):
    expected = (
        "Instruct: Given a web search query, retrieve relevant passages that answer the query"
        "\nQuery:red kayak"
    )
    assert qwen_embedder.format_query("red kayak") == expected
    custom_task = qwen_embedder.format_query("red kayak", task="Find photos")
    assert custom_task == "Instruct: Find photos\nQuery:red kayak"
    query = qwen_embedder.encode_queries(["red kayak"])
    np.testing.assert_allclose(query, qwen_embedder.encode_documents([expected]), atol=1e-6)
    assert not np.allclose(query, qwen_embedder.encode_documents(["red kayak"]), atol=1e-3)
    custom = qwen_embedder.encode_queries(["red kayak"], task="Find photos")
    assert not np.allclose(custom, query, atol=1e-3)


def test_configured_task_is_used_for_queries(tiny_qwen_embedding_dir, qwen_embedder):
    photos = QwenEmbedder(tiny_qwen_embedding_dir, task="Find photos", device="cpu")
    per_call = qwen_embedder.encode_queries(["kayak"], task="Find photos")
    np.testing.assert_allclose(photos.encode_queries(["kayak"]), per_call, atol=1e-6)


def test_matryoshka_cut_is_renormalised_prefix_of_full_vector(tiny_qwen_embedding_dir, qwen_embedder):
    short = QwenEmbedder(tiny_qwen_embedding_dir, dim=16, device="cpu")
    cut = short.encode_documents(TEXTS)
    assert cut.shape == (len(TEXTS), 16)
    np.testing.assert_allclose(np.linalg.norm(cut, axis=1), 1.0, atol=1e-5)
    full = qwen_embedder.encode_documents(TEXTS)
    expected = full[:, :16] / np.linalg.norm(full[:, :16], axis=1, keepdims=True)
    np.testing.assert_allclose(cut, expected, atol=1e-5)


def test_model_id_records_source_and_width(tiny_qwen_embedding_dir, qwen_embedder):
    assert qwen_embedder.model_id == f"qwen3-embed:{tiny_qwen_embedding_dir}@dim={TINY_QWEN_HIDDEN}"
    native_by_number = QwenEmbedder(tiny_qwen_embedding_dir, dim=TINY_QWEN_HIDDEN)
    assert native_by_number.model_id == qwen_embedder.model_id  # same space, same name
    assert QwenEmbedder(tiny_qwen_embedding_dir, dim=16).model_id.endswith("@dim=16")
    hub_model = QwenEmbedder("Qwen/Qwen3-Embedding-0.6B", dim=1024)
    assert hub_model.model_id == "qwen3-embed:Qwen/Qwen3-Embedding-0.6B@dim=1024"


def test_width_above_the_models_is_unavailable(tiny_qwen_embedding_dir):
    with pytest.raises(ModelUnavailable, match="exceeds"):
        QwenEmbedder(tiny_qwen_embedding_dir, dim=TINY_QWEN_HIDDEN * 2, device="cpu").load()


def test_chunked_encoding_equals_one_big_batch(tiny_qwen_embedding_dir, qwen_embedder):
    small = QwenEmbedder(tiny_qwen_embedding_dir, device="cpu", batch_size=2)
    for encode in ("encode_documents", "encode_queries"):
        chunked = getattr(small, encode)(TEXTS)
        np.testing.assert_allclose(chunked, getattr(qwen_embedder, encode)(TEXTS), atol=1e-5)


def test_long_texts_are_truncated_to_max_length(tiny_qwen_embedding_dir):
    short = QwenEmbedder(tiny_qwen_embedding_dir, device="cpu", max_length=8)
    long_text = "the quick brown fox jumps over the lazy dog " * 20
    vectors = short.encode_documents([long_text, long_text + " and more words at the end"])
    # Everything past the 8-token budget is cut, so both texts read the same.
    np.testing.assert_allclose(vectors[0], vectors[1], atol=1e-6)
