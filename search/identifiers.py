"""Identifiers: codes and file names found whole, however the word analyzer splits them.

The analyzer cuts "A7-3310B" into "a7" and "3310b" and "IMG_5195.jpg" into "img", "5195", "jpg";
BM25 then scores the parts, and a part ("img", "jpg") shared by half the library can let the
semantic signals outvote the one document that holds the code. So identifiers get an index of
their own, and one rule: a query that is one identifier and matches an identifier of some
documents exactly puts those documents first.

- An identifier is a run of letters and digits joined by single separators (. _ - /) that holds
  a digit or a separator: "IMG_5195.jpg", "c4e91b07aa", "A7-3310B", "1000268201", "sunset.jpg".
  Plain words ("Canon", "beach") are not identifiers: BM25 handles them.
- Its key is the normalised form (the analyzer's NFKC + case folding) without the separators, so
  "img_5195", "IMG5195" and "Img-5195" are one key.
- Every contiguous run of its parts that holds a digit is a key too: "IMG_5195.jpg" is found as
  "IMG_5195.jpg", "IMG_5195", "5195" and "5195.jpg"; "1000268201_693b08cb0e.jpg" as "1000268201".
  A run without digits ("img", "jpg") is a word, not a code.
Keys come from every field of the searchable document (assets.documents): a code typed in a
title, printed in the picture (detected text) or embedded in the file is found the same way.
"""

from __future__ import annotations

import re

from django.db import connection
from django.db.models import QuerySet

from search.analyzer import MAX_TOKEN_CHARS, normalize

_SEPARATORS = "._\\-/"
_IDENTIFIER_RE = re.compile(rf"[^\W_]+(?:[{_SEPARATORS}][^\W_]+)*")
_SPLIT_RE = re.compile(rf"[{_SEPARATORS}]")
# Runs of parts are keys for the first parts only: enough for any file name or code, and the
# number of keys stays quadratic in a small number.
MAX_PARTS = 8


def _has_digit(text: str) -> bool:
    return any(char.isdigit() for char in text)


def _is_identifier(token: str, parts: list[str]) -> bool:
    return len(parts) > 1 or _has_digit(token)


def keys_of(text: str) -> set[str]:
    """Every identifier key in `text`."""
    keys: set[str] = set()
    for match in _IDENTIFIER_RE.finditer(normalize(text)):
        token = match.group()
        parts = _SPLIT_RE.split(token)
        if not _is_identifier(token, parts):
            continue
        keys.add("".join(parts)[:MAX_TOKEN_CHARS])
        parts = parts[:MAX_PARTS]
        for start in range(len(parts)):
            for end in range(start + 1, len(parts) + 1):
                run = "".join(parts[start:end])
                if _has_digit(run):
                    keys.add(run[:MAX_TOKEN_CHARS])
    return keys


def query_key(query: str) -> str | None:
    """The key of a query that is one identifier and nothing else; None for anything else."""
    text = normalize(query.strip())
    match = _IDENTIFIER_RE.fullmatch(text)
    if match is None:
        return None
    parts = _SPLIT_RE.split(text)
    if not _is_identifier(text, parts):
        return None
    return "".join(parts)[:MAX_TOKEN_CHARS]


def is_code(query: str) -> bool:
    """A query that is one identifier holding a digit ("c4e91b07", "DSCN9999", "A7-3310B"). Words
    joined by separators ("t-shirt", "sunset.jpg") are identifiers but not codes."""
    key = query_key(query)
    return key is not None and _has_digit(key)


def field_keys(texts: dict[str, str]) -> dict[str, set[str]]:
    """{field: its keys} for the fields that hold any (explanations name the field)."""
    found = {name: keys_of(text) for name, text in texts.items()}
    return {name: keys for name, keys in found.items() if keys}


# The caller's visible queryset is applied to the matching ids: a key shared by many documents
# (a year, a product line) reads its whole list, a code one probe.
_MATCHES = "SELECT asset_id FROM search_identifier WHERE key = %s ORDER BY asset_id LIMIT %s"


def exact_matches(key: str, *, visible: QuerySet | None, limit: int) -> list[tuple[int, float]]:
    """(asset id, 1.0) of the visible documents holding identifier `key`, by id."""
    return visible_matches(_MATCHES, key, visible=visible, limit=limit)


def visible_matches(sql: str, value: str, *, visible: QuerySet | None, limit: int) -> list[tuple[int, float]]:
    """(asset id, 1.0) of the visible ids a lookup statement (`value` and a limit) returns, by id."""
    if limit <= 0:
        return []
    with connection.cursor() as cursor:
        # Read past the page: some of the first ids may be invisible to the caller.
        cursor.execute(sql, [value, max(limit * 4, 1000)])
        ids = [row[0] for row in cursor.fetchall()]
    if visible is not None and ids:
        allowed = set(visible.filter(pk__in=ids).values_list("pk", flat=True))
        ids = [asset_id for asset_id in ids if asset_id in allowed]
    return [(asset_id, 1.0) for asset_id in ids[:limit]]
