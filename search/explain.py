"""Which fields of a result matched the query, in words people read ("file name", "text in the
picture"), for the explanations every door shows."""

from __future__ import annotations

from assets.documents import ANALYSED, BY_NAME, FIELDS, field_texts
from assets.models import Analysis, MediaType
from assets.playback import clock
from search.analyzer import analyze, field_analyze, query_terms
from search.identifiers import field_keys


def matched_fields(asset, query: str, *, key: str | None = None, joined: str | None = None) -> list[dict]:
    """[{"field": label, "terms": [...]}] in the document's field order: the query's words each
    field holds, the whole identifier (`key`) and the query's words run together (`joined`) where
    a field holds them."""
    terms = set(query_terms(query)) if query.strip() else set()
    texts = field_texts(asset)
    keys = field_keys(texts) if key else {}
    found = []
    for spec in FIELDS:
        text = texts.get(spec.name)
        if not text:
            continue
        tokens = set(field_analyze(spec.name, text, wanted=terms))
        held = sorted(terms & tokens)
        if joined and joined in tokens:
            held.append(joined)
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


MAX_MOMENTS = 5
_ANALYSED_BY_LABEL = {BY_NAME[name].label: name for name in ANALYSED}


def add_moments(hits) -> None:
    """Where in a video or a scanned document its analysed fields matched (what it shows, text in
    the picture, ...): the moments of the frames ("seconds", and "at" as a player shows them) or the
    numbers of the pages ("pages") whose findings hold the matched words. One query for the whole
    page of hits, only when such an asset matched so."""
    wanted = {}
    for hit in hits:
        if hit.asset.media_type not in (MediaType.VIDEO, MediaType.DOCUMENT):
            continue
        for entry in hit.explanation.get("matched", []):
            name = _ANALYSED_BY_LABEL.get(entry["field"])
            if name is not None:
                wanted[(hit.asset.pk, name)] = entry
    if not wanted:
        return
    rows = Analysis.objects.filter(asset_id__in={pk for pk, _ in wanted}, analyser__in={n for _, n in wanted},
                                   corrected_text__isnull=True)
    for asset_id, analyser, data in rows.values_list("asset_id", "analyser", "data"):
        entry = wanted.get((asset_id, analyser))
        frames = data.get("frames") if isinstance(data, dict) else None
        if entry is None or not isinstance(frames, list):
            continue
        terms = {term.lower() for term in entry["terms"]}
        holding = [f for f in frames if isinstance(f, dict)
                   and terms & set(field_analyze(analyser, str(f.get("text", "")), wanted=terms))]
        moments = [f["seconds"] for f in holding if isinstance(f.get("seconds"), int | float)][:MAX_MOMENTS]
        pages = [f["page"] for f in holding if isinstance(f.get("page"), int)][:MAX_PAGES_NAMED]
        if moments:
            entry["seconds"] = moments
            entry["at"] = [clock(seconds, tenths=True) for seconds in moments]
        if pages:
            entry["pages"] = pages
