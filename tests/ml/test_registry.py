"""Choosing models from the environment: explicit settings win, the offline fallback, fast failures."""

from __future__ import annotations

import http.server
import logging
import threading
import time

import pytest
import torch
from django.core.exceptions import ImproperlyConfigured

from workers.ml import hub, registry
from workers.ml.config import ModelConfig
from workers.ml.errors import ModelUnavailable

MINILM_ID = "sentence-transformers:sentence-transformers/all-MiniLM-L6-v2"


def _warnings(caplog) -> list[logging.LogRecord]:
    return [r for r in caplog.records if r.name.startswith("workers.ml") and r.levelno >= logging.WARNING]


# -- configuration ------------------------------------------------------------------------------
def test_config_reads_the_environment_and_records_explicit_choices(set_env):
    set_env({"MEDIAVAULT_TEXT_MODEL": "/models/qwen", "MEDIAVAULT_TEXT_DIM": "256"})
    set_env({"MEDIAVAULT_DEVICE": "CUDA:1"})
    config = ModelConfig.from_env()
    assert (config.text_model, config.text_dim, config.device) == ("/models/qwen", 256, "cuda:1")
    assert config.explicit == {"text_model", "text_dim", "device"}
    assert config.profile == "auto" and config.rerank_model == "Qwen/Qwen3-Reranker-0.6B"
    assert config.clip_model == "ViT-B-32" and config.clip_pretrained == "laion2b_s34b_b79k"


@pytest.mark.parametrize(
    ("variables", "message"),
    [
        ({"MEDIAVAULT_MODEL_PROFILE": "sometimes"}, "MEDIAVAULT_MODEL_PROFILE"),
        ({"MEDIAVAULT_DEVICE": "gpu"}, "MEDIAVAULT_DEVICE"),
        ({"MEDIAVAULT_TEXT_DIM": "wide"}, "MEDIAVAULT_TEXT_DIM"),
        ({"MEDIAVAULT_TEXT_DIM": "-1"}, "MEDIAVAULT_TEXT_DIM"),
        ({"MEDIAVAULT_CLIP_CONFIG": "/c/tiny.json", "MEDIAVAULT_CLIP_MODEL": "ViT-B-32"}, "disagrees"),
    ],
)
def test_bad_settings_fail_loudly(set_env, variables, message):
    set_env(variables)
    with pytest.raises(ImproperlyConfigured, match=message):
        ModelConfig.from_env()


# -- the tiny models through the registry -------------------------------------------------------
def test_registry_serves_every_kind_from_the_environment(set_env, tiny_model_env):
    set_env(tiny_model_env)
    report = registry.active_models()
    assert all(entry["available"] and not entry["loaded"] for entry in report.values())
    assert set(report) == set(registry.KINDS)
    image, text, rerank, multimodal = (registry.get_model(kind) for kind in ("image", "text", "rerank", "multimodal"))
    assert registry.get_model("text") is text  # one instance per process
    assert text.model_id == f"qwen3-embed:{tiny_model_env['MEDIAVAULT_TEXT_MODEL']}@dim=32"
    assert image.encode_texts(["kayak"]).shape == (1, 32)
    assert rerank.score("kayak", ["a kayak"]).shape == (1,)
    assert multimodal.encode_queries(["kayak"]).shape == (1, 32)
    assert registry.active_models()["text"]["loaded"] is True


def test_text_settings_reach_the_model(set_env, tiny_model_env):
    set_env({**tiny_model_env, "MEDIAVAULT_TEXT_DIM": "16", "MEDIAVAULT_TEXT_TASK": "Find photos"})
    text = registry.get_model("text")
    assert text.dim == 16 and text.model_id.endswith("@dim=16")
    assert text.format_query("kayak") == "Instruct: Find photos\nQuery:kayak"


def test_unknown_kind_is_a_programming_error():
    with pytest.raises(ValueError, match="unknown model kind"):
        registry.get_model("audio")


# -- the offline fallback -----------------------------------------------------------------------
def test_auto_profile_without_hub_serves_minilm_and_names_what_is_missing(caplog, monkeypatch):
    went_offline = []
    monkeypatch.setattr(hub, "is_offline", lambda: False)
    monkeypatch.setattr(hub, "hub_reachable", lambda: False)
    monkeypatch.setattr(hub, "go_offline", lambda: went_offline.append(True))
    caplog.set_level(logging.INFO)

    report = registry.active_models()
    assert went_offline == [True]
    assert report["text"]["available"] and report["text"]["model_id"] == MINILM_ID
    assert report["text"]["substitute_for"] == "Qwen/Qwen3-Embedding-0.6B"
    assert "cache" in report["text"]["substitute_reason"]
    assert set(report["image"]) == {"available", "reason"} and report["image"]["available"] is False
    assert "ViT-B-32/laion2b_s34b_b79k" in report["image"]["reason"]
    assert "Qwen/Qwen3-Reranker-0.6B" in report["rerank"]["reason"]

    assert registry.get_model("text").model_id == MINILM_ID
    assert registry.get_model("text").encode_queries(["red kayak"]).shape == (1, 384)
    for kind in ("image", "rerank", "image"):
        with pytest.raises(ModelUnavailable):
            registry.get_model(kind)
    warnings = _warnings(caplog)
    assert len(warnings) == 1
    assert "standing in for Qwen/Qwen3-Embedding-0.6B" in warnings[0].getMessage()
    assert "image: UNAVAILABLE" in warnings[0].getMessage()


def test_explicit_text_model_is_never_replaced(set_env):
    set_env({"MEDIAVAULT_TEXT_MODEL": "Qwen/Qwen3-Embedding-0.6B"})  # the default, but chosen
    with pytest.raises(ModelUnavailable, match="Qwen/Qwen3-Embedding-0.6B"):
        registry.get_model("text")
    assert registry.active_models()["text"]["available"] is False


def test_explicit_missing_local_path_fails_fast(set_env):
    set_env({"MEDIAVAULT_TEXT_MODEL": "/nowhere/qwen3-embedding"})
    started = time.monotonic()
    with pytest.raises(ModelUnavailable, match="/nowhere/qwen3-embedding: no such directory"):
        registry.get_model("text")
    with pytest.raises(ModelUnavailable):
        registry.get_model("text")
    assert time.monotonic() - started < 2


@pytest.mark.parametrize(
    ("module", "cls"),
    [("qwen_embed", "QwenEmbedder"), ("qwen_rerank", "QwenReranker"), ("minilm", "MiniLMEmbedder")],
)
@pytest.mark.parametrize("path", ["/nowhere/model", "./missing-model"])
def test_missing_local_paths_fail_fast_for_every_text_model(module, cls, path):
    import importlib

    model = getattr(importlib.import_module(f"workers.ml.{module}"), cls)(path, device="cpu")
    started = time.monotonic()
    with pytest.raises(ModelUnavailable, match=f"{path}: no such directory"):
        model.load()
    assert time.monotonic() - started < 1


def test_explicit_local_models_load_in_auto_profile_without_probing(set_env, monkeypatch, tiny_model_env):
    set_env({**tiny_model_env, "MEDIAVAULT_MODEL_PROFILE": "auto"})
    monkeypatch.setattr(hub, "is_offline", lambda: False)
    monkeypatch.setattr(hub, "hub_reachable", lambda: pytest.fail("probed the hub for local models"))
    assert registry.get_model("text").model_id.startswith("qwen3-embed:")
    assert registry.active_models()["image"]["available"] is True


def test_full_profile_never_substitutes(set_env, caplog):
    set_env({"MEDIAVAULT_MODEL_PROFILE": "full"})
    with pytest.raises(ModelUnavailable, match="Qwen/Qwen3-Embedding-0.6B"):
        registry.get_model("text")
    assert any(r.levelno == logging.ERROR for r in _warnings(caplog))


def test_offline_profile_forces_minilm_but_keeps_local_clip(set_env, tiny_model_env):
    set_env({**tiny_model_env, "MEDIAVAULT_MODEL_PROFILE": "offline"})
    report = registry.active_models()
    assert report["text"]["model_id"] == MINILM_ID
    assert "substitute_for" not in report["text"]  # chosen, not a fallback
    assert report["image"]["available"] is True and report["rerank"]["available"] is True


@pytest.mark.skipif(torch.cuda.is_available(), reason="checks the behaviour without a GPU")
def test_asking_for_a_missing_gpu_makes_every_kind_unavailable(set_env, tiny_model_env):
    set_env({**tiny_model_env, "MEDIAVAULT_DEVICE": "cuda"})
    report = registry.active_models()
    assert {kind: entry["available"] for kind, entry in report.items()} == dict.fromkeys(report, False)
    assert all("no CUDA" in entry["reason"] for entry in report.values())
    with pytest.raises(ModelUnavailable, match="no CUDA"):
        registry.get_model("text")


def test_minilm_can_be_chosen_by_name(set_env):
    set_env({"MEDIAVAULT_TEXT_MODEL": "minilm", "MEDIAVAULT_MODEL_PROFILE": "full"})
    assert registry.active_models()["text"]["model_id"] == MINILM_ID


def test_failed_text_load_falls_back_when_automatic(set_env, tmp_path, caplog):
    broken = tmp_path / "broken-qwen"
    broken.mkdir()
    (broken / "config.json").write_text("{not json")
    set_env({"MEDIAVAULT_TEXT_MODEL": str(broken)})
    with pytest.raises(ModelUnavailable, match="broken-qwen: cannot read its config"):
        registry.get_model("text")  # explicit: the error stands

    registry.reset_registry(ModelConfig(text_model=str(broken)))  # same model, chosen automatically
    assert registry.get_model("text").model_id == MINILM_ID
    assert registry.active_models()["text"]["substitute_for"] == str(broken)


# -- the hub probe ------------------------------------------------------------------------------
def test_probe_reports_a_closed_port_as_unreachable_quickly(monkeypatch):
    import huggingface_hub.constants

    monkeypatch.setattr(hub, "is_offline", lambda: False)
    monkeypatch.setattr(huggingface_hub.constants, "ENDPOINT", "http://127.0.0.1:9")
    started = time.monotonic()
    assert hub.hub_reachable(timeout=1.0) is False
    assert time.monotonic() - started < 2


def test_probe_reports_an_answering_server_as_reachable(monkeypatch):
    import huggingface_hub.constants

    class Quiet(http.server.BaseHTTPRequestHandler):
        def do_HEAD(self):  # noqa: N802 - the name http.server dispatches to
            self.send_response(404)
            self.end_headers()

        def log_message(self, *args):
            pass

    server = http.server.HTTPServer(("127.0.0.1", 0), Quiet)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        monkeypatch.setattr(hub, "is_offline", lambda: False)
        monkeypatch.setattr(huggingface_hub.constants, "ENDPOINT", f"http://127.0.0.1:{server.server_port}")
        assert hub.hub_reachable(timeout=2.0) is True
    finally:
        server.shutdown()
