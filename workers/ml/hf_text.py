"""Plumbing shared by the transformers text models (Qwen3 embedding and Qwen3 reranker)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import torch
from transformers import AutoConfig, AutoTokenizer, PreTrainedTokenizerBase


def load_tokenizer(source: str, *, local_files_only: bool) -> PreTrainedTokenizerBase:
    tokenizer = AutoTokenizer.from_pretrained(source, local_files_only=local_files_only, padding_side="left")
    if tokenizer.pad_token_id is None:
        # Pad ids are masked out, so any real id will do; eos is the conventional choice.
        tokenizer.pad_token = tokenizer.eos_token
    return tokenizer


def load_weights(
    auto_class: Any, source: str, *, dtype: torch.dtype, device: torch.device, local_files_only: bool
) -> torch.nn.Module:
    model = auto_class.from_pretrained(source, dtype=dtype, local_files_only=local_files_only)
    return model.to(device).eval()


def hidden_size(source: str, *, local_files_only: bool) -> int:
    """The model's native width, read from its config alone (no weights)."""
    return int(AutoConfig.from_pretrained(source, local_files_only=local_files_only).hidden_size)


def left_padded_batch(
    tokenizer: PreTrainedTokenizerBase,
    texts: Sequence[str],
    *,
    max_length: int,
    device: torch.device,
    prefix_ids: Sequence[int] = (),
    suffix_ids: Sequence[int] = (),
    add_special_tokens: bool = True,
) -> dict[str, torch.Tensor]:
    """Tokenise ``texts`` between fixed prefix/suffix ids and pad on the left.

    Only the text is truncated, so the prompt scaffolding always survives. Left padding puts
    every row's last real token at position -1, which is where last-token pooling (embedding)
    and next-token scoring (reranker) both read.
    """
    budget = max_length - len(prefix_ids) - len(suffix_ids)
    if budget < 1:
        raise ValueError(f"max_length {max_length} leaves no room for text after the prompt")
    encoded = tokenizer(
        list(texts), add_special_tokens=add_special_tokens, truncation=True, max_length=budget
    )["input_ids"]
    rows = [[*prefix_ids, *ids, *suffix_ids] for ids in encoded]
    width = max(len(row) for row in rows)
    input_ids = torch.full((len(rows), width), tokenizer.pad_token_id, dtype=torch.long)
    attention_mask = torch.zeros((len(rows), width), dtype=torch.long)
    # Positions count from each row's first real token, so a padded row is computed exactly as
    # it would be alone (RoPE is shift-invariant anyway; this keeps it true for any model).
    position_ids = torch.zeros((len(rows), width), dtype=torch.long)
    for i, row in enumerate(rows):
        start = width - len(row)
        input_ids[i, start:] = torch.tensor(row, dtype=torch.long)
        attention_mask[i, start:] = 1
        position_ids[i, start:] = torch.arange(len(row))
    return {
        "input_ids": input_ids.to(device),
        "attention_mask": attention_mask.to(device),
        "position_ids": position_ids.to(device),
    }
