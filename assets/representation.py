"""What every door shows of an asset (the API's representation, search hits, the portal's pages)
and how to fetch it for many assets at once."""

from __future__ import annotations

from collections import defaultdict
from functools import cache

from django.db import connections
from django.db.models import QuerySet
from django.db.models.query import ModelIterable

from assets.models import Analysis, Embedding, Rendition
from mediavault.rows import instances, plain_columns, result_sets

# What the representation, search documents and explanations read of an analysis.
SHOWN_ANALYSIS_FIELDS = ("asset_id", "analyser", "model_id", "text", "corrected_text", "error")

# (relation, model, fields read, order within an asset). Not the vectors themselves (listing which
# exist must not ship them), nor an analysis's structured output, boxes and scores (a page would
# parse hundreds of JSON documents for nothing).
_SHOWN = (
    ("renditions", Rendition, None, ("width",)),
    ("embeddings", Embedding, ("id", "asset_id", "kind", "model_id", "dim", "source_hash", "created_at"),
     ("kind", "model_id")),
    ("analyses", Analysis, ("id", *SHOWN_ANALYSIS_FIELDS), ("analyser",)),
)


@cache
def _statement(model, fields: tuple[str, ...] | None, order: tuple[str, ...]) -> tuple[str, tuple[str, ...]]:
    quote = connections["default"].ops.quote_name
    columns, names = plain_columns(model, fields)
    sql = (f"SELECT {columns} FROM {quote(model._meta.db_table)} "
           f"WHERE asset_id = ANY(%s) ORDER BY asset_id, {', '.join(quote(name) for name in order)}")
    return sql, names


def _attach(assets: list, using: str) -> None:
    """Each asset's renditions, vectors and analyses as plain lists (`shown_<relation>`), in one
    statement per relation for all of them, sent together.

    Statements written once rather than querysets: Django's prefetch compiles a queryset per
    relation on every page and builds a filtered queryset per asset and relation, together ~15% of
    the web's CPU under the load benchmark (py-spy). The rows become model instances as the ORM's
    own would (`mediavault.rows.instances`, the reverse foreign key cached), so every reader sees
    what it did.
    """
    if not assets:
        return
    by_id = {asset.pk: asset for asset in assets}
    statements = [_statement(model, fields, order) for _, model, fields, order in _SHOWN]
    ids = list(by_id)
    with connections[using].cursor() as cursor:
        fetched = result_sets(cursor, [sql for sql, _ in statements], [ids] * len(statements))
        for (relation, model, _, _), (_, names), found in zip(_SHOWN, statements, fetched, strict=True):
            rows: dict[int, list] = defaultdict(list)
            asset_field = model._meta.get_field("asset")
            for row in instances(model, using, names, found):
                owner = by_id[row.asset_id]
                asset_field.set_cached_value(row, owner)
                rows[row.asset_id].append(row)
            for asset_id, asset in by_id.items():
                setattr(asset, f"shown_{relation}", rows.get(asset_id, []))


class _Represented(ModelIterable):
    """The assets a queryset yields, with what `represented` promises attached to all of them."""

    def __iter__(self):
        assets = list(super().__iter__())
        _attach(assets, self.queryset.db)
        return iter(assets)


def represented(queryset: QuerySet) -> QuerySet:
    """`queryset` with what the representation reads of each asset fetched in two round trips in
    all, however it is then sliced, filtered or fetched (a page, `get`, `in_bulk`)."""
    queryset = queryset.select_related("owner", "team")
    queryset._iterable_class = _Represented  # how values() swaps its iterable in; clones keep it
    return queryset


def shown(asset, name: str) -> list:
    """The rows `represented` fetched, or a query for an asset fetched without it (one just saved)."""
    rows = getattr(asset, f"shown_{name}", None)
    return rows if rows is not None else list(getattr(asset, name).all())
