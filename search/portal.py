"""Portal search pages: text search (hybrid, keyword, semantic), search by an example image, and
"find similar" for one asset.

Every page searches ``Asset.objects.visible_to(request.user)``, narrowed by the library's filters;
the search service hydrates its hits through that same queryset, so a result can never be an
asset the person may not see. Signals that cannot run (worker timeout, model unavailable, no
vectors yet) are named on the page in plain words; the others still answer.
"""

from __future__ import annotations

import base64
import io
from dataclasses import dataclass

from django import forms
from django.conf import settings
from django.shortcuts import render
from django.views.decorators.http import require_http_methods, require_safe

from assets import facets, imaging
from assets.errors import RejectedUpload
from assets.imaging import jpeg_thumbnail, open_upright
from assets.models import Asset
from assets.portal import display, facet_links
from assets.portal.access import get_visible_asset, staff_required
from assets.portal.forms import LibraryFilterForm
from search.service import (
    CLIP,
    FILENAME,
    FILTERS,
    FUSION_METHODS,
    IDENTIFIER,
    IMAGE,
    JOINED,
    KEYWORD,
    MULTIMODAL,
    MULTIMODAL_IMAGE,
    TEXT,
    SearchRequest,
    SearchResponse,
    search,
)
from search.vectors import MAX_EF_SEARCH

PAGE_SIZE = 24
IMAGE_PAGE_SIZE = 48  # a dropped image is not kept, so its results come as one longer page
MAX_LIMIT = 100
MAX_OFFSET = 10_000
# Results are ranked this deep at most (pgvector's largest hnsw.ef_search): a page past it is moved back.
MAX_WINDOW = MAX_EF_SEARCH
PREVIEW_SIDE = 160

MODES = [
    ("hybrid", "Hybrid", "Words and meaning together"),
    ("keyword", "Keyword", "Exact words, file names and codes"),
    ("semantic", "Semantic", "Meaning and picture content"),
]

# Display order and names of the signals, in the explanation table and in the degraded notice.
SIGNALS = [
    (IDENTIFIER, "Exact identifier", "Identifier search"),
    (FILENAME, "File name", "File-name search"),
    (FILTERS, "Filters", "Filters"),
    (JOINED, "Words run together", "Search for words run together"),
    (KEYWORD, "Keyword", "Keyword search"),
    (TEXT, "Semantic text", "Semantic text search"),
    (CLIP, "Semantic image", "Semantic image search"),
    (IMAGE, "Image similarity", "Image similarity search"),
    (MULTIMODAL, "Multimodal", "Multimodal search"),
    (MULTIMODAL_IMAGE, "Multimodal similarity", "Multimodal image similarity"),
]
SIGNAL_LABEL = {name: label for name, label, _ in SIGNALS}
SIGNAL_SERVICE = {name: service for name, _, service in SIGNALS} | {"rerank": "Reranking"}
FUSION_LABEL = {"adaptive": "Adaptive", "weighted": "Weighted", "rrf": "Reciprocal rank"}
SORT_CHOICES = [("relevance", "Best match"), ("newest", "Newest taken"), ("oldest", "Oldest taken")]


class SearchForm(forms.Form):
    """The GET parameters of the search page. Invalid values fall back to defaults, as in the library."""

    q = forms.CharField(required=False, max_length=1000)
    mode = forms.ChoiceField(choices=[(value, label) for value, label, _ in MODES], required=False)
    rerank = forms.BooleanField(required=False)
    instruction = forms.CharField(required=False, max_length=500)
    fusion = forms.ChoiceField(choices=[("", "Default"), *((m, FUSION_LABEL[m]) for m in FUSION_METHODS)],
                               required=False)
    offset = forms.IntegerField(required=False, min_value=0, max_value=MAX_OFFSET)
    limit = forms.IntegerField(required=False, min_value=1, max_value=MAX_LIMIT)
    sort = forms.ChoiceField(choices=SORT_CHOICES, required=False)
    weak = forms.BooleanField(required=False)

    # Set by to_request when the page asked for lay beyond the ranked results and was moved back.
    window_notice: str | None = None

    def to_request(self, *, limit: int = PAGE_SIZE) -> SearchRequest:
        self.is_valid()
        data = self.cleaned_data  # only the fields that validated
        limit, offset = data.get("limit") or limit, data.get("offset") or 0
        if offset >= MAX_WINDOW:
            offset = MAX_WINDOW - limit
            self.window_notice = (f"Search ranks the best {MAX_WINDOW:,} results, so this is the last page of them; "
                                  "narrow the search or the filters to find others.")
        limit = min(limit, MAX_WINDOW - offset)  # the last page ends at the last ranked result
        return SearchRequest(
            query=(data.get("q") or "").strip(),
            mode=data.get("mode") or "hybrid",
            fusion=data.get("fusion") or "",
            rerank=bool(data.get("rerank")),
            instruction=(data.get("instruction") or "").strip() or None,
            limit=limit,
            offset=offset,
            sort=data.get("sort") or "relevance",
            weak=bool(data.get("weak")),
        )


class ImageSearchForm(forms.Form):
    image = forms.FileField(
        label="Search by image",
        error_messages={
            "required": "Choose an image (or drop one here) to search with.",
            "empty": "That file is empty: choose an image to search with.",
            "invalid": "No file was received: choose an image to search with.",
        },
        widget=forms.ClearableFileInput(attrs={"accept": "image/*,.heic,.heif", "class": "file-input"}),
    )

    def clean_image(self):
        upload = self.cleaned_data["image"]
        name = (upload.name or "This file")[:120]
        if upload.size > settings.MAX_UPLOAD_BYTES:
            raise forms.ValidationError(
                f"“{name}” cannot be used for search: it is larger than the limit of "
                f"{settings.MAX_UPLOAD_BYTES:,} bytes."
            )
        try:
            # The same checks as any upload: a query image is input from outside too.
            imaging.inspect_image(upload)
        except RejectedUpload as exc:
            raise forms.ValidationError(f"“{name}” cannot be used for search: {exc.reason}.") from None
        return upload


# --- What the templates show --------------------------------------------------------------------


@dataclass
class ExplainRow:
    signal: str
    label: str
    score: float | None  # None: the signal ran but did not return this asset
    rank: int | None


@dataclass
class Result:
    asset: Asset
    position: int
    rows: list[ExplainRow]
    fused: float
    rerank: float | None
    strong: bool
    matched: list[dict]  # [{"field": "file name", "terms": [...]}]


def _ran(response: SearchResponse) -> list[str]:
    """Signals that ran and answered, in display order."""
    return [name for name, _, _ in SIGNALS if name in response.signals_run]


def _results(response: SearchResponse, offset: int) -> list[Result]:
    ran = _ran(response)
    results = []
    for position, hit in enumerate(response.hits, start=offset + 1):
        found = hit.explanation["signals"]
        rows = [
            ExplainRow(name, SIGNAL_LABEL[name], found[name]["score"], found[name]["rank"])
            if name in found
            else ExplainRow(name, SIGNAL_LABEL[name], None, None)
            for name in ran
        ]
        results.append(Result(display.decorate(hit.asset), position, rows, hit.explanation["fused"],
                              hit.explanation["rerank"], hit.explanation["strength"] == "strong",
                              hit.explanation["matched"]))
    return results


# How search.service and workers.realtime word a signal whose model this install lacks (weights not
# here, a package not installed): the way this install is, not a passing fault.
LACKING = "model unavailable: "


def degraded_notices(degraded: dict[str, str], *, others_ran: bool) -> tuple[list[str], list[tuple[str, str]]]:
    """One plain sentence per signal that could not run, saying what the results are based on:
    (passing faults, shown as a warning; (signal, sentence) for models this install lacks).

    A lacking model is said quietly beside the results: an offline install without CLIP would
    otherwise put the same warning over every search. It stays a warning where nothing else could
    answer, and for reranking, which the person asked for."""
    passing, lacking = [], []
    for signal, reason in degraded.items():
        label = SIGNAL_SERVICE.get(signal, signal)
        if signal == "rerank":
            consequence = "results are in their fused order, not reranked"
        elif others_ran:
            consequence = "results use the other signals"
        else:
            consequence = "no other signal could answer this search"
        if reason.startswith(LACKING) and others_ran and signal != "rerank":
            lacking.append((label, f"{label} is not available in this install: {reason.removeprefix(LACKING)}; "
                                   f"{consequence}."))
        else:
            passing.append(f"{label} is unavailable right now: {reason}; {consequence}.")
    return passing, lacking


def _result_context(response: SearchResponse, search_request: SearchRequest, *, pageable: bool = True) -> dict:
    offset, limit = search_request.offset, search_request.limit
    reachable = min(response.total_candidates, MAX_WINDOW)  # a next page never lies past the ranked results
    ran = _ran(response)
    fusion = response.fusion or {}
    notices, lacking = degraded_notices(response.degraded, others_ran=bool(ran))
    return {
        "response": response,
        "results": _results(response, offset),
        "ran": [SIGNAL_LABEL[name] for name in ran],
        "notices": notices,
        "lacking": lacking,
        "reranked": any(hit.explanation["rerank"] is not None for hit in response.hits),
        "unanswered": not ran,
        "fusion_label": FUSION_LABEL.get(fusion.get("method", ""), fusion.get("method", "")),
        "fusion_weights": [
            (SIGNAL_LABEL[name], weight) for name, weight in (fusion.get("weights") or {}).items() if name in ran
        ],
        "decisiveness": fusion.get("keyword_decisiveness"),
        "timings": [
            (SIGNAL_SERVICE.get(name, name), ms) for name, ms in response.timings_ms.items() if name != "total"
        ],
        "total_ms": response.timings_ms.get("total"),
        "strong": response.strong,
        "weak": response.weak,
        "understood": response.understood,
        "problems": response.problems,
        "cutoffs": [
            (SIGNAL_LABEL.get(name, name), value) for name, value in response.cutoff.get("similarity", {}).items()
        ],
        "uncalibrated": response.cutoff.get("uncalibrated", []),
        "page": {
            "start": offset + 1,
            "end": offset + len(response.hits),
            "previous": max(0, offset - limit) if pageable and offset > 0 else None,
            "next": offset + limit if pageable and offset + limit < reachable else None,
        },
    }


def _preview_data_uri(data: bytes) -> str | None:
    """A small inline preview of the query image: it is not stored anywhere, so the page carries it."""
    try:
        jpeg = jpeg_thumbnail(open_upright(io.BytesIO(data), PREVIEW_SIDE * 2), PREVIEW_SIDE, quality=80)[0]
    except Exception:  # a preview is a nicety; inspect_image has already accepted the file
        return None
    return "data:image/jpeg;base64," + base64.b64encode(jpeg).decode()


def _filter_values(filters: LibraryFilterForm) -> list[tuple[str, str]]:
    """The active filters as (name, value) pairs, for the image form to carry along."""
    return [(name, filters.data.get(name)) for name in filters.fields if filters.data.get(name)]


# --- Views ----------------------------------------------------------------------------------------


@staff_required
@require_http_methods(["GET", "HEAD", "POST"])
def search_page(request):
    """GET: search by words. POST (multipart): search by an example image, with the same filters."""
    data = request.POST if request.method == "POST" else request.GET
    params = SearchForm(data)
    filters = LibraryFilterForm(data, user=request.user)
    image_form = ImageSearchForm(request.POST, request.FILES) if request.method == "POST" else ImageSearchForm()
    search_request = params.to_request(limit=IMAGE_PAGE_SIZE if request.method == "POST" else PAGE_SIZE)
    context = {
        "nav": "search",
        "modes": MODES,
        "params": search_request,
        "advanced_open": bool(search_request.instruction or search_request.fusion),
        "fusion_choices": [("", "Default"), *((m, FUSION_LABEL[m]) for m in FUSION_METHODS)],
        "sort_choices": SORT_CHOICES,
        "filters": filters,
        "filter_values": _filter_values(filters),
        "image_form": image_form,
        "searched": False,
        "window_notice": params.window_notice,
    }
    status = 200
    if request.method == "POST":
        if image_form.is_valid():
            upload = image_form.cleaned_data["image"]
            upload.seek(0)
            image_bytes = upload.read()
            image_request = SearchRequest(image=image_bytes, limit=search_request.limit)
            response = search(filters.filter(Asset.objects.visible_to(request.user), request.user), image_request,
                              user=request.user)
            context.update(
                _result_context(response, image_request, pageable=False),
                searched=True,
                by_image={"name": upload.name, "preview": _preview_data_uri(image_bytes)},
            )
        else:
            status = 400
    elif search_request.query:
        narrowed = filters.filter(Asset.objects.visible_to(request.user), request.user)
        response = search(narrowed, search_request, user=request.user)
        context.update(_result_context(response, search_request), searched=True)
        # Counted over every result that can be paged through (not just this page); each link
        # keeps the query and adds its filter.
        matched = facets.facets(narrowed.filter(pk__in=response.matched_ids))
        context["facets"] = facet_links.groups(matched, request.GET, filters)
    return render(request, "search/search.html", context, status=status)


@staff_required
@require_safe
def similar(request, pk: int):
    """Assets that look or read like this one; 404 unless this person may see it."""
    asset = display.decorate(get_visible_asset(request.user, pk))
    form = SearchForm(request.GET)
    page = form.to_request()
    search_request = SearchRequest(similar_to=asset, limit=page.limit, offset=page.offset)
    response = search(Asset.objects.visible_to(request.user), search_request, user=request.user)
    context = {
        "nav": "search",
        "asset": asset,
        # Neither stored vector exists (for the active models): say so rather than "no results".
        "no_vectors": IMAGE in response.degraded and TEXT in response.degraded,
        "window_notice": form.window_notice,
        **_result_context(response, search_request),
    }
    return render(request, "search/similar.html", context)
