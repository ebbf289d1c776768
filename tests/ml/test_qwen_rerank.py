"""Qwen3-Reranker path: the exact prompt, P(yes) scoring, batching."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from transformers import AutoModelForCausalLM, AutoTokenizer

from workers.ml.qwen_rerank import INSTRUCTIONS, QwenReranker, format_prompt

QUERY = "red kayak"
DOCS = [
    "a red kayak floating on a calm mountain lake",
    "dog",
    "the quick brown fox jumps over the lazy dog, photographed at sunset from a long way off",
    "IMG_5195",
]

# Written out by hand from the Qwen3-Reranker model card, not built from the module's constants.
EXPECTED_PROMPT = (
    "<|im_start|>system\nJudge whether the Document meets the requirements based on the Query and the "
    'Instruct provided. Note that the answer can only be "yes" or "no".<|im_end|>\n<|im_start|>user\n'
    "<Instruct>: Find the kayak\n<Query>: red kayak\n<Document>: a boat"
    "<|im_end|>\n<|im_start|>assistant\n<think>\n\n</think>\n\n"
)


def _reference_scores(folder: str, query: str, docs: list[str], instruction: str) -> list[float]:
    """softmax([no, yes]) at the last position, one unpadded prompt at a time, with transformers directly."""
    tokenizer = AutoTokenizer.from_pretrained(folder, local_files_only=True)
    model = AutoModelForCausalLM.from_pretrained(folder, local_files_only=True).eval()
    no, yes = tokenizer.convert_tokens_to_ids("no"), tokenizer.convert_tokens_to_ids("yes")
    scores = []
    for doc in docs:
        ids = tokenizer(format_prompt(query, doc, instruction), add_special_tokens=False, return_tensors="pt")
        with torch.no_grad():
            logits = model(**ids).logits[0, -1]
        scores.append(torch.softmax(torch.stack([logits[no], logits[yes]]), dim=0)[1].item())
    return scores


def test_prompt_is_the_model_cards(qwen_reranker):
    assert format_prompt("red kayak", "a boat", "Find the kayak") == EXPECTED_PROMPT
    web_search = "Given a web search query, retrieve relevant passages that answer the query"
    assert f"<Instruct>: {web_search}\n<Query>: q\n" in format_prompt("q", "d")
    assert format_prompt("q", "d", "news") == format_prompt("q", "d", INSTRUCTIONS["news"])


def test_yes_and_no_are_single_tokens(qwen_reranker):
    tokenizer = qwen_reranker._tokenizer
    assert [tokenizer.convert_ids_to_tokens(i) for i in qwen_reranker._yes_no_ids] == ["no", "yes"]


def test_score_is_p_yes_from_the_yes_no_logits(qwen_reranker, tiny_qwen_reranker_dir):
    scores = qwen_reranker.score(QUERY, DOCS, instruction="Find the kayak")
    reference = _reference_scores(tiny_qwen_reranker_dir, QUERY, DOCS, "Find the kayak")
    np.testing.assert_allclose(scores, reference, atol=1e-5)
    assert scores.shape == (len(DOCS),) and scores.dtype == np.float32
    assert ((scores >= 0) & (scores <= 1)).all()
    assert np.ptp(scores) > 1e-3  # the documents really are told apart


def test_instruction_changes_scores(qwen_reranker):
    plain = qwen_reranker.score(QUERY, DOCS)
    news = qwen_reranker.score(QUERY, DOCS, instruction="news")
    assert not np.allclose(plain, news, atol=1e-5)


def test_batched_equals_one_by_one(qwen_reranker, tiny_qwen_reranker_dir):
    batched = qwen_reranker.score(QUERY, DOCS)
    alone = [qwen_reranker.score(QUERY, [doc])[0] for doc in DOCS]
    np.testing.assert_allclose(batched, alone, atol=1e-5)
    small = QwenReranker(tiny_qwen_reranker_dir, device="cpu", batch_size=3)
    np.testing.assert_allclose(small.score(QUERY, DOCS), batched, atol=1e-5)
    pairs = [(QUERY, DOCS[0]), ("dog", DOCS[1])]
    np.testing.assert_allclose(
        qwen_reranker.score_pairs(pairs), [batched[0], qwen_reranker.score("dog", [DOCS[1]])[0]], atol=1e-5
    )


def test_empty_input_and_identity(qwen_reranker, tiny_qwen_reranker_dir):
    assert qwen_reranker.score(QUERY, []).shape == (0,)
    assert qwen_reranker.model_id == f"qwen3-rerank:{tiny_qwen_reranker_dir}"
    assert qwen_reranker.describe()["dim"] is None


def test_long_documents_are_cut_but_the_prompt_scaffolding_survives(tiny_qwen_reranker_dir):
    reranker = QwenReranker(tiny_qwen_reranker_dir, device="cpu", max_length=80)
    long_doc = "a red kayak " * 200
    scores = reranker.score(QUERY, [long_doc, long_doc + " on a lake"])
    # Both documents are cut at the same place, so they read the same to the model.
    assert scores[0] == pytest.approx(scores[1], abs=1e-6)
