"""Facet counts (assets.facets) as links: each value adds itself to the page's current filters, or,
when it is one of them already, takes itself out again."""

from __future__ import annotations

from dataclasses import dataclass

from django.http import QueryDict

from assets.facets import FacetValue
from assets.portal.forms import MEDIA_TYPE_CHOICES

# facet -> (heading, the filter's GET parameter)
FACETS = {
    "tags": ("Tags", "tag"),
    "place": ("Places", "place"),
    "camera": ("Cameras", "camera"),
    "year": ("Years", "year"),
    "type": ("Type", "media_type"),
}
TYPE_LABELS = dict(MEDIA_TYPE_CHOICES)


@dataclass(frozen=True)
class FacetLink:
    label: str
    count: int
    url: str  # "?..." relative to the current page
    active: bool  # already one of the filters: the link removes it


@dataclass(frozen=True)
class FacetGroup:
    name: str
    heading: str
    links: list[FacetLink]


def _url(query: QueryDict, parameter: str, value: str | None) -> str:
    query = query.copy()
    query.pop("page", None)  # a new set of assets starts on its first page
    if value:
        query[parameter] = value
    else:
        query.pop(parameter, None)
    return "?" + query.urlencode()


def _link(query: QueryDict, name: str, facet: FacetValue, filters) -> FacetLink:
    parameter = FACETS[name][1]
    cleaned = getattr(filters, "cleaned_data", {}) or {}
    label = TYPE_LABELS.get(facet.label, facet.label) if name == "type" else facet.label
    if name == "tags":
        chosen = list(cleaned.get("tag") or [])
        active = facet.value in chosen
        tags = [tag for tag in chosen if tag != facet.value] if active else [*chosen, facet.value]
        return FacetLink(label, facet.count, _url(query, parameter, ",".join(tags)), active)
    current = cleaned.get(parameter)
    active = current is not None and str(current).lower() == facet.value.lower()
    return FacetLink(label, facet.count, _url(query, parameter, None if active else facet.value), active)


def groups(counts: dict[str, list[FacetValue]], query: QueryDict, filters) -> list[FacetGroup]:
    """The non-empty facets, in a fixed order, as links over the current query string. `filters` is the
    page's bound filter form (already cleaned by its filter() call)."""
    return [
        FacetGroup(name, heading, [_link(query, name, facet, filters) for facet in counts.get(name, [])])
        for name, (heading, _) in FACETS.items()
        if counts.get(name)
    ]
