"""Loading a labelled corpus for search_eval, and in-process inference for it.

Only the search_eval command imports this module: it runs models in its own process (the web
never does), through the same registry and embed step the workers use.
"""

from __future__ import annotations

import hashlib
import time
import uuid
from pathlib import Path

from django.contrib.auth import get_user_model
from django.db import transaction
from tqdm import tqdm

from assets.actions import blobs
from assets.models import Asset, Blob, BlobStore, EmbeddingKind, EmbeddingStatus, Status, Visibility
from search.indexing import index_assets
from workers import client

BATCH = 256


def _asset_for(document: dict, owner, blob: Blob) -> Asset:
    key = str(document["id"])
    tags = document.get("tags") or []
    return Asset(
        owner=owner,
        visibility=Visibility.ORGANISATION,
        blob=blob,
        original_filename=str(document.get("filename") or key)[:255],
        title=str(document.get("title") or "")[:255],
        description=str(document.get("description") or ""),
        tags=[str(t) for t in tags] if isinstance(tags, list) else [],
        sha256=hashlib.sha256(key.encode()).hexdigest(),
        mime_type="image/jpeg",
        byte_size=0,
        status=Status.READY,
        embedding_status=EmbeddingStatus.PENDING,
    )


def _blob_for(document: dict, base: Path, placeholder: Blob, written: list) -> Blob:
    """The document's image stored as a blob (so the embed step reads it like any asset's), or a
    placeholder for documents that are text only."""
    if not document.get("path"):
        return placeholder
    data = (base / document["path"]).read_bytes()
    return blobs.store_bytes(BlobStore.ORIGINAL, data, "image/jpeg", written)


def load_corpus(documents: list[dict], base: Path, log, vectors: bool = True) -> tuple[object, dict[int, str]]:
    """Create the corpus as assets of one staff user in the throwaway database; returns (user,
    asset pk -> corpus id). A bulk load of synthetic rows, not uploads: the keyword index is
    written once for all of them, and vectors through the embed step's own claim and finish."""
    from concurrent.futures import ThreadPoolExecutor

    from assets.actions import pipeline
    from workers.embedding import embed_claimed

    user = get_user_model().objects.create_user(f"eval-{uuid.uuid4().hex[:8]}", is_staff=True)
    for document in documents:
        if "id" not in document:
            raise ValueError("every corpus line needs an 'id'")
    placeholder, _ = Blob.objects.get_or_create(
        store=BlobStore.ORIGINAL, sha256="0" * 64, defaults={"size": 0, "name": "eval/placeholder",
                                                              "mime_type": "image/jpeg"}
    )
    with blobs.new_files() as written, transaction.atomic():
        rows = [_asset_for(d, user, _blob_for(d, base, placeholder, written)) for d in documents]
    created = Asset.objects.bulk_create(rows, batch_size=2000)
    id_map = {asset.pk: str(document["id"]) for asset, document in zip(created, documents, strict=True)}
    started = time.perf_counter()
    index_assets(list(id_map))
    log.write(f"keyword index: {len(id_map)} documents in {time.perf_counter() - started:.1f}s\n")
    if not vectors:
        return user, id_map
    images = any(d.get("path") for d in documents)
    kinds = (EmbeddingKind.TEXT, EmbeddingKind.IMAGE) if images else (EmbeddingKind.TEXT,)
    started = time.perf_counter()
    ids = [asset.pk for asset in created]
    with ThreadPoolExecutor() as pool:
        for start in tqdm(range(0, len(ids), BATCH), desc="embedding corpus", unit="batch", file=log):
            claim = pipeline.claim_embedding(BATCH, ids[start : start + BATCH])
            if claim is None:
                continue
            report = embed_claimed(claim, pool, kinds=kinds)
            for kind, reason in report.skipped.items():
                if start == 0:
                    log.write(f"{kind} vectors skipped: {reason}\n")
    log.write(f"vectors ({', '.join(kinds)}): {len(created)} documents in {time.perf_counter() - started:.1f}s\n")
    return user, id_map


def ingest_corpus(documents: list[dict], base: Path, log) -> tuple[object, dict[int, str]]:
    """The corpus uploaded as a person would upload it: each line's image file (`path`, relative
    to the corpus file) through assets.actions.upload_asset with the line's title, description
    and tags (all optional), then ingest, analysis and embedding in this process, as the workers
    run them. Lines without a file, or whose file is refused, are reported and left out.
    Returns (user, asset pk -> corpus id)."""
    from assets import actions, queue
    from assets.processing import process_asset
    from workers.analysis import analyse_pending
    from workers.embedding import embed_pending

    user = get_user_model().objects.create_user(f"eval-{uuid.uuid4().hex[:8]}", is_staff=True)
    id_map: dict[int, str] = {}
    started = time.perf_counter()
    with queue.held():  # this process runs every stage itself, on its own database
        for document in tqdm(documents, desc="uploading corpus", unit="file", file=log):
            if "id" not in document or not document.get("path"):
                raise ValueError("with --ingest every corpus line needs an 'id' and a 'path'")
            path = base / document["path"]
            options = actions.AssetOptions(
                title=str(document.get("title") or ""), description=str(document.get("description") or ""),
                tags=[str(tag) for tag in document.get("tags") or []], visibility=Visibility.ORGANISATION,
            )
            with path.open("rb") as stream:
                result = actions.upload_asset(user, stream, document.get("filename") or path.name, options)
            if result.asset is None:
                log.write(f"{document['id']}: {result.status}: {result.reason}\n")
                continue
            id_map[result.asset.pk] = str(document["id"])
        ids = list(id_map)
        for asset_id in tqdm(ids, desc="ingest", unit="file", file=log):
            process_asset(asset_id)
        analysed = _until_done(lambda: analyse_pending(ids).claimed)
        embedded = _until_done(lambda: embed_pending(ids).claimed)
    failed = Asset.objects.filter(pk__in=ids).exclude(status=Status.READY).count()
    log.write(f"ingested {len(ids)} files ({failed} not ready), analysed {analysed}, embedded {embedded} "
              f"in {time.perf_counter() - started:.1f}s\n")
    return user, id_map


def _until_done(step) -> int:
    done = 0
    while (claimed := step()) > 0:
        done += claimed
    return done


class LocalEncoder:
    """The service's Encoder answered in this process by the realtime worker's own lane functions
    (the same model choice and encodings, without the broker); query vectors can be computed up front."""

    def __init__(self):
        self._cache: dict[tuple[str, str], client.QueryVector] = {}

    @staticmethod
    def _answered(answer: dict) -> dict:
        if not answer["ok"]:
            raise client.InferenceUnavailable(answer["reason"])
        return answer

    def _encode(self, texts: list[str], kind: str) -> list[client.QueryVector]:
        from workers import realtime

        answers = [self._answered(a) for a in realtime._encode_texts(kind, [[text] for text in texts])]
        return [client.QueryVector(a["model_id"], a["vector"]) for a in answers]

    def prime(self, queries: list[str], log) -> None:
        unique = list(dict.fromkeys(queries))
        for kind in ("text", "image"):
            try:
                vectors = self._encode(unique, kind) if unique else []
            except client.InferenceUnavailable as exc:
                log.write(f"query vectors ({kind}) unavailable: {exc.reason}\n")
                continue
            for text, vector in zip(unique, vectors, strict=True):
                self._cache[(kind, text)] = vector

    def text(self, query: str, kind: str) -> client.QueryVector:
        return self._cache.get((kind, query)) or self._encode([query], kind)[0]

    def image(self, data: bytes, kind: str = "image") -> client.QueryVector:
        import base64

        from workers import realtime

        answer = self._answered(realtime._encode_images(kind, [[base64.b64encode(data).decode()]])[0])
        return client.QueryVector(answer["model_id"], answer["vector"])

    def rerank(self, query: str, documents: list[str], instruction: str | None,
               pictures: list[int | None] | None = None) -> client.RerankScores:
        from workers import realtime

        answer = self._answered(realtime._rerank([[query, documents, instruction, pictures]])[0])
        return client.RerankScores(answer["model_id"], answer["scores"])
