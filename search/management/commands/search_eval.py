"""python manage.py search_eval --corpus CORPUS.jsonl --queries QUERIES.jsonl [--mode M] [--rerank] [--k 10]
                                [--ingest] [--success-at 5]

Loads the corpus into a throwaway database (the live data is never touched, with or without
`make run`), computes vectors in this process with the configured models, runs every query
through the same search service the API uses, and prints one JSON object as its last line.

`--ingest`: each corpus line names an image file (`path`, relative to the corpus file) that is
uploaded, ingested, analysed and embedded exactly as an upload is, so content figures come from
the real pipeline. Recall counts the whole ranking (strong and weak matches, as "show weaker
matches" shows them); `strong_*` figures count only the strong matches a person sees first.
"""

from __future__ import annotations

import json
import time
from pathlib import Path

from django.core.management.base import BaseCommand, CommandError
from tqdm import tqdm

from search import evaluation
from search.service import MODES, SearchRequest


def _read_jsonl(path: str) -> list[dict]:
    try:
        with open(path, encoding="utf-8") as handle:
            return [json.loads(line) for line in handle if line.strip()]
    except (OSError, json.JSONDecodeError) as exc:
        raise CommandError(f"cannot read {path}: {exc}") from None


class Command(BaseCommand):
    help = "Measure recall@1/10, MRR@10 and latency of search on a labelled corpus."

    def add_arguments(self, parser):
        parser.add_argument("--corpus", required=True)
        parser.add_argument("--queries", required=True)
        parser.add_argument("--mode", choices=MODES, default="hybrid")
        parser.add_argument("--rerank", action="store_true")
        parser.add_argument("--k", type=int, default=10)
        parser.add_argument("--fusion", default="", help="override the fusion method (adaptive, weighted, rrf)")
        parser.add_argument("--max-queries", type=int, default=0, help="only the first N queries (0: all)")
        parser.add_argument("--ingest", action="store_true",
                            help="upload the corpus lines' image files through the real pipeline")
        parser.add_argument("--success-at", type=int, default=5,
                            help="success@N: a relevant result among the first N strong matches")
        parser.add_argument("--details", action="store_true", help="print each query's top results to stderr")

    def handle(self, *args, corpus, queries, mode, rerank, k, fusion, max_queries, ingest, success_at, details,
               **options):
        if k < 1:
            raise CommandError("--k must be at least 1")
        documents = _read_jsonl(corpus)
        query_rows = _read_jsonl(queries)
        if max_queries:
            query_rows = query_rows[:max_queries]
        for row in query_rows:
            if "query" not in row or not isinstance(row.get("relevant"), list):
                raise CommandError("each query line needs 'query' and a list 'relevant'")
        base = Path(corpus).resolve().parent
        with evaluation.isolated_database():
            result = self._evaluate(documents, query_rows, base, mode, rerank, k, fusion, ingest, success_at, details)
        self.stdout.write(json.dumps(result))

    def _evaluate(self, documents, query_rows, base, mode, rerank, k, fusion, ingest, success_at, details) -> dict:
        from search.eval_loading import LocalEncoder, ingest_corpus, load_corpus
        from search.service import search

        if ingest:
            user, id_map = ingest_corpus(documents, base, log=self.stderr)
        else:
            user, id_map = load_corpus(documents, base, log=self.stderr, vectors=mode != "keyword")
        encoder = LocalEncoder()
        if mode in ("hybrid", "semantic"):
            encoder.prime([row["query"] for row in query_rows], log=self.stderr)
        from assets.models import Asset

        visible = Asset.objects.visible_to(user)
        recall1 = recall_k = mrr = strong_recall = success = strong_count = 0.0
        latencies: list[float] = []
        degraded: dict[str, int] = {}
        for row in tqdm(query_rows, desc=f"queries ({mode})", unit="q", file=self.stderr):
            request = SearchRequest(query=row["query"], mode=mode, rerank=rerank, limit=max(k, 10, success_at),
                                    fusion=fusion, weak=True)
            started = time.perf_counter()
            response = search(visible, request, encoder=encoder, user=user)
            latencies.append((time.perf_counter() - started) * 1000)
            for signal in response.degraded:
                degraded[signal] = degraded.get(signal, 0) + 1
            ranked = [id_map[hit.asset.pk] for hit in response.hits]
            strong = [id_map[hit.asset.pk] for hit in response.hits if hit.explanation["strength"] == "strong"]
            relevant = {str(r) for r in row["relevant"]}
            recall1 += evaluation.recall_at(ranked, relevant, 1)
            recall_k += evaluation.recall_at(ranked, relevant, k)
            mrr += evaluation.mrr_at(ranked, relevant, k)
            strong_recall += evaluation.recall_at(strong, relevant, k)
            success += float(bool(relevant & set(strong[:success_at])))
            strong_count += response.strong
            if details:
                mark = "ok " if relevant & set(strong[:success_at]) else "MISS"
                self.stderr.write(f"{mark} {row['query']!r}: {response.strong} strong; top {strong[:success_at]}")
        n = max(len(query_rows), 1)
        for signal, count in degraded.items():
            self.stderr.write(f"degraded signal {signal} in {count} queries")
        return {
            "queries": len(query_rows),
            "recall@1": round(recall1 / n, 4),
            f"recall@{k}": round(recall_k / n, 4),
            f"mrr@{k}": round(mrr / n, 4),
            f"strong_recall@{k}": round(strong_recall / n, 4),
            f"success@{success_at}": round(success / n, 4),
            "mean_strong": round(strong_count / n, 2),
            "p50_ms": round(evaluation.percentile(latencies, 50), 2),
            "p95_ms": round(evaluation.percentile(latencies, 95), 2),
        }
