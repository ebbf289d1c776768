"""python manage.py reindex: rebuild the keyword index (postings, identifiers, file-name trigrams)
from the assets, after an upgrade that changed what the index holds or how text is analysed."""

from __future__ import annotations

import time

from django.core.management.base import BaseCommand

from search.indexing import reindex_all


class Command(BaseCommand):
    help = "Rebuild the keyword index of every asset (batch by batch: uploads carry on meanwhile)."

    def add_arguments(self, parser):
        parser.add_argument("--batch-size", type=int, default=1000)

    def handle(self, *args, batch_size, **options):
        started = time.perf_counter()
        done = reindex_all(batch_size=max(1, batch_size))
        self.stdout.write(f"re-indexed {done} assets in {time.perf_counter() - started:.1f}s")
