"""Qwen3-Reranker relevance scores: P("yes") for "does this document meet the query?".

The prompt is the model card's, byte for byte: a fixed system turn, a user turn with
instruction, query and document, and an assistant turn opened with an empty think block, so
the next token is the answer. The score is the softmax over the "no" and "yes" logits there.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import torch

from workers.ml import defaults, hf_text, hub
from workers.ml.base import BaseModel, ModelUnavailable

SYSTEM_PROMPT = (
    "Judge whether the Document meets the requirements based on the Query and the Instruct provided. "
    'Note that the answer can only be "yes" or "no".'
)
PREFIX = f"<|im_start|>system\n{SYSTEM_PROMPT}<|im_end|>\n<|im_start|>user\n"
SUFFIX = "<|im_end|>\n<|im_start|>assistant\n<think>\n\n</think>\n\n"

# Named instructions; any other string passed as ``instruction`` is used as written.
INSTRUCTIONS = {
    "default": defaults.TEXT_TASK,  # the model card's own instruction
    "general": defaults.TEXT_TASK,
    "media": "Given a search query for a photo library, judge whether the asset's description and "
    "metadata match what the query asks for",
    "ecommerce": "Given a product search query, retrieve product listings that match the query",
    "news": "Given a news search query, retrieve news articles relevant to the query",
}


def resolve_instruction(instruction: str | None) -> str:
    if not instruction:
        return INSTRUCTIONS["default"]
    return INSTRUCTIONS.get(instruction, instruction)


def format_pair(query: str, document: str, instruction: str | None = None) -> str:
    """The user turn's content, between the fixed PREFIX and SUFFIX."""
    return f"<Instruct>: {resolve_instruction(instruction)}\n<Query>: {query}\n<Document>: {document}"


def format_prompt(query: str, document: str, instruction: str | None = None) -> str:
    """The whole text the model reads for one pair."""
    return PREFIX + format_pair(query, document, instruction) + SUFFIX


class QwenReranker(BaseModel):
    kind = "rerank"
    cuda_dtype = torch.bfloat16
    default_batch_size = 16

    def __init__(
        self,
        source: str = defaults.RERANK_MODEL,
        *,
        instruction: str = "default",
        max_length: int = 1024,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        self.source = source
        self.instruction = instruction
        self.max_length = max_length
        self._model: Any = None
        self._tokenizer: Any = None
        self._prefix_ids: list[int] = []
        self._suffix_ids: list[int] = []
        self._yes_no_ids: list[int] = []

    @property
    def model_id(self) -> str:
        return f"qwen3-rerank:{self.source}"

    @property
    def dim(self) -> None:
        return None

    def describe_source(self) -> str:
        return self.source

    def check(self) -> None:
        hub.check_hf_source(self.source, local_files_only=self.local_files_only)

    def _load(self) -> None:
        from transformers import AutoModelForCausalLM

        tokenizer = hf_text.load_tokenizer(self.source, local_files_only=self.local_files_only)
        yes_no = [tokenizer.convert_tokens_to_ids(word) for word in ("no", "yes")]
        if any(i is None or i == tokenizer.unk_token_id for i in yes_no):
            raise ModelUnavailable(f"{self.source}: its tokenizer has no single 'yes'/'no' tokens")
        self._tokenizer = tokenizer
        self._yes_no_ids = yes_no
        self._prefix_ids = tokenizer.encode(PREFIX, add_special_tokens=False)
        self._suffix_ids = tokenizer.encode(SUFFIX, add_special_tokens=False)
        self._model = hf_text.load_weights(
            AutoModelForCausalLM, self.source, dtype=self.dtype, device=self.device,
            local_files_only=self.local_files_only,
        )

    def score(self, query: str, documents: Sequence[str], instruction: str | None = None) -> np.ndarray:
        """Relevance of each document to ``query``, in [0, 1], in the documents' order."""
        return self.score_pairs([(query, document) for document in documents], instruction)

    def score_pairs(self, pairs: Sequence[tuple[str, str]], instruction: str | None = None) -> np.ndarray:
        if not pairs:
            return np.zeros(0, dtype=np.float32)
        texts = [format_pair(query, document, instruction or self.instruction) for query, document in pairs]
        return self._map_batches(texts, self._score_batch)

    @torch.inference_mode()
    def _score_batch(self, texts: Sequence[str]) -> np.ndarray:
        batch = hf_text.left_padded_batch(
            self._tokenizer, texts, max_length=self.max_length, device=self.device,
            prefix_ids=self._prefix_ids, suffix_ids=self._suffix_ids, add_special_tokens=False,
        )
        # logits_to_keep=1: only the answer position is needed, not a vocab-wide row per token.
        logits = self._model(**batch, use_cache=False, logits_to_keep=1).logits[:, -1, self._yes_no_ids]
        return torch.softmax(logits.float(), dim=-1)[:, 1].cpu().numpy()
