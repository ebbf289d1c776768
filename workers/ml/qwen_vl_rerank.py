"""Qwen3-VL-Reranker relevance scores (2B, 8B): P("yes") for "does this candidate meet the
query?", where the candidate is the picture itself and its text.

The prompt is Qwen3-Reranker's (workers.ml.qwen_rerank: the same system turn, instructions and
yes/no reading) in Qwen3-VL's chat format, with the candidate's picture placed in the document
before its words: ``<Instruct>: ...\\n<Query>: ...\\n<Document>: [picture] text``, then the
assistant's turn opened, so the next token is the answer; the score is the softmax over the "no"
and "yes" logits there. A candidate without a picture (a sound, a document not yet rendered) is
judged by its text alone, in the same model.

Pictures are the candidates' renditions (search sends their blob ids, the realtime worker reads
them), held to ``MEDIAVAULT_VL_MAX_PIXELS`` and scored in batches of similar size.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import torch
from PIL import Image

from workers.ml import defaults, hub, qwen_vl
from workers.ml.base import BaseModel, ModelUnavailable
from workers.ml.qwen_rerank import SYSTEM_PROMPT, resolve_instruction

# Text tokens a candidate's document and the query (or instruction) may take; the picture's own
# tokens come on top (at most max_pixels / 1,024). The text reranker reads 1,024 in all.
MAX_DOCUMENT_TOKENS = 512
MAX_QUERY_TOKENS = 256


class QwenVLReranker(BaseModel):
    kind = "rerank"
    cuda_dtype = torch.bfloat16
    default_batch_size = 8
    reads_pictures = True  # search sends each candidate's picture with its text

    def __init__(self, source: str, *, instruction: str = "default", max_pixels: int = defaults.VL_MAX_PIXELS,
                 **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.source, self.instruction, self.max_pixels = source, instruction, max_pixels
        self._processor: Any = None
        self._model: Any = None
        self._yes_no_ids: list[int] = []

    @property
    def model_id(self) -> str:
        return f"qwen3-vl-rerank:{self.source}"

    @property
    def dim(self) -> None:
        return None

    def describe_source(self) -> str:
        return self.source

    @property
    def image_size(self) -> int:
        return qwen_vl.decode_side(self.max_pixels)

    def describe(self) -> dict[str, Any]:
        return {**super().describe(), "reads_pictures": True, "max_pixels": self.max_pixels}

    def check(self) -> None:
        hub.check_hf_source(self.source, local_files_only=self.local_files_only)

    def _load(self) -> None:
        processor, model = qwen_vl.load(self.source, device=self.device, dtype=self.dtype,
                                        local_files_only=self.local_files_only)
        tokenizer = processor.tokenizer
        yes_no = [tokenizer.convert_tokens_to_ids(word) for word in ("no", "yes")]
        if any(i is None or i == tokenizer.unk_token_id for i in yes_no):
            raise ModelUnavailable(f"{self.source}: its tokenizer has no single 'yes'/'no' tokens")
        self._processor, self._model, self._yes_no_ids = processor, model, yes_no

    def score(self, query: str, documents: Sequence[str], instruction: str | None = None,
              pictures: Sequence[Image.Image | None] | None = None) -> np.ndarray:
        """Relevance of each candidate (its text, and its picture where given) to ``query``, in
        [0, 1], in the candidates' order."""
        if not documents:
            return np.zeros(0, dtype=np.float32)
        self.load()
        pictures = list(pictures) if pictures is not None else [None] * len(documents)
        if len(pictures) != len(documents):
            raise ValueError(f"{len(pictures)} pictures for {len(documents)} documents")
        bounded = [qwen_vl.bounded(p, self.max_pixels) if p is not None else None for p in pictures]
        told = resolve_instruction(instruction or self.instruction)
        scores = np.zeros(len(documents), dtype=np.float32)
        with_picture = [i for i, p in enumerate(bounded) if p is not None]
        without = [i for i, p in enumerate(bounded) if p is None]
        batches = qwen_vl.by_size(with_picture, lambda i: bounded[i].width * bounded[i].height, self.batch_size)
        batches += [without[start : start + self.batch_size] for start in range(0, len(without), self.batch_size)]
        for batch in batches:
            scores[batch] = self._score([self.prompt(query, documents[i], bounded[i] is not None, told)
                                         for i in batch], [bounded[i] for i in batch if bounded[i] is not None])
        return scores

    def prompt(self, query: str, document: str, picture: bool, instruction: str | None = None) -> str:
        """The whole chat the model reads for one candidate (the picture's place marked, the
        processor expands it to the picture's tokens), ending where the answer comes."""
        told = resolve_instruction(instruction or self.instruction)
        tokenizer = self._processor.tokenizer
        head = f"<Instruct>: {qwen_vl.clipped(tokenizer, told, MAX_QUERY_TOKENS)}\n<Query>: " \
               f"{qwen_vl.clipped(tokenizer, query, MAX_QUERY_TOKENS)}\n<Document>: "
        content = [{"type": "text", "text": head}]
        content += [{"type": "image"}] if picture else []
        content.append({"type": "text", "text": qwen_vl.clipped(tokenizer, document, MAX_DOCUMENT_TOKENS)})
        turns = [{"role": "system", "content": [{"type": "text", "text": SYSTEM_PROMPT}]},
                 {"role": "user", "content": content}]
        return self._processor.apply_chat_template(turns, tokenize=False, add_generation_prompt=True)

    @torch.inference_mode()
    def _score(self, chats: list[str], pictures: list[Image.Image]) -> np.ndarray:
        inputs = qwen_vl.inputs(self._processor, chats, pictures, self.max_pixels, self.device)
        logits = self._model(**inputs, use_cache=False, logits_to_keep=1).logits[:, -1, self._yes_no_ids]
        return torch.softmax(logits.float(), dim=-1)[:, 1].cpu().numpy()
