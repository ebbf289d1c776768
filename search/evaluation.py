"""Retrieval metrics and an isolated, throwaway database for search_eval."""

from __future__ import annotations

import contextlib
import math
import os
from collections.abc import Iterator

from django.db import connection

from search import concurrency


def recall_at(ranked: list[str], relevant: set[str], k: int) -> float:
    if not relevant:
        return 0.0
    return len(relevant & set(ranked[:k])) / len(relevant)


def mrr_at(ranked: list[str], relevant: set[str], k: int) -> float:
    for position, item in enumerate(ranked[:k], start=1):
        if item in relevant:
            return 1.0 / position
    return 0.0


def percentile(values: list[float], q: float) -> float:
    if not values:
        return 0.0
    ordered = sorted(values)
    index = max(0, min(len(ordered) - 1, math.ceil(q / 100 * len(ordered)) - 1))
    return ordered[index]


@contextlib.contextmanager
def isolated_database(prefix: str = "search_eval") -> Iterator[str]:
    """A fresh, migrated database that is dropped afterwards; the live data is never touched."""
    with _side_database(f"{prefix}_{os.getpid()}", keep=False) as name:
        yield name


@contextlib.contextmanager
def kept_database(name: str) -> Iterator[str]:
    """A side database that survives the run (created and migrated when missing, else reused):
    benchmarks keep large corpora this way instead of rebuilding them every time."""
    with _side_database(name, keep=True) as created:
        yield created


@contextlib.contextmanager
def _side_database(name: str, *, keep: bool) -> Iterator[str]:
    settings_dict = connection.settings_dict
    original_name = settings_dict["NAME"]
    settings_dict.setdefault("TEST", {})
    original_test_name = settings_dict["TEST"].get("NAME")
    settings_dict["TEST"]["NAME"] = name
    created = connection.creation.create_test_db(verbosity=0, autoclobber=not keep, keepdb=keep, serialize=False)
    try:
        yield created
    finally:
        concurrency.close_connections()  # they point at the side database
        connection.creation.destroy_test_db(original_name, verbosity=0, keepdb=keep)
        settings_dict["TEST"]["NAME"] = original_test_name
