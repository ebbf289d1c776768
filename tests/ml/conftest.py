"""Fixtures for the model layer: tiny random models built locally, never a download.

These tests need neither Django nor a database. Run them on their own with

    .venv/bin/python -m pytest tests/ml -q -p no:django --confcutdir=tests/ml

(``--confcutdir`` keeps pytest from loading ``tests/conftest.py``, which needs Django set up);
inside the whole suite they run as they are, with pytest-django active.

Session fixtures (reusable elsewhere; the builders themselves live in ``workers.ml.testing``):

* ``tiny_clip_env`` -> dict of MEDIAVAULT_CLIP_* variables for a tiny open_clip model
* ``tiny_qwen_embedding_dir`` / ``tiny_qwen_reranker_dir`` -> folder paths (str)
* ``tiny_model_env`` -> all MEDIAVAULT_* variables for the three tiny models (profile full, cpu)
* ``clip_model``, ``qwen_embedder``, ``qwen_reranker``, ``minilm`` -> loaded model objects (cpu)
"""

from __future__ import annotations

import os

# Before anything imports huggingface_hub, which reads these once: nothing here may reach the hub.
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

import pytest  # noqa: E402
import torch  # noqa: E402

from workers.ml import registry, testing  # noqa: E402
from workers.ml.config import ENV_VARS  # noqa: E402

# The suite must stay fast on 2 shared cores; more threads only add contention for tiny models.
torch.set_num_threads(2)


@pytest.fixture(autouse=True)
def _isolated_models(monkeypatch, tmp_path_factory):
    """No hub, an empty HF cache, no MEDIAVAULT_* settings from the caller, a fresh registry."""
    import huggingface_hub.constants

    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.setattr(huggingface_hub.constants, "HF_HUB_OFFLINE", True)
    monkeypatch.setattr(huggingface_hub.constants, "HF_HUB_CACHE", str(tmp_path_factory.mktemp("hf-cache")))
    for var in ENV_VARS.values():
        monkeypatch.delenv(var, raising=False)
    registry.reset_registry()
    yield
    registry.reset_registry()


@pytest.fixture(scope="session")
def tiny_clip_env(tmp_path_factory) -> dict[str, str]:
    return testing.build_tiny_clip(tmp_path_factory.mktemp("tiny-clip"))


@pytest.fixture(scope="session")
def tiny_qwen_embedding_dir(tmp_path_factory) -> str:
    return testing.build_tiny_qwen_embedding(tmp_path_factory.mktemp("tiny-qwen-embed"))


@pytest.fixture(scope="session")
def tiny_qwen_reranker_dir(tmp_path_factory) -> str:
    return testing.build_tiny_qwen_reranker(tmp_path_factory.mktemp("tiny-qwen-rerank"))


@pytest.fixture(scope="session")
def tiny_model_env(tiny_clip_env, tiny_qwen_embedding_dir, tiny_qwen_reranker_dir, tiny_qwen_vl_dir) -> dict[str, str]:
    return testing.model_env(tiny_clip_env, tiny_qwen_embedding_dir, tiny_qwen_reranker_dir,
                             multimodal_model=tiny_qwen_vl_dir)


@pytest.fixture(scope="session")
def clip_model(tiny_clip_env):
    from workers.ml.clip import ClipModel

    return ClipModel(
        tiny_clip_env["MEDIAVAULT_CLIP_MODEL"],
        tiny_clip_env["MEDIAVAULT_CLIP_PRETRAINED"],
        config_path=tiny_clip_env["MEDIAVAULT_CLIP_CONFIG"],
        device="cpu",
    ).load()


@pytest.fixture(scope="session")
def qwen_embedder(tiny_qwen_embedding_dir):
    from workers.ml.qwen_embed import QwenEmbedder

    return QwenEmbedder(tiny_qwen_embedding_dir, device="cpu").load()


@pytest.fixture(scope="session")
def qwen_reranker(tiny_qwen_reranker_dir):
    from workers.ml.qwen_rerank import QwenReranker

    return QwenReranker(tiny_qwen_reranker_dir, device="cpu").load()


@pytest.fixture(scope="session")
def minilm():
    from workers.ml.minilm import MiniLMEmbedder

    return MiniLMEmbedder(device="cpu", local_files_only=True).load()


@pytest.fixture
def set_env(monkeypatch):
    """set_env({"NAME": "value", ...}) for the duration of one test."""

    def apply(values: dict[str, str]) -> None:
        for name, value in values.items():
            monkeypatch.setenv(name, value)

    return apply
