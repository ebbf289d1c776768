"""Which fields of a result matched the query, in words people read ("file name", "text in the
picture"), for the explanations every door shows."""

from __future__ import annotations

from assets.documents import BY_NAME, FIELDS, field_texts
from search.analyzer import analyze, query_terms
from search.identifiers import field_keys


def matched_fields(asset, query: str, *, key: str | None = None) -> list[dict]:
    """[{"field": label, "terms": [...]}] in the document's field order: the query's words each
    field holds, and the whole identifier (`key`) where a field holds it."""
    terms = set(query_terms(query)) if query.strip() else set()
    texts = field_texts(asset)
    keys = field_keys(texts) if key else {}
    found = []
    for spec in FIELDS:
        text = texts.get(spec.name)
        if not text:
            continue
        held = sorted(terms & set(analyze(text)))
        if key and key in keys.get(spec.name, ()):
            held = [query.strip()]  # the identifier, whole: not its parts
        if held:
            found.append({"field": BY_NAME[spec.name].label, "terms": held})
    return found
