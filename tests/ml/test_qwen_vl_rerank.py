"""Qwen3-VL-Reranker with a tiny random Qwen3-VL built locally: the registry chooses it for a
vision-language model, its prompt, P(yes) from the yes/no logits with the picture in the
candidate, instructions, batches of mixed pictures, and candidates without one."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from tests.conftest import noise_picture
from workers.ml import registry
from workers.ml.qwen_rerank import INSTRUCTIONS, SYSTEM_PROMPT
from workers.ml.qwen_vl_rerank import QwenVLReranker

BUDGET = 128 * 128


@pytest.fixture(scope="module")
def reranker(tiny_qwen_vl_dir) -> QwenVLReranker:
    return QwenVLReranker(tiny_qwen_vl_dir, device="cpu", local_files_only=True, max_pixels=BUDGET).load()


def test_the_registry_chooses_it_for_a_vision_language_model(tiny_qwen_vl_dir, tiny_qwen_reranker_dir, monkeypatch):
    assert registry.is_vision_language(tiny_qwen_vl_dir) and not registry.is_vision_language(tiny_qwen_reranker_dir)
    assert registry.is_vision_language("Qwen/Qwen3-VL-Reranker-2B")  # by name when nothing is at hand
    assert not registry.is_vision_language("Qwen/Qwen3-Reranker-0.6B")
    monkeypatch.setenv("MEDIAVAULT_RERANK_MODEL", tiny_qwen_vl_dir)
    monkeypatch.setenv("MEDIAVAULT_DEVICE", "cpu")
    registry.reset_registry()
    model = registry.get_model("rerank")
    assert isinstance(model, QwenVLReranker) and model.model_id == f"qwen3-vl-rerank:{tiny_qwen_vl_dir}"
    assert registry.active_models()["rerank"]["reads_pictures"] is True


def test_the_prompt_puts_the_picture_in_the_document(reranker):
    chat = reranker.prompt("red kayak", "IMG_0001.jpg lake", picture=True, instruction="news")
    assert chat.startswith(f"<|im_start|>system\n{SYSTEM_PROMPT}<|im_end|>\n<|im_start|>user\n")
    assert f"<Instruct>: {INSTRUCTIONS['news']}\n<Query>: red kayak\n<Document>: " in chat
    assert chat.index("<Document>: ") < chat.index("<|vision_start|><|image_pad|><|vision_end|>") < chat.index(
        "IMG_0001.jpg lake")
    assert chat.endswith("<|im_end|>\n<|im_start|>assistant\n")  # the next token is the answer
    assert "<|image_pad|>" not in reranker.prompt("red kayak", "a sound", picture=False)


def test_the_score_is_p_yes_of_the_yes_no_logits_with_the_picture(reranker):
    image = reranker.prompt("red kayak", "lake", picture=True)
    seen = noise_picture((120, 100), 1)  # within the budget: the score reads it as it is
    inputs = reranker._processor(text=[image], images=[seen], return_tensors="pt")
    with torch.inference_mode():
        logits = reranker._model(**inputs).logits[0, -1, reranker._yes_no_ids]
    expected = float(torch.softmax(logits, dim=-1)[1])
    [score] = reranker.score("red kayak", ["lake"], pictures=[seen])
    assert score == pytest.approx(expected, abs=1e-5) and 0 < score < 1
    [blind] = reranker.score("red kayak", ["lake"])
    assert blind != pytest.approx(score, abs=1e-6)  # the picture counts


def test_batches_of_mixed_pictures_score_as_each_alone(reranker):
    documents = ["a", "boats in a harbour at dawn", "c", "a sound with no picture"]
    pictures = [noise_picture((200, 150), 2), noise_picture((60, 220), 3), noise_picture((120, 120), 4), None]
    together = reranker.score("harbour", documents, pictures=pictures)
    alone = [reranker.score("harbour", [d], pictures=[p])[0] for d, p in zip(documents, pictures, strict=True)]
    np.testing.assert_allclose(together, alone, atol=1e-5)
    presets = {name: reranker.score("harbour", documents[:1], instruction=name, pictures=pictures[:1])[0]
               for name in ("general", "default", "news", "ecommerce", "media")}
    assert presets["general"] == presets["default"] and len(set(presets.values())) == 4
    assert reranker.score("harbour", []).shape == (0,)
    with pytest.raises(ValueError, match="pictures for"):
        reranker.score("harbour", documents, pictures=pictures[:2])


def test_a_long_document_is_cut_to_its_first_tokens(reranker):
    from workers.ml.qwen_vl_rerank import MAX_DOCUMENT_TOKENS

    page = "harbour boats at night " * 5000  # a PDF's text, tens of thousands of tokens
    chat = reranker.prompt("harbour", page, picture=True)
    assert len(reranker._processor.tokenizer(chat)["input_ids"]) < MAX_DOCUMENT_TOKENS + 200
    [score] = reranker.score("harbour", [page], pictures=[noise_picture((64, 64), 9)])
    assert 0 < score < 1
