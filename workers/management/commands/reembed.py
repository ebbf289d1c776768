"""python manage.py reembed [--kind image|text] [--only-missing] [--queue]

Backfills vectors for the active models, in this process with a progress bar (or, with
--queue, by handing the work to the embed workers).
"""

from concurrent.futures import ThreadPoolExecutor

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError
from django.db.models import Q
from tqdm import tqdm

from assets import actions
from assets.models import Asset, EmbeddingKind, EmbeddingStatus, Status


class Command(BaseCommand):
    help = "Compute missing or all vectors of the active models for ready assets."

    def add_arguments(self, parser):
        parser.add_argument("--kind", choices=EmbeddingKind.values, help="only this kind of vector")
        parser.add_argument("--only-missing", action="store_true", help="skip assets that already have the vector")
        parser.add_argument("--queue", action="store_true", help="enqueue for the embed workers instead")
        parser.add_argument("--batch-size", type=int, default=settings.EMBED_BATCH_SIZE)

    def handle(self, *args, kind=None, only_missing=False, queue=False, batch_size=64, **options):
        from workers.embedding import embed_assets
        from workers.reporting import record_active_models

        if batch_size < 1:
            raise CommandError("--batch-size must be at least 1")
        kinds = [kind] if kind else list(EmbeddingKind.values)
        record_active_models(worker="reembed")
        assets = Asset.objects.filter(status=Status.READY)
        if only_missing:
            missing = Q()
            for k in kinds:
                missing |= Q(pk__in=Asset.objects.missing_embedding(k).values("pk"))
            assets = assets.filter(missing)
        ids = list(assets.order_by("pk").values_list("pk", flat=True))
        if queue:
            count = actions.request_embedding(ids)
            self.stdout.write(f"queued {count} asset(s) for the embed workers")
            return
        Asset.objects.filter(pk__in=ids).update(embedding_status=EmbeddingStatus.EMBEDDING)
        vectors = failed = 0
        skipped: dict[str, str] = {}
        with ThreadPoolExecutor(max_workers=settings.EMBED_DECODE_THREADS) as pool, tqdm(
            total=len(ids), unit="asset", desc="reembed", file=self.stderr
        ) as bar:
            for start in range(0, len(ids), batch_size):
                batch = list(Asset.objects.filter(pk__in=ids[start : start + batch_size]).order_by("pk"))
                report = embed_assets(batch, pool, kinds=kinds, force=not only_missing)
                vectors += report.image_vectors + report.text_vectors
                failed += len(report.failed)
                skipped.update(report.skipped)
                bar.update(len(batch))
        for skipped_kind, reason in skipped.items():
            self.stdout.write(f"skipped {skipped_kind} vectors: {reason}")
        self.stdout.write(f"reembed: {len(ids)} asset(s), {vectors} vector(s) written, {failed} failed")
