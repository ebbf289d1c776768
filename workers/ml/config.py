"""Which models the workers use, read once from the environment. Bad values fail at start-up.

Variables (all optional):

``MEDIAVAULT_MODEL_PROFILE`` = ``auto`` (default) | ``full`` | ``offline``
    auto: use the configured models; if the Hugging Face hub is unreachable, load from local
    paths and the local cache only, and when the default text model cannot be found there,
    serve text with the bundled all-MiniLM-L6-v2 (one warning is logged). CLIP and the reranker
    are then reported unavailable, with the reason, and callers skip those steps.
    full: the configured models or an error, never a substitute.
    offline: never touch the network; text is always MiniLM; CLIP and the reranker load only
    from local paths or the local cache.
``MEDIAVAULT_DEVICE`` = ``auto`` (default: CUDA when present) | ``cpu`` | ``cuda`` | ``cuda:N``
``MEDIAVAULT_CLIP_MODEL`` = open_clip architecture (``ViT-B-32``), or ``hf-hub:org/repo``, or
    ``local-dir:/path`` (folder with ``open_clip_config.json`` and weights), or ``off`` (no CLIP:
    the multimodal model alone searches pictures).
``MEDIAVAULT_CLIP_PRETRAINED`` = pretrained tag (``laion2b_s34b_b79k``) or a local checkpoint file.
``MEDIAVAULT_CLIP_CONFIG`` = optional local model config JSON for a custom architecture; the
    architecture is then named after the file (``tiny-clip.json`` -> ``tiny-clip``), and
    ``MEDIAVAULT_CLIP_MODEL``, if set, must say the same.
``MEDIAVAULT_TEXT_MODEL`` = Qwen3-Embedding hub id or local directory (``Qwen/Qwen3-Embedding-0.6B``).
``MEDIAVAULT_TEXT_DIM`` = output width, 0 for the model's own (Matryoshka: cut, then re-normalise).
``MEDIAVAULT_TEXT_TASK`` = the instruction put before queries.
``MEDIAVAULT_RERANK_MODEL`` = Qwen3-Reranker hub id or local directory (``Qwen/Qwen3-Reranker-0.6B``).
``MEDIAVAULT_MULTIMODAL_MODEL`` = a Qwen3-VL-Embedding hub id or local directory for the
    ``"multimodal"`` kind (pictures and texts in one space: text-to-image, image-to-image and
    "similar", beside CLIP); empty (the default): the kind is off.
``MEDIAVAULT_MULTIMODAL_DIM`` = its output width, 0 for the model's own up to pgvector's HNSW limit
    of 4,000 (the 8B's 4,096 are cut to 4,000: Matryoshka, then re-normalised).
``MEDIAVAULT_MULTIMODAL_TASK`` = the instruction put before queries.
``MEDIAVAULT_CAPTION_MODEL`` = the vision-language model of the ``caption`` analyser, a hub id or
    local directory (``Qwen/Qwen3-VL-2B-Instruct``); the analyser runs when ``MEDIAVAULT_CAPTIONS=on``.
``MEDIAVAULT_CAPTION_PROMPT`` = what it is asked (``{language}`` is replaced by the next setting).
``MEDIAVAULT_CAPTION_LANGUAGE`` = the language captions are written in (``English``).
``MEDIAVAULT_VL_MAX_PIXELS`` = the most pixels of a picture a vision-language model reads (640x640);
    larger pictures are shrunk first, so a 50-MP photo costs what a small one does.

A variable that is set, even to its default, counts as an explicit choice: explicit choices are
never replaced by the automatic fallback (see ``ModelConfig.explicit``).
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

from django.core.exceptions import ImproperlyConfigured

from mediavault.env import envint, envstr
from workers.ml import defaults
from workers.ml.devices import DEVICE_CHOICES, validate_device_setting

PROFILES = ("auto", "full", "offline")


ENV_VARS = {
    "profile": "MEDIAVAULT_MODEL_PROFILE",
    "device": "MEDIAVAULT_DEVICE",
    "clip_model": "MEDIAVAULT_CLIP_MODEL",
    "clip_pretrained": "MEDIAVAULT_CLIP_PRETRAINED",
    "clip_config": "MEDIAVAULT_CLIP_CONFIG",
    "text_model": "MEDIAVAULT_TEXT_MODEL",
    "text_dim": "MEDIAVAULT_TEXT_DIM",
    "text_task": "MEDIAVAULT_TEXT_TASK",
    "rerank_model": "MEDIAVAULT_RERANK_MODEL",
    "multimodal_model": "MEDIAVAULT_MULTIMODAL_MODEL",
    "multimodal_dim": "MEDIAVAULT_MULTIMODAL_DIM",
    "multimodal_task": "MEDIAVAULT_MULTIMODAL_TASK",
    "caption_model": "MEDIAVAULT_CAPTION_MODEL",
    "caption_prompt": "MEDIAVAULT_CAPTION_PROMPT",
    "caption_language": "MEDIAVAULT_CAPTION_LANGUAGE",
    "vl_max_pixels": "MEDIAVAULT_VL_MAX_PIXELS",
}
MIN_VL_PIXELS = 32 * 32  # one picture token


@dataclass(frozen=True)
class ModelConfig:
    profile: str = "auto"
    device: str = "auto"
    clip_model: str = defaults.CLIP_MODEL
    clip_pretrained: str = defaults.CLIP_PRETRAINED
    clip_config: str = ""
    text_model: str = defaults.TEXT_MODEL
    text_dim: int = 0
    text_task: str = defaults.TEXT_TASK
    rerank_model: str = defaults.RERANK_MODEL
    multimodal_model: str = defaults.MULTIMODAL_MODEL
    multimodal_dim: int = 0
    multimodal_task: str = defaults.MULTIMODAL_TASK
    caption_model: str = defaults.CAPTION_MODEL
    caption_prompt: str = defaults.CAPTION_PROMPT
    caption_language: str = defaults.CAPTION_LANGUAGE
    vl_max_pixels: int = defaults.VL_MAX_PIXELS
    # Field names whose values were chosen by a person (set in the environment or passed in).
    explicit: frozenset[str] = field(default_factory=frozenset)

    def __post_init__(self) -> None:
        if self.profile not in PROFILES:
            raise ImproperlyConfigured(f"MEDIAVAULT_MODEL_PROFILE={self.profile!r} is not one of {PROFILES}")
        try:
            validate_device_setting(self.device)
        except ValueError:
            raise ImproperlyConfigured(
                f"MEDIAVAULT_DEVICE={self.device!r} is not one of {DEVICE_CHOICES}"
            ) from None
        if self.text_dim < 0:
            raise ImproperlyConfigured(f"MEDIAVAULT_TEXT_DIM={self.text_dim} must be 0 (native) or positive")
        if self.multimodal_dim < 0:
            raise ImproperlyConfigured(f"MEDIAVAULT_MULTIMODAL_DIM={self.multimodal_dim} must be 0 (native) "
                                       "or positive")
        if self.vl_max_pixels < MIN_VL_PIXELS:
            raise ImproperlyConfigured(f"MEDIAVAULT_VL_MAX_PIXELS={self.vl_max_pixels} must be at least "
                                       f"{MIN_VL_PIXELS} (one 32x32 picture token)")
        config_stem = Path(self.clip_config).stem
        if self.clip_config and "clip_model" in self.explicit and self.clip_model != config_stem:
            raise ImproperlyConfigured(
                f"MEDIAVAULT_CLIP_MODEL={self.clip_model!r} disagrees with MEDIAVAULT_CLIP_CONFIG: open_clip "
                f"names a config file's architecture after the file ({config_stem!r})"
            )
        unknown = self.explicit - set(ENV_VARS)
        if unknown:
            raise ImproperlyConfigured(f"unknown ModelConfig fields marked explicit: {sorted(unknown)}")

    @classmethod
    def from_env(cls) -> ModelConfig:
        explicit = frozenset(name for name, var in ENV_VARS.items() if os.environ.get(var, "").strip())
        return cls(
            profile=envstr(ENV_VARS["profile"], "auto").strip().lower() or "auto",
            device=envstr(ENV_VARS["device"], "auto").strip().lower() or "auto",
            clip_model=envstr(ENV_VARS["clip_model"]).strip() or defaults.CLIP_MODEL,
            clip_pretrained=envstr(ENV_VARS["clip_pretrained"]).strip() or defaults.CLIP_PRETRAINED,
            clip_config=envstr(ENV_VARS["clip_config"]).strip(),
            text_model=envstr(ENV_VARS["text_model"]).strip() or defaults.TEXT_MODEL,
            text_dim=envint(ENV_VARS["text_dim"], 0, minimum=0),
            text_task=envstr(ENV_VARS["text_task"]).strip() or defaults.TEXT_TASK,
            rerank_model=envstr(ENV_VARS["rerank_model"]).strip() or defaults.RERANK_MODEL,
            multimodal_model=envstr(ENV_VARS["multimodal_model"]).strip(),
            multimodal_dim=envint(ENV_VARS["multimodal_dim"], 0, minimum=0),
            multimodal_task=envstr(ENV_VARS["multimodal_task"]).strip() or defaults.MULTIMODAL_TASK,
            caption_model=envstr(ENV_VARS["caption_model"]).strip() or defaults.CAPTION_MODEL,
            caption_prompt=envstr(ENV_VARS["caption_prompt"]).strip() or defaults.CAPTION_PROMPT,
            caption_language=envstr(ENV_VARS["caption_language"]).strip() or defaults.CAPTION_LANGUAGE,
            vl_max_pixels=envint(ENV_VARS["vl_max_pixels"], defaults.VL_MAX_PIXELS, minimum=MIN_VL_PIXELS),
            explicit=explicit,
        )

    def is_explicit(self, name: str) -> bool:
        return name in self.explicit
