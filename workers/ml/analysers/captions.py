"""A short factual description of the picture, written by a vision-language model (default
``Qwen/Qwen3-VL-2B-Instruct``; any Qwen3-VL instruct model, hub id or local folder).

The caption is one sentence in the configured language (``MEDIAVAULT_CAPTION_LANGUAGE``), asked for
by ``MEDIAVAULT_CAPTION_PROMPT``; both, the pixel budget and the length limit are part of the model
id, so changing any of them re-runs this analyser only. It becomes the searchable ``caption``
field (keyword index, text vectors, the text reranker's document) unless a person wrote the
asset's caption, and shows on the asset page, where an editor's correction replaces it for good
(``correct_analysis``: a later run never overwrites a correction).

Greedy decoding, so the same picture gets the same caption on the same model. Runs where the
configured device is (bf16 on CUDA, fp32 on CPU); off unless ``MEDIAVAULT_CAPTIONS=on`` (see
mediavault/settings.py). Offline, a hub id that is not in the local cache makes the analyser
unavailable with that reason: the other analysers run on.
"""

from __future__ import annotations

import hashlib
import re
import threading
from typing import Any

import torch

from workers.ml import hub
from workers.ml.analysers.base import Analyser, Result, Subject
from workers.ml.analysers.pictures import rgb
from workers.ml.config import ModelConfig

MAX_NEW_TOKENS = 60  # one sentence; the model stops itself sooner
MIN_SIDE = 32  # pixels: one picture token
BATCH = 4
_SPACE = re.compile(r"\s+")
_UNPRINTABLE = re.compile(r"[\x00-\x08\x0b-\x1f\x7f\ufffd]")
# A thinking model's reasoning, and any tag left of it, is not the caption.
_THINKING = re.compile(r"<think>.*?(</think>|$)|</?think>", re.DOTALL)


class Captions(Analyser):
    name = "caption"
    # A 2B model on two CPU cores: 10-40 s a photo; a GPU: a fraction of a second.
    seconds_per_subject = 120.0

    def __init__(self, config: ModelConfig | None = None) -> None:
        super().__init__()
        from workers.ml import registry

        self.config = config or registry.current_config()
        self.source = self.config.caption_model
        self.prompt = self.config.caption_prompt.replace("{language}", self.config.caption_language)
        self._processor: Any = None
        self._model: Any = None
        self._device: torch.device | None = None
        self._run_lock = threading.Lock()

    @property
    def model_id(self) -> str:
        asked = f"{self.prompt}\n{self.config.vl_max_pixels}\n{MAX_NEW_TOKENS}".encode()
        return f"{self.source}+ask-{hashlib.sha256(asked).hexdigest()[:8]}"

    def _local_files_only(self) -> bool:
        from workers.ml import registry

        return registry.local_files_only()

    def check(self) -> None:
        hub.check_hf_source(self.source, local_files_only=self._local_files_only(), marker="config.json")

    def _load(self) -> None:
        from workers.ml import qwen_vl
        from workers.ml.devices import resolve_device

        self._device = resolve_device(self.config.device)
        dtype = torch.bfloat16 if self._device.type == "cuda" else torch.float32
        self._processor, self._model = qwen_vl.load(self.source, device=self._device, dtype=dtype,
                                                    local_files_only=self._local_files_only())

    def describe(self) -> dict[str, Any]:
        return {**super().describe(), "source": self.source, "language": self.config.caption_language,
                "device": str(self._device) if self._device else self.config.device,
                "max_pixels": self.config.vl_max_pixels}

    def analyse(self, subjects: list[Subject]) -> list[Result]:
        from workers.ml import qwen_vl

        results: list[Result | None] = [None] * len(subjects)
        pictures = []
        for position, subject in enumerate(subjects):
            image = rgb(subject.image)
            if min(image.size) < MIN_SIDE:
                results[position] = Result("", {"caption": "", "skipped": f"picture too small to describe "
                                                                          f"({image.width}x{image.height})"})
                continue
            pictures.append((position, qwen_vl.bounded(image, self.config.vl_max_pixels)))
        for batch in qwen_vl.by_size(pictures, lambda item: item[1].width * item[1].height, BATCH):
            for (position, _), caption in zip(batch, self._describe([picture for _, picture in batch]), strict=True):
                results[position] = Result(caption, {"caption": caption, "language": self.config.caption_language})
        return [result for result in results if result is not None]

    def _describe(self, pictures: list) -> list[str]:
        from workers.ml import qwen_vl

        processor = self._processor
        chat = processor.apply_chat_template(qwen_vl.user_turn(self.prompt, picture=True), tokenize=False,
                                             add_generation_prompt=True)
        with self._run_lock, torch.inference_mode():
            inputs = qwen_vl.inputs(processor, [chat] * len(pictures), pictures, self.config.vl_max_pixels,
                                    self._device)
            made = self._model.generate(**inputs, max_new_tokens=MAX_NEW_TOKENS, do_sample=False)
        written = processor.batch_decode(made[:, inputs["input_ids"].shape[1]:], skip_special_tokens=True)
        return [_cleaned(text) for text in written]


def _cleaned(text: str) -> str:
    """One line: reasoning, control characters and broken bytes out, white space collapsed."""
    return _SPACE.sub(" ", _UNPRINTABLE.sub(" ", _THINKING.sub(" ", text))).strip()
