"""Search latency on a synthetic corpus of production shape, in the embedded PostgreSQL.

    .venv/bin/python bench/search_latency.py [--size 100000] [--queries 200] [--no-append]
                                             [--database NAME]

`--database NAME` keeps the loaded corpus in that database and reuses it on the next run with the
same size (a 1M corpus takes tens of minutes to build here; the timings take minutes).

Builds, in a throwaway database: N assets (text with a Zipf vocabulary, file names, tags, teams,
visibility mix), their BM25 index (the real indexing path), and vectors of production
dimensions (1024 text, 512 image; clustered, as real embeddings are) with the real per-model
HNSW indexes. Then times the real search service (query encoding excluded: the query vectors are
given) as a non-superuser staff member, so visibility is part of every statement:
keyword, semantic, hybrid, and hybrid filtered to one team. rank-bm25 over the same tokens in the
same run is the reference the keyword path is compared with. Filtered recall@10 of the HNSW
path is measured against exact search on the same filter.
"""

from __future__ import annotations

import argparse
import os
import random
import sys
import time
import uuid
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "mediavault.settings")
os.environ.setdefault("MEDIAVAULT_REDIS_NAME", "redis-bench")
os.environ.setdefault("LOG_LEVEL", "WARNING")

import django  # noqa: E402

django.setup()

from django.contrib.auth import get_user_model  # noqa: E402
from django.db import connection  # noqa: E402
from pgvector import HalfVector  # noqa: E402
from pgvector.psycopg import register_vector  # noqa: E402

from assets.models import Asset, Blob, Membership, Role, Team  # noqa: E402
from assets.vector_index import ensure_hnsw_index  # noqa: E402
from bench import common  # noqa: E402
from search import evaluation  # noqa: E402
from search.analyzer import analyze, query_terms  # noqa: E402
from search.indexing import index_assets  # noqa: E402
from search.service import SearchRequest, search  # noqa: E402
from search.vectors import nearest  # noqa: E402
from workers.client import QueryVector  # noqa: E402

common.start_services()

TEXT_MODEL, IMAGE_MODEL = "bench:text-1024", "bench:image-512"
TEXT_DIM, IMAGE_DIM = 1024, 512
VOCAB, CLUSTERS, TEAMS = 30_000, 2_000, 10
BENCH_USER = "bench-staff"
TIMED = (
    "keyword", "semantic", "hybrid", "hybrid, one team (10%)",
    "hybrid, file names (IMG_123456)", "hybrid, file names, one team",
    "hybrid, full file names (IMG_123456.jpg)", "hybrid, full file names, one team",
    "hybrid, file-name prefixes (IMG_1234)", "hybrid, missing file names (IMG_999999.jpg)",
    "hybrid, alternatives (w1 OR w2 w3)",
)
RNG = np.random.default_rng(7)
# The query words' own generator, seeded too: each run times the same queries, so runs of this
# script on one corpus (another commit, another day) compare like with like. Unseeded, the share of
# queries made only of common words (long posting lists) changed from run to run, and with it p95.
WORDS_RNG = random.Random(7)


def progress(message: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)


SYLLABLES = [c + v for c in "bdfgklmnprstvz" for v in "aeiou"]


def word(rank: int) -> str:
    """A made-up word per vocabulary rank ("kaso", "tumibe"): letters only, so the analyzer keeps
    it whole (a token like "w123" would also index "w" and "123", and every document would share
    the term "w"), and never a stop word, so it reaches the index as it is written."""
    syllables = len(SYLLABLES)
    text = SYLLABLES[rank // syllables % syllables] + SYLLABLES[rank % syllables]
    if rank >= syllables * syllables:
        text = SYLLABLES[rank // syllables**2 % syllables] + text
    return text if query_terms(text) == [text] else text + "n"


def zipf_words(count: int) -> list[str]:
    ranks = np.minimum(RNG.zipf(1.15, size=count), VOCAB)
    return [word(int(r)) for r in ranks]


def load_assets(n: int, owner, teams: list[Team]) -> list[int]:
    """COPY the rows in (the ORM would take minutes at 1M); returns their ids."""
    now = time.strftime("%Y-%m-%d %H:%M:%S+00")
    columns = (
        "uid, owner_id, team_id, visibility, blob_id, original_filename, title, description, tags, caption, sha256, "
        "mime_type, media_type, byte_size, exif, camera_make, camera_model, lens, status, error, status_changed_at, "
        "processing_attempts, embedding_status, embedding_error, embedding_attempts, analysis_status, analysis_error, "
        "analysis_attempts, created_at, updated_at, media_info"
    )
    visibilities = ["organisation"] * 7 + ["team"] * 2 + ["private"]
    # Every synthetic asset points at one stored file: search never opens it.
    blob, _ = Blob.objects.get_or_create(
        store="original", sha256="0" * 64, defaults={"size": 1, "name": "bench/placeholder", "mime_type": "image/jpeg"}
    )
    with connection.cursor() as cursor:
        with cursor.cursor.copy(f"COPY assets_asset ({columns}) FROM STDIN") as copy:
            for i in range(n):
                visibility = visibilities[i % 10]
                team = teams[i % TEAMS].pk
                words = " ".join(zipf_words(12))
                copy.write_row(
                    (
                        str(uuid.uuid4()),
                        owner.pk,
                        team,
                        visibility,
                        blob.pk,
                        f"IMG_{100000 + i}.jpg",
                        "",
                        words,
                        [f"tag{i % 97}"],
                        "",
                        f"{i:064x}",
                        "image/jpeg",
                        "image",
                        1,
                        "{}",
                        "",
                        "",
                        "",
                        "ready",
                        "",
                        now,
                        1,
                        "ready",
                        "",
                        1,
                        "ready",
                        "",
                        1,
                        now,
                        now,
                        "{}",
                    )
                )
        cursor.execute("SELECT id FROM assets_asset ORDER BY id")
        return [row[0] for row in cursor.fetchall()]


def clustered(count: int, dim: int, centroids: np.ndarray, labels: np.ndarray) -> np.ndarray:
    vectors = centroids[labels] + 0.35 * RNG.standard_normal((count, dim)).astype(np.float32) / np.sqrt(dim)
    return vectors / np.linalg.norm(vectors, axis=1, keepdims=True)


def load_vectors(ids: list[int], kind: str, model_id: str, dim: int, labels: np.ndarray) -> np.ndarray:
    centroids = RNG.standard_normal((CLUSTERS, dim)).astype(np.float32)
    centroids /= np.linalg.norm(centroids, axis=1, keepdims=True)
    raw = connection.connection
    register_vector(raw)
    with (
        raw.cursor() as cursor,
        cursor.copy(
            "COPY assets_embedding (asset_id, kind, model_id, dim, vector, source_hash, created_at) "
            "FROM STDIN WITH (FORMAT BINARY)"
        ) as copy,
    ):
        copy.set_types(["int8", "varchar", "varchar", "int4", "halfvec", "varchar", "timestamptz"])
        for start in range(0, len(ids), 20_000):
            chunk = ids[start : start + 20_000]
            vectors = clustered(len(chunk), dim, centroids, labels[start : start + len(chunk)])
            stamp = django.utils.timezone.now()
            for asset_id, vector in zip(chunk, vectors, strict=True):
                copy.write_row((asset_id, kind, model_id, dim, HalfVector(vector), "", stamp))
    return centroids


def build_index(kind: str, model_id: str, dim: int) -> float:
    started = time.perf_counter()
    with connection.cursor() as cursor:
        cursor.execute("SET maintenance_work_mem = '8GB'")
        cursor.execute("SET max_parallel_maintenance_workers = 1")
    ensure_hnsw_index(kind, model_id, dim)
    return time.perf_counter() - started


class GivenVectors:
    """The service's Encoder with query vectors fixed in advance: encoding is not what we time."""

    def __init__(self):
        self.current: dict[str, QueryVector] = {}

    def text(self, query: str, kind: str) -> QueryVector:
        return self.current[kind]


def percentiles(samples: list[float]) -> tuple[float, float]:
    return evaluation.percentile(samples, 50), evaluation.percentile(samples, 95)


def time_mode(user, visible, queries, encoder, mode: str) -> list[float]:
    samples = []
    for words, text_vec, image_vec in queries:
        encoder.current = {"text": text_vec, "image": image_vec}
        started = time.perf_counter()
        search(visible, SearchRequest(query=words, mode=mode, limit=24), encoder=encoder, user=user)
        samples.append((time.perf_counter() - started) * 1000)
    return samples


def found_first(user, visible, queries, encoder) -> float:
    """Share of file-name queries whose own file comes first."""
    hits = 0
    for name, text_vec, image_vec in queries:
        encoder.current = {"text": text_vec, "image": image_vec}
        response = search(visible, SearchRequest(query=name, mode="hybrid", limit=24), encoder=encoder, user=user)
        hits += bool(response.hits) and response.hits[0].asset.original_filename == name
    return hits / max(len(queries), 1)


def make_queries(count: int, text_c: np.ndarray, image_c: np.ndarray, n: int) -> list:
    queries = []
    for _ in range(count):
        label = int(RNG.integers(CLUSTERS))
        words = " ".join(word(r) for r in WORDS_RNG.sample(range(5, 3000), k=int(RNG.integers(2, 5))))
        text_vec = clustered(1, TEXT_DIM, text_c, np.array([label]))[0]
        image_vec = clustered(1, IMAGE_DIM, image_c, np.array([label]))[0]
        queries.append(
            (words, QueryVector(TEXT_MODEL, text_vec.tolist()), QueryVector(IMAGE_MODEL, image_vec.tolist()))
        )
    return queries


def filtered_recall(visible, queries, k: int = 10) -> float:
    hits = total = 0
    for _, text_vec, _ in queries:
        approx = {a for a, _ in nearest("text", TEXT_MODEL, text_vec.vector, visible=visible, limit=k)}
        exact = {a for a, _ in nearest("text", TEXT_MODEL, text_vec.vector, visible=visible, limit=k, exact=True)}
        hits += len(approx & exact)
        total += len(exact)
    return hits / max(total, 1)


def rank_bm25_reference(n: int, queries, sample: int) -> float:
    """Mean ms per query of rank-bm25 (Python, every document scored) over the same tokens."""
    from rank_bm25 import BM25Okapi

    with connection.cursor() as cursor:
        cursor.execute("SELECT description, original_filename FROM assets_asset ORDER BY id")
        corpus = [analyze(f"{d} {f}") for d, f in cursor.fetchall()]
    model = BM25Okapi(corpus, k1=1.2, b=0.75)
    started = time.perf_counter()
    for words, _, _ in queries[:sample]:
        model.get_scores(analyze(words))
    return (time.perf_counter() - started) * 1000 / sample


def build(size: int, results: dict) -> tuple[np.ndarray, np.ndarray]:
    """Load the corpus and build every index; returns the text and image centroids."""
    # get_or_create: a kept database whose earlier build failed has these rows and no assets.
    user, _ = get_user_model().objects.get_or_create(username=BENCH_USER, defaults={"is_staff": True})
    teams = [Team.objects.get_or_create(slug=f"team-{i}", defaults={"name": f"team {i}"})[0] for i in range(TEAMS)]
    Membership.objects.get_or_create(team=teams[0], user=user, defaults={"role": Role.VIEWER})
    started = time.perf_counter()
    ids = load_assets(size, user, teams)
    results["load_rows_s"] = time.perf_counter() - started
    progress(f"{size} asset rows in {results['load_rows_s']:.0f}s; indexing keywords")
    started = time.perf_counter()
    for start in range(0, len(ids), 50_000):
        index_assets(ids[start : start + 50_000])
    results["bm25_index_s"] = time.perf_counter() - started
    progress(f"keyword index in {results['bm25_index_s']:.0f}s; loading vectors")
    labels = RNG.integers(CLUSTERS, size=len(ids))
    started = time.perf_counter()
    text_c = load_vectors(ids, "text", TEXT_MODEL, TEXT_DIM, labels)
    image_c = load_vectors(ids, "image", IMAGE_MODEL, IMAGE_DIM, labels)
    results["vectors_s"] = time.perf_counter() - started
    progress(f"vectors in {results['vectors_s']:.0f}s; building HNSW indexes")
    results["hnsw_text_s"] = build_index("text", TEXT_MODEL, TEXT_DIM)
    results["hnsw_image_s"] = build_index("image", IMAGE_MODEL, IMAGE_DIM)
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE")
    progress(f"HNSW in {results['hnsw_text_s']:.0f}s + {results['hnsw_image_s']:.0f}s")
    return text_c, image_c


def load_or_build(size: int, results: dict, kept: Path | None) -> tuple[np.ndarray, np.ndarray]:
    """A kept corpus of this size is reused (its centroids are saved beside it); else build one."""
    if kept is not None and kept.exists() and Asset.objects.count() == size:
        progress(f"reusing the {size} assets kept in this database")
        saved = np.load(kept)
        results["reused"] = True
        return saved["text"], saved["image"]
    if Asset.objects.exists():
        raise SystemExit("this database holds another corpus: drop it or name another --database")
    text_c, image_c = build(size, results)
    if kept is not None:
        kept.parent.mkdir(parents=True, exist_ok=True)
        np.savez(kept, text=text_c, image=image_c)
    return text_c, image_c


def run(size: int, query_count: int, kept: Path | None = None) -> dict:
    results: dict = {"size": size}
    text_c, image_c = load_or_build(size, results, kept)
    user = get_user_model().objects.get(username=BENCH_USER)
    visible = Asset.objects.visible_to(user)
    one_team = visible.filter(team__slug="team-0")
    progress("querying")
    queries = make_queries(query_count, text_c, image_c, size)
    warm_up = make_queries(50, text_c, image_c, size)  # other queries than the timed ones
    # Someone looking for a file by name: the number identifies one asset, "img" is in all of them.
    identifiers = [(f"IMG_{100000 + int(RNG.integers(size))}", text, image) for _, text, image in queries]
    full_names = [(f"{name}.jpg", text, image) for name, text, image in identifiers]
    prefixes = [(name[:-2], text, image) for name, text, image in identifiers]  # ~100 names each at 1M
    missing = [(f"IMG_{100000 + size + n}.jpg", text, image) for n, (_, text, image) in enumerate(queries)]
    # The same words, the first one an alternative to the rest: each alternative is judged on its
    # own, so no share of all the words rules a document out before scoring.
    alternatives = [(words.replace(" ", " OR ", 1), text, image) for words, text, image in queries]
    encoder = GivenVectors()
    # Warm-up, every mode and scope: a server in use has its indexes in memory (after loading,
    # the first mode timed would otherwise pay for reading them from disk).
    for scope, mode in ((visible, "keyword"), (visible, "semantic"), (visible, "hybrid"), (one_team, "hybrid")):
        time_mode(user, scope, warm_up, encoder, mode)
    for label, scope, mode in (
        ("keyword", visible, "keyword"),
        ("semantic", visible, "semantic"),
        ("hybrid", visible, "hybrid"),
        ("hybrid, one team (10%)", one_team, "hybrid"),
        ("hybrid, file names (IMG_123456)", visible, "hybrid"),
        ("hybrid, file names, one team", one_team, "hybrid"),
        ("hybrid, full file names (IMG_123456.jpg)", visible, "hybrid"),
        ("hybrid, full file names, one team", one_team, "hybrid"),
        ("hybrid, file-name prefixes (IMG_1234)", visible, "hybrid"),
        ("hybrid, missing file names (IMG_999999.jpg)", visible, "hybrid"),
        ("hybrid, alternatives (w1 OR w2 w3)", visible, "hybrid"),
    ):
        timed = (full_names if "full file names" in label else prefixes if "prefixes" in label
                 else missing if "missing" in label else identifiers if "file names" in label
                 else alternatives if "alternatives" in label else queries)
        results[label] = percentiles(time_mode(user, scope, timed, encoder, mode))
        progress(f"{label}: p50 {results[label][0]:.1f} ms, p95 {results[label][1]:.1f} ms")
    results["full_name_first"] = found_first(user, visible, full_names[:50], encoder)
    results["recall_all"] = filtered_recall(visible, queries[:50])
    results["recall_team"] = filtered_recall(one_team, queries[:50])
    results["rank_bm25_ms"] = rank_bm25_reference(size, queries, sample=5 if size > 200_000 else 20)
    return results


def build_line(results: dict) -> str:
    if results.get("reused"):
        return "- build: reused a corpus kept by an earlier run (`--database`); its build times are in that run"
    return (
        f"- build: rows {results['load_rows_s']:.0f}s, keyword index {results['bm25_index_s']:.0f}s, vectors "
        f"{results['vectors_s']:.0f}s, HNSW text {results['hnsw_text_s']:.0f}s, image {results['hnsw_image_s']:.0f}s"
    )


def times(ratio: float) -> str:
    """A speed ratio to two significant digits ("0.43x", "7.1x", "36x"): at small sizes the
    keyword path can be slower than rank-bm25, and a whole number printed that as "0x"."""
    return f"{ratio:.2g}x" if ratio < 10 else f"{ratio:.0f}x"


def report(results: dict, queries: int) -> str:
    rows = [
        (label, f"{results[label][0]:.1f}", f"{results[label][1]:.1f}")
        for label in TIMED
    ]
    keyword_p50 = results["keyword"][0]
    rows.append(("rank-bm25 (Python, reference), mean", f"{results['rank_bm25_ms']:.1f}", "—"))
    return "\n".join(
        [
            f"- corpus: {results['size']:,} synthetic assets (12 Zipf words + file name + tag each; 70% organisation, "
            f"20% team, 10% private), vectors 1024-d text + 512-d image (halfvec, clustered), {queries} queries "
            "of 2–4 words; caller: a staff member in one of 10 teams; query encoding excluded",
            build_line(results),
            "",
            common.markdown_table(("query", "p50 ms", "p95 ms"), rows),
            "",
            f"- filtered recall@10 of HNSW vs exact (text vectors): all visible {results['recall_all']:.3f}, "
            f"one team {results['recall_team']:.3f}",
            f"- full file names whose own file came first: {results['full_name_first']:.0%}",
            f"- keyword p50 in PostgreSQL is {times(results['rank_bm25_ms'] / keyword_p50)} as fast as rank-bm25 "
            "scoring the same tokens in Python",
        ]
    )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--size", type=int, default=100_000)
    parser.add_argument("--queries", type=int, default=200)
    parser.add_argument("--no-append", action="store_true")
    parser.add_argument("--database", help="keep the corpus in this database and reuse it next time")
    args = parser.parse_args()
    if args.database:
        with evaluation.kept_database(args.database):
            results = run(args.size, args.queries, kept=common.CACHE_DIR / f"{args.database}.npz")
    else:
        with evaluation.isolated_database("bench_search"):
            results = run(args.size, args.queries)
    body = report(results, args.queries)
    print(body)
    if not args.no_append:
        common.append_section(common.heading(f"search_latency ({args.size:,})", common.machine_info()), body)
    return 0


if __name__ == "__main__":
    sys.exit(main())
