"""The left-padded batch builder shared by the Qwen embedding and reranker paths."""

from __future__ import annotations

import pytest
import torch
from transformers import AutoTokenizer

from workers.ml.hf_text import left_padded_batch

CPU = torch.device("cpu")


@pytest.fixture(scope="module")
def tokenizer(tiny_qwen_embedding_dir):
    return AutoTokenizer.from_pretrained(tiny_qwen_embedding_dir, local_files_only=True)


def test_rows_are_padded_on_the_left_with_positions_from_the_first_real_token(tokenizer):
    batch = left_padded_batch(tokenizer, ["dog", "a red kayak on a lake"], max_length=64, device=CPU)
    short, long = (tokenizer(text)["input_ids"] for text in ["dog", "a red kayak on a lake"])
    width = len(long)
    pad = width - len(short)
    assert batch["input_ids"].tolist() == [[tokenizer.pad_token_id] * pad + short, long]
    assert batch["attention_mask"].tolist() == [[0] * pad + [1] * len(short), [1] * width]
    assert batch["position_ids"].tolist() == [[0] * pad + list(range(len(short))), list(range(width))]


def test_only_the_text_is_truncated_never_the_prompt(tokenizer):
    prefix = tokenizer.encode("<|im_start|>user\n", add_special_tokens=False)
    suffix = tokenizer.encode("<|im_end|>\n<think>\n\n</think>\n\n", add_special_tokens=False)
    long_text = "the quick brown fox " * 50
    batch = left_padded_batch(
        tokenizer, [long_text, "dog"], max_length=40, device=CPU,
        prefix_ids=prefix, suffix_ids=suffix, add_special_tokens=False,
    )
    rows = batch["input_ids"].tolist()
    mask = batch["attention_mask"].tolist()
    assert len(rows[0]) == 40 and all(mask[0])
    for row, row_mask in zip(rows, mask, strict=True):
        real = [token for token, keep in zip(row, row_mask, strict=True) if keep]
        assert real[: len(prefix)] == prefix
        assert real[-len(suffix):] == suffix


def test_a_prompt_longer_than_max_length_is_an_error(tokenizer):
    with pytest.raises(ValueError, match="no room"):
        left_padded_batch(tokenizer, ["x"], max_length=3, device=CPU, prefix_ids=[1, 2], suffix_ids=[3])
