"""Fusion settings against the flickr8k dev queries, corpus loaded once (a research aid, not a test).

    .venv/bin/python bench/fusion_sweep.py [--max-queries N]

Prints Recall@1/@10 per query file for each fusion configuration, so a default can be chosen by
a rule that holds on both kinds of query rather than by one file.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "mediavault.settings")
os.environ.setdefault("MEDIAVAULT_REDIS_NAME", "redis-bench")

import django  # noqa: E402

django.setup()

from bench import common  # noqa: E402

common.start_services()

from assets.models import Asset  # noqa: E402
from search import evaluation  # noqa: E402
from search.eval_loading import LocalEncoder, load_corpus  # noqa: E402
from search.service import SearchRequest, search  # noqa: E402

DATA = ROOT.parent / "shared" / "data" / "flickr8k"
CONFIGS = [
    ("keyword", "keyword", "", {}),
    ("semantic", "semantic", "", {}),
    ("rrf k=60", "hybrid", "rrf", {"keyword": 1.0, "semantic_text": 1.0}),
    ("weighted kw=0.25", "hybrid", "weighted", {"keyword": 0.25, "semantic_text": 0.75}),
    ("adaptive kw=0.1", "hybrid", "adaptive", {"keyword": 0.1}),
    ("adaptive kw=0.2", "hybrid", "adaptive", {"keyword": 0.2}),
    ("adaptive kw=0.3", "hybrid", "adaptive", {"keyword": 0.3}),
    ("adaptive kw=0.5", "hybrid", "adaptive", {"keyword": 0.5}),
]


def _read(name: str, limit: int) -> list[dict]:
    rows = [json.loads(line) for line in (DATA / name).read_text().splitlines() if line.strip()]
    return rows[:limit] if limit else rows


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--max-queries", type=int, default=0)
    parser.add_argument("--only", nargs="*", default=[], help="config labels to run (default: all)")
    parser.add_argument("--files", nargs="*", default=["paraphrase", "identifier"])
    args = parser.parse_args()
    corpus = _read("corpus.jsonl", 0)
    files = {name: _read(f"queries-{name}-dev.jsonl", args.max_queries) for name in args.files}
    with evaluation.isolated_database("fusion_sweep"):
        user, id_map = load_corpus(corpus, DATA, log=sys.stderr)
        encoder = LocalEncoder()
        encoder.prime([row["query"] for rows in files.values() for row in rows], log=sys.stderr)
        visible = Asset.objects.visible_to(user)
        print("| config | " + " | ".join(f"{name} R@1 | {name} R@10" for name in files) + " |")
        print("|---|" + "---|---|" * len(files))
        print(f"files: {', '.join(files)}")
        for label, mode, method, weights in CONFIGS:
            if args.only and label not in args.only:
                continue
            cells = []
            for rows in files.values():
                r1 = r10 = 0.0
                for row in rows:
                    request = SearchRequest(query=row["query"], mode=mode, fusion=method, weights=weights, limit=10)
                    ranked = [id_map[h.asset.pk] for h in search(visible, request, encoder=encoder, user=user).hits]
                    relevant = set(row["relevant"])
                    r1 += evaluation.recall_at(ranked, relevant, 1)
                    r10 += evaluation.recall_at(ranked, relevant, 10)
                cells += [f"{r1 / len(rows):.3f}", f"{r10 / len(rows):.3f}"]
            print(f"| {label} | " + " | ".join(cells) + " |", flush=True)


if __name__ == "__main__":
    main()
