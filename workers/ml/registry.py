"""One model per kind per process, chosen from ``ModelConfig`` and loaded on first use.

Kinds: ``"image"`` (CLIP: images and texts in one space), ``"text"`` (Qwen3-Embedding, or MiniLM
offline), ``"rerank"`` (Qwen3-Reranker), ``"multimodal"`` (Qwen3-VL-Embedding, only when
``MEDIAVAULT_MULTIMODAL_MODEL`` names one: otherwise reported unavailable as not configured, and
search does not ask for it).

Choosing is cheap (paths, the local cache, at most one short probe of the hub) and happens for
all kinds together on first use, so the situation is summed up in a single log line; loading
weights happens per kind, on ``get_model``. A kind that cannot be served raises
``ModelUnavailable`` with the reason, every time, at once: callers skip that step.

``MEDIAVAULT_TEXT_MODEL`` may also name a sentence-transformers model: ``minilm`` for the bundled
all-MiniLM-L6-v2, or ``sentence-transformers:<hub id or path>``.
"""

from __future__ import annotations

import dataclasses
import logging
import threading
from pathlib import Path
from typing import Any

from workers.ml import hub
from workers.ml.base import BaseModel
from workers.ml.config import ModelConfig
from workers.ml.errors import ModelUnavailable

log = logging.getLogger(__name__)

KINDS = ("image", "text", "rerank", "multimodal")
# A kind nobody configured: reported unavailable with this reason at the start (search leaves it out).
NOT_CONFIGURED = "not configured"
_ST_PREFIX = "sentence-transformers:"

Slot = BaseModel | ModelUnavailable

_lock = threading.Lock()
_config: ModelConfig | None = None
_slots: dict[str, Slot] | None = None
# When MiniLM stands in for the configured text model: that model's name and why it is not served.
_substituted: tuple[str, str] | None = None


def reset_registry(config: ModelConfig | None = None) -> None:
    """Forget every model; the next use chooses again from ``config`` (default: the environment)."""
    global _config, _slots, _substituted
    with _lock:
        _config, _slots, _substituted = config, None, None
        _previous.clear()
    hub.reset_probe()


def current_config() -> ModelConfig:
    global _config
    with _lock:
        if _config is None:
            _config = ModelConfig.from_env()
        return _config


def get_model(kind: str) -> Any:
    """The loaded model for ``kind``; raises ModelUnavailable (fast, with the reason) if there is none."""
    slot = _resolved()[_known(kind)]
    if isinstance(slot, ModelUnavailable):
        raise ModelUnavailable(slot.reason)
    try:
        return slot.load()
    except ModelUnavailable as exc:
        replacement = _replace_after_failed_load(kind, slot, exc)
        if replacement is None:
            raise
        return replacement.load()


# The settings that build each kind's model (ModelConfig fields): a model switch keeps them so the
# previous model can still be built for queries after the configuration moved on.
SPEC_FIELDS = {
    "image": ("clip_model", "clip_pretrained", "clip_config"),
    "text": ("profile", "text_model", "text_dim", "text_task"),
    "rerank": ("rerank_model", "vl_max_pixels"),
    "multimodal": ("multimodal_model", "multimodal_dim", "multimodal_task", "vl_max_pixels"),
}
_previous: dict[tuple[str, str], BaseModel] = {}  # (kind, model id) -> a previous model, built from its spec


def spec_of(kind: str) -> dict[str, Any]:
    """The settings of the model this process serves for `kind` (MiniLM's when it stands in)."""
    config = current_config()
    _resolved()
    spec = {name: getattr(config, name) for name in SPEC_FIELDS[_known(kind)]}
    if kind == "text" and _substituted:
        spec["text_model"] = "minilm"
    return spec


def model_from_spec(kind: str, model_id: str, spec: dict[str, Any]) -> Any:
    """The loaded model `spec` builds for `kind` (a previous model that search still serves),
    kept once per process; ModelUnavailable when it cannot be built or is not `model_id`."""
    key = (_known(kind), model_id)
    with _lock:
        model = _previous.get(key)
    if model is None:
        fields = {name: spec[name] for name in SPEC_FIELDS[kind] if name in spec}
        try:
            previous = dataclasses.replace(current_config(), **fields)
        except Exception as exc:
            raise ModelUnavailable(f"the previous {kind} model's settings do not build a model: {exc}") from exc
        model = _checked(lambda: _build(kind, previous, hub.is_offline() or previous.profile == "offline"))
        if isinstance(model, ModelUnavailable):
            raise ModelUnavailable(f"the previous {kind} model is unavailable: {model.reason}")
        if model.model_id != model_id:
            raise ModelUnavailable(f"the previous {kind} model's settings now build {model.model_id}, not {model_id}")
        with _lock:
            model = _previous.setdefault(key, model)
    return model.load()


def active_models() -> dict[str, dict[str, Any]]:
    """Per kind: ``describe()`` plus ``available: True``, or ``{"available": False, "reason": ...}``.

    Loads nothing; ``loaded`` says whether this process has the weights in memory yet.
    """
    report: dict[str, dict[str, Any]] = {}
    for kind, slot in _resolved().items():
        if isinstance(slot, ModelUnavailable):
            report[kind] = {"available": False, "reason": slot.reason}
            continue
        try:
            report[kind] = {**slot.describe(), "available": True}
        except ModelUnavailable as exc:
            report[kind] = {"available": False, "reason": exc.reason}
            continue
        if kind == "text" and _substituted:
            report[kind]["substitute_for"], report[kind]["substitute_reason"] = _substituted
    return report


# -- choosing -----------------------------------------------------------------------------------
def _known(kind: str) -> str:
    if kind not in KINDS:
        raise ValueError(f"unknown model kind {kind!r}; known kinds: {', '.join(KINDS)}")
    return kind


def _resolved() -> dict[str, Slot]:
    config = current_config()
    global _slots, _substituted
    with _lock:
        if _slots is None:
            _slots, _substituted = _choose(config)
        return _slots


def _choose(config: ModelConfig) -> tuple[dict[str, Slot], tuple[str, str] | None]:
    offline = _decide_offline(config)
    slots: dict[str, Slot] = {kind: _checked(lambda k=kind: _build(k, config, offline)) for kind in KINDS}
    substituted = None
    text = slots["text"]
    if isinstance(text, ModelUnavailable) and _text_may_fall_back(config):
        substituted = (config.text_model, text.reason)
        slots["text"] = _checked(lambda: _minilm(config, offline), also=text.reason)
    _log_choice(config, slots, substituted, offline)
    return slots, substituted


def _checked(build: Any, also: str = "") -> Slot:
    try:
        model = build()
        model.verify()
        return model
    except ModelUnavailable as exc:
        return ModelUnavailable(f"{also}; fallback: {exc.reason}" if also else exc.reason)


def local_files_only() -> bool:
    """Whether models may only come from local paths and the local cache (decided once, with the
    kinds' models: the analysers that load hub models ask here too)."""
    _resolved()
    return hub.is_offline() or current_config().profile == "offline"


def _decide_offline(config: ModelConfig) -> bool:
    """Whether models may only come from local paths and the local cache."""
    if config.profile == "offline":
        hub.go_offline()
        return True
    if hub.is_offline():
        return True
    if config.profile == "full":
        return False
    if not _needs_hub(config):
        return False  # nothing to fetch, so no reason to probe the network
    if hub.hub_reachable():
        return False
    hub.go_offline()
    return True


def _needs_hub(config: ModelConfig) -> bool:
    clip = config.clip_model
    if clip.startswith("local-dir:"):
        clip_source = clip.removeprefix("local-dir:")
    else:
        clip_source = clip.removeprefix("hf-hub:") if clip.startswith("hf-hub:") else config.clip_pretrained
    text = config.text_model.removeprefix(_ST_PREFIX)
    sources = [config.rerank_model] + ([] if clip.lower() == "off" else [clip_source])
    sources += [] if text.lower() == "minilm" else [text]
    sources += [config.multimodal_model] if config.multimodal_model else []
    return not all(hub.is_local(source) for source in sources)


def _text_may_fall_back(config: ModelConfig) -> bool:
    # Only the automatic choice falls back; a model someone named is theirs to fix.
    return config.profile == "auto" and not config.is_explicit("text_model")


def _build(kind: str, config: ModelConfig, offline: bool) -> BaseModel:
    common: dict[str, Any] = {"device": config.device, "local_files_only": offline}
    if kind == "image":
        if config.clip_model.lower() == "off":
            raise ModelUnavailable(f"{NOT_CONFIGURED}: MEDIAVAULT_CLIP_MODEL=off (pictures are searched through "
                                   "the multimodal model, if one is configured)")
        from workers.ml.clip import ClipModel

        config_path = config.clip_config or None
        return ClipModel(config.clip_model, config.clip_pretrained, config_path=config_path, **common)
    if kind == "multimodal":
        if not config.multimodal_model:
            raise ModelUnavailable(f"{NOT_CONFIGURED}: set MEDIAVAULT_MULTIMODAL_MODEL to a Qwen3-VL-Embedding hub id "
                                   "or folder (Qwen/Qwen3-VL-Embedding-2B)")
        from workers.ml.qwen_vl_embed import QwenVLEmbedder

        return QwenVLEmbedder(config.multimodal_model, dim=config.multimodal_dim, task=config.multimodal_task,
                              max_pixels=config.vl_max_pixels, **common)
    if kind == "rerank":
        if is_vision_language(config.rerank_model):
            from workers.ml.qwen_vl_rerank import QwenVLReranker

            return QwenVLReranker(config.rerank_model, max_pixels=config.vl_max_pixels, **common)
        from workers.ml.qwen_rerank import QwenReranker

        return QwenReranker(config.rerank_model, **common)
    name = config.text_model
    if config.profile == "offline" or name.lower() == "minilm" or name.startswith(_ST_PREFIX):
        return _minilm(config, offline)
    from workers.ml.qwen_embed import QwenEmbedder

    return QwenEmbedder(name, dim=config.text_dim, task=config.text_task, **common)


def _minilm(config: ModelConfig, offline: bool) -> BaseModel:
    from workers.ml import onnx_copies
    from workers.ml.minilm import MiniLMEmbedder

    named = config.text_model.removeprefix(_ST_PREFIX) if config.text_model.startswith(_ST_PREFIX) else None
    if config.profile == "offline":
        named = None  # the offline profile means the bundled copy, whatever else is configured
    return MiniLMEmbedder(named, device=config.device, local_files_only=offline, onnx_cache=onnx_copies.cache_dir())


def _replace_after_failed_load(kind: str, slot: BaseModel, exc: ModelUnavailable) -> BaseModel | None:
    """After a failed load: MiniLM for an automatically chosen text model, else remember the failure."""
    global _substituted
    config = current_config()
    with _lock:
        if _slots is None or _slots.get(kind) is not slot:
            return None  # reset or replaced meanwhile; let the caller see this failure
        from workers.ml.minilm import MiniLMEmbedder

        if kind == "text" and _text_may_fall_back(config) and not isinstance(slot, MiniLMEmbedder):
            replacement = _checked(lambda: _minilm(config, slot.local_files_only), also=exc.reason)
            _slots[kind] = replacement
            if isinstance(replacement, ModelUnavailable):
                return None
            _substituted = (config.text_model, exc.reason)
            log.warning("text model %s failed to load (%s); serving text with %s instead",
                        config.text_model, exc.reason, replacement.model_id)
            return replacement
        _slots[kind] = ModelUnavailable(exc.reason)
        return None


def is_vision_language(source: str) -> bool:
    """Whether `source` names a Qwen3-VL model (one that reads pictures): by its config where one
    is at hand (a folder, the local cache), else by the hub's naming ("Qwen/Qwen3-VL-Reranker-2B"),
    so that choosing never downloads anything."""
    import json

    path = hub.local_path(source)
    config = path / "config.json" if path is not None else None
    if config is None and not hub.looks_like_path(source):
        cached = hub.cached_file(source, "config.json")
        config = Path(cached) if cached else None
    if config is not None and config.is_file():
        try:
            return str(json.loads(config.read_text()).get("model_type", "")).startswith("qwen3_vl")
        except (OSError, ValueError):
            return False
    return "-vl-" in source.lower()


def is_off(slot: Slot) -> bool:
    """An optional kind nobody configured: not a fault, nothing to warn about."""
    return isinstance(slot, ModelUnavailable) and slot.reason.startswith(NOT_CONFIGURED)


def _log_choice(
    config: ModelConfig, slots: dict[str, Slot], substituted: tuple[str, str] | None, offline: bool
) -> None:
    lines = []
    for kind, slot in slots.items():
        if is_off(slot):
            lines.append(f"{kind}: off ({NOT_CONFIGURED})")
        elif isinstance(slot, ModelUnavailable):
            lines.append(f"{kind}: UNAVAILABLE - {slot.reason}")
        elif kind == "text" and substituted:
            configured, why = substituted
            lines.append(f"text: {slot.describe_source()} standing in for {configured} ({why})")
        else:
            lines.append(f"{kind}: {slot.describe_source()}")
    where = "local files only (hub unreachable or offline)" if offline else "hub allowed"
    summary = f"models (profile {config.profile}, {where}): " + "; ".join(lines)
    if not substituted and not any(isinstance(slot, ModelUnavailable) and not is_off(slot) for slot in slots.values()):
        log.info("%s", summary)
    elif config.profile == "full":
        log.error("%s", summary)
    else:
        log.warning("%s. Steps without a model are skipped; point the MEDIAVAULT_* model settings at "
                    "local copies, or set MEDIAVAULT_MODEL_PROFILE=full to make this an error.", summary)
