"""What every door shows of an asset (the API's representation, search hits, the portal's pages)
and how to fetch it for many assets at once."""

from __future__ import annotations

from django.db.models import Prefetch, QuerySet

from assets.models import Analysis, Embedding, Rendition

# What the representation, search documents and explanations read of an analysis.
SHOWN_ANALYSIS_FIELDS = ("asset_id", "analyser", "model_id", "text", "corrected_text", "error")


def represented(queryset: QuerySet) -> QuerySet:
    """`queryset` with what the representation reads of each asset fetched in four queries in all.

    Each relation goes to a plain list (to_attr, read with `shown`): Django's usual prefetch builds
    a filtered queryset per asset and relation, ~40 us each, a noticeable share of a 50-asset
    page's CPU. Of the analyses only what is shown and searched is read (not their structured
    output, boxes and scores: a page would parse hundreds of JSON documents for nothing).
    """
    return queryset.select_related("owner", "team").prefetch_related(
        Prefetch("renditions", queryset=Rendition.objects.order_by("width"), to_attr="shown_renditions"),
        # defer: listing which vectors exist must not ship the vectors themselves
        Prefetch("embeddings", queryset=Embedding.objects.defer("vector").order_by("kind", "model_id"),
                 to_attr="shown_embeddings"),
        Prefetch("analyses", queryset=Analysis.objects.only(*SHOWN_ANALYSIS_FIELDS).order_by("analyser"),
                 to_attr="shown_analyses"),
    )


def shown(asset, name: str) -> list:
    """The rows `represented` fetched, or a query for an asset fetched without it (one just saved)."""
    rows = getattr(asset, f"shown_{name}", None)
    return rows if rows is not None else list(getattr(asset, name).all())
