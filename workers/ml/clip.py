"""open_clip image+text model: one vector space for photos and the words that describe them.

Weights can be named three ways, as open_clip itself accepts them:

* an architecture plus a pretrained tag or checkpoint file: ``ClipModel("ViT-B-32", "laion2b_s34b_b79k")``
  or ``ClipModel("ViT-B-32", "/models/clip.bin")``;
* a custom architecture from a config JSON (keys ``embed_dim``, ``vision_cfg``, ``text_cfg``; open_clip
  registers it under the file's stem) plus a checkpoint: ``ClipModel(config_path=..., pretrained=...)``;
* a schema name that carries config and weights together: ``hf-hub:org/repo`` or ``local-dir:/path``
  (a folder with ``open_clip_config.json`` and the weights); ``pretrained`` is then ignored.
"""

from __future__ import annotations

import json
import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import torch
from PIL import Image

from workers.ml import defaults, hub
from workers.ml.base import BaseModel, ModelUnavailable, l2_normalise
from workers.ml.images import load_image_for_model

__all__ = ["ClipModel", "load_image_for_model"]

_SCHEMAS = ("hf-hub:", "local-dir:")


class ClipModel(BaseModel):
    kind = "image"
    cuda_dtype = torch.float16
    default_batch_size = 64

    def __init__(
        self,
        model_name: str = defaults.CLIP_MODEL,
        pretrained: str | None = defaults.CLIP_PRETRAINED,
        *,
        config_path: str | Path | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        self.model_name = model_name
        self.pretrained = None if self.schema else (pretrained or None)
        self.config_path = Path(config_path).expanduser() if config_path else None
        self._model: Any = None
        self._tokenizer: Any = None
        self._preprocess: Any = None
        self._dim: int | None = None

    # -- identity -------------------------------------------------------------------------------
    @property
    def schema(self) -> str | None:
        return next((s for s in _SCHEMAS if self.model_name.startswith(s)), None)

    @property
    def architecture(self) -> str:
        """The name open_clip builds: a custom config is registered under its file's stem."""
        return self.config_path.stem if self.config_path else self.model_name

    @property
    def model_id(self) -> str:
        if self.schema:
            return f"open_clip:{self.model_name}"
        return f"open_clip:{self.architecture}/{self.pretrained}"

    @property
    def dim(self) -> int | None:
        if self._dim is None and not self.schema:
            config = self._builtin_config()
            return int(config["embed_dim"]) if config else None
        return self._dim

    @property
    def image_size(self) -> int:
        """Side of the square the model sees; pass it to ``load_image_for_model``."""
        self.load()
        size = self._model.visual.preprocess_cfg["size"]
        return int(max(size)) if isinstance(size, (tuple, list)) else int(size)

    def describe_source(self) -> str:
        return self.model_id

    # -- lifecycle ------------------------------------------------------------------------------
    def _builtin_config(self) -> dict[str, Any] | None:
        import open_clip

        if self.config_path is not None and self.config_path.is_file():
            try:
                wanted = json.loads(self.config_path.read_text())
            except ValueError as exc:
                raise ModelUnavailable(f"CLIP config {self.config_path} is not valid JSON: {exc}") from exc
            # open_clip keeps one global name -> config table; re-register when another file of the
            # same name was registered before, so this model is built from its own config.
            if open_clip.get_model_config(self.architecture) != wanted:
                open_clip.add_model_config(self.config_path)
        return open_clip.get_model_config(self.architecture)

    def check(self) -> None:
        if self.config_path is not None and not self.config_path.is_file():
            raise ModelUnavailable(f"CLIP config {self.config_path}: no such file")
        if self.schema == "local-dir:":
            folder = Path(self.model_name.removeprefix("local-dir:")).expanduser()
            if not (folder / "open_clip_config.json").is_file():
                raise ModelUnavailable(f"{self.model_name}: no open_clip_config.json in that folder")
        elif self.schema == "hf-hub:":
            repo = self.model_name.removeprefix("hf-hub:")
            if self.local_files_only and hub.cached_file(repo, "open_clip_config.json") is None:
                raise ModelUnavailable(f"{self.model_name} is not in the local Hugging Face cache (offline)")
        else:
            self._check_architecture_and_weights()

    def _check_architecture_and_weights(self) -> None:
        import open_clip

        if self._builtin_config() is None:
            hint = " (a config JSON needs embed_dim, vision_cfg and text_cfg)" if self.config_path else ""
            raise ModelUnavailable(f"open_clip has no model config named {self.architecture!r}{hint}")
        if not self.pretrained:
            # Random weights differ per process, so their vectors could never be compared.
            raise ModelUnavailable(f"{self.architecture}: no pretrained weights configured")
        if hub.local_path(self.pretrained) is not None:
            return
        if hub.looks_like_path(self.pretrained):
            raise ModelUnavailable(f"CLIP checkpoint {self.pretrained}: no such file")
        tag_cfg = open_clip.get_pretrained_cfg(self.architecture, self.pretrained)
        if not tag_cfg:
            known = ", ".join(open_clip.list_pretrained_tags_by_model(self.architecture)) or "none"
            raise ModelUnavailable(
                f"{self.pretrained!r} is neither a checkpoint file nor a pretrained tag of "
                f"{self.architecture} (tags: {known})"
            )
        if self.local_files_only and not _tag_cached(tag_cfg):
            raise ModelUnavailable(
                f"weights for {self.architecture}/{self.pretrained} are not in the local cache and the hub "
                "is not reachable (offline); set MEDIAVAULT_CLIP_PRETRAINED to a local checkpoint"
            )

    def _load(self) -> None:
        import open_clip

        name = self.model_name if self.schema else self.architecture
        model, _, preprocess = open_clip.create_model_and_transforms(
            name,
            pretrained=self.pretrained,
            precision="fp16" if self.device.type == "cuda" else "fp32",
            device=self.device,
        )
        self._model = model.eval()
        self._preprocess = preprocess
        self._tokenizer = open_clip.get_tokenizer(name)
        # The embedding width is read off one real forward pass: it is the same for every open_clip
        # family, whereas the attributes that hold it differ between them.
        self._dim = int(self._encode_tokens(self._tokenizer([""])).shape[-1])

    # -- encoding -------------------------------------------------------------------------------
    def preprocess(self, image: Image.Image) -> torch.Tensor:
        """The model's resize/crop/normalise, on CPU; safe to call from several threads at once."""
        self.load()
        return self._preprocess(image)

    @staticmethod
    def collate(pictures: list[torch.Tensor]) -> torch.Tensor:
        """Preprocessed pictures (3, H, W each) as one batch for `encode_preprocessed`."""
        return torch.stack(pictures)

    def encode_preprocessed(self, pixels: torch.Tensor) -> np.ndarray:
        """Vectors for a stacked batch of ``preprocess`` outputs, shape (n, 3, H, W)."""
        self.load()
        parts = [self._encode_pixels(chunk) for chunk in torch.split(pixels, self.batch_size)]
        return np.concatenate(parts) if parts else np.zeros((0, self.dim or 0), dtype=np.float32)

    def encode_images(self, images: Sequence[Image.Image]) -> np.ndarray:
        return self._map_batches(
            images, lambda chunk: self._encode_pixels(torch.stack([self._preprocess(im) for im in chunk]))
        )

    def encode_texts(self, texts: Sequence[str]) -> np.ndarray:
        return self._map_batches(texts, lambda chunk: self._encode_tokens(self._tokenizer(list(chunk))))

    @torch.inference_mode()
    def _encode_pixels(self, pixels: torch.Tensor) -> np.ndarray:
        return l2_normalise(self._model.encode_image(pixels.to(self.device, self.dtype)))

    @torch.inference_mode()
    def _encode_tokens(self, tokens: torch.Tensor) -> np.ndarray:
        return l2_normalise(self._model.encode_text(tokens.to(self.device)))


def _tag_cached(tag_cfg: dict[str, Any]) -> bool:
    """Whether open_clip would find a tag's weights without downloading (mirrors its look-up order)."""
    from open_clip.constants import HF_SAFE_WEIGHTS_NAME, HF_WEIGHTS_NAME

    if tag_cfg.get("hf_hub"):
        repo, filename = os.path.split(tag_cfg["hf_hub"])
        filename = filename or HF_WEIGHTS_NAME
        candidates = {filename, HF_SAFE_WEIGHTS_NAME, Path(filename).stem + ".safetensors"}
        return any(hub.cached_file(repo.rstrip("/"), name) for name in candidates)
    if tag_cfg.get("url"):
        return (Path("~/.cache/clip").expanduser() / os.path.basename(tag_cfg["url"])).is_file()
    return bool(tag_cfg.get("file")) and Path(tag_cfg["file"]).is_file()
