"""What every door shows of an asset (the API's representation, search hits, the portal's pages)
and how to fetch it for many assets at once."""

from __future__ import annotations

from django.db.models import Prefetch, QuerySet

from assets.models import Analysis, Embedding, Rendition


def represented(queryset: QuerySet) -> QuerySet:
    """`queryset` with what the representation reads of each asset fetched in four queries in all.

    Renditions and vectors go to plain lists (to_attr): Django's usual prefetch builds a filtered
    queryset per asset and relation, ~40 us each, a noticeable share of a 50-asset page's CPU.
    Analyses keep the usual prefetch because search's documents and explanations read
    `asset.analyses.all()` too; their structured output (boxes, scores) is not shown, so deferred.
    """
    return queryset.select_related("owner", "team").prefetch_related(
        Prefetch("renditions", queryset=Rendition.objects.order_by("width"), to_attr="shown_renditions"),
        # defer: listing which vectors exist must not ship the vectors themselves
        Prefetch("embeddings", queryset=Embedding.objects.defer("vector").order_by("kind", "model_id"),
                 to_attr="shown_embeddings"),
        Prefetch("analyses", queryset=Analysis.objects.defer("data").order_by("analyser")),
    )


def shown(asset, name: str) -> list:
    """The rows `represented` fetched, or a query for an asset fetched without it (one just saved)."""
    rows = getattr(asset, f"shown_{name}", None)
    return rows if rows is not None else list(getattr(asset, name).all())
