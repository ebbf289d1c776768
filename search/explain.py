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
            entry = {"field": BY_NAME[spec.name].label, "terms": held}
            if spec.name == "pages":
                entry["pages"] = _pages_holding(text, set(held))
            found.append(entry)
    return found


MAX_PAGES_NAMED = 10


def _pages_holding(text: str, terms: set[str]) -> list[int]:
    """The numbers of the document's pages that hold any of `terms` (the first few)."""
    pages = []
    for number, page in enumerate(text.split("\f"), start=1):
        if terms & set(analyze(page)):
            pages.append(number)
            if len(pages) == MAX_PAGES_NAMED:
                break
    return pages
