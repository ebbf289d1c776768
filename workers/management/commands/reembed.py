"""python manage.py reembed [--kind image|text|multimodal] [--only-missing] [--queue]

Backfills vectors for the active models, in this process with a progress bar (or, with
--queue, by handing the work to the embed workers). It claims each batch like a worker does
(a lease it keeps renewing), so the sweeper neither takes a batch back mid-run nor leaves one
stranded if the command dies: its leases run out and the workers pick the assets up.
"""

from concurrent.futures import ThreadPoolExecutor

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError
from django.db.models import Q
from tqdm import tqdm

from assets import actions
from assets.actions import pipeline
from assets.models import Asset, EmbeddingKind, Status


class Command(BaseCommand):
    help = "Compute missing or all vectors of the active models for ready assets."

    def add_arguments(self, parser):
        parser.add_argument("--kind", choices=EmbeddingKind.values, help="only this kind of vector")
        parser.add_argument("--only-missing", action="store_true", help="skip assets that already have the vector")
        parser.add_argument("--queue", action="store_true", help="enqueue for the embed workers instead")
        parser.add_argument("--batch-size", type=int, default=settings.EMBED_BATCH_SIZE)

    def handle(self, *args, kind=None, only_missing=False, queue=False, batch_size=64, **options):
        from workers.embedding import embed_claimed
        from workers.reporting import record_active_models

        if batch_size < 1:
            raise CommandError("--batch-size must be at least 1")
        kinds = [kind] if kind else list(EmbeddingKind.values)
        record_active_models(worker="reembed")
        assets = Asset.objects.alive().filter(status=Status.READY)
        if only_missing:
            missing = Q()
            for k in kinds:
                missing |= Q(pk__in=Asset.objects.missing_embedding(k).values("pk"))
            assets = assets.filter(missing)
        ids = list(assets.order_by("pk").values_list("pk", flat=True))
        if queue:
            count = actions.request_embedding(None, ids)
            self.stdout.write(f"queued {count} asset(s) for the embed workers")
            return
        vectors = failed = busy = 0
        skipped: dict[str, str] = {}
        with ThreadPoolExecutor(max_workers=settings.EMBED_DECODE_THREADS) as pool, tqdm(
            total=len(ids), unit="asset", desc="reembed", file=self.stderr
        ) as bar:
            for start in range(0, len(ids), batch_size):
                batch = ids[start : start + batch_size]
                # Assets a worker holds right now are skipped: that worker is computing their vectors.
                claim = pipeline.claim_embedding(len(batch), batch, include_done=True)
                if claim is None:
                    busy += len(batch)
                    bar.update(len(batch))
                    continue
                busy += len(batch) - len(claim.assets)
                report = embed_claimed(claim, pool, kinds=kinds, force=not only_missing)
                vectors += report.image_vectors + report.text_vectors
                failed += len(report.failed)
                skipped.update(report.skipped)
                bar.update(len(batch))
        for skipped_kind, reason in skipped.items():
            self.stdout.write(f"skipped {skipped_kind} vectors: {reason}")
        note = f", {busy} being embedded by a worker" if busy else ""
        self.stdout.write(f"reembed: {len(ids)} asset(s), {vectors} vector(s) written, {failed} failed{note}")
