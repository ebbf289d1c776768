"""The seam between the one writer of asset state and the keyword index it keeps in step.

`assets.actions` calls `reindex(ids)` inside every transaction that changes an indexed field,
creates, trashes, restores or purges an asset; the index is then exactly as committed as the
change. The search app, which owns the index, registers the implementation when Django starts
(`search.apps`); assets may not import search, so the dependency points this way.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable

from django.core.exceptions import ImproperlyConfigured

_indexer: Callable[[Iterable[int]], int] | None = None


def register(indexer: Callable[[Iterable[int]], int]) -> None:
    global _indexer
    _indexer = indexer


def reindex(asset_ids: Iterable[int]) -> None:
    """Bring the index rows of these assets in line with their rows, in the current transaction."""
    if _indexer is None:
        # Never silently skip: an unindexed asset cannot be found by keyword.
        raise ImproperlyConfigured("no keyword indexer registered (is the search app installed?)")
    _indexer(asset_ids)
