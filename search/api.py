"""Search API: GET /api/v1/search/ (text), POST /api/v1/search/ (image, optional text),
GET /api/v1/assets/{id}/similar/. Results only ever contain assets the caller may see."""

from __future__ import annotations

from django.conf import settings
from django.shortcuts import get_object_or_404
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import serializers
from rest_framework.exceptions import ValidationError
from rest_framework.parsers import FormParser, MultiPartParser
from rest_framework.response import Response
from rest_framework.views import APIView

from assets import facets, imaging
from assets.api.filters import AssetFilter, names_a_filter
from assets.api.serializers import AssetSerializer
from assets.errors import RejectedUpload
from assets.models import Asset
from search.service import FUSION_METHODS, MODES, SORTS, SearchRequest, SearchResponse, search
from search.vectors import MAX_EF_SEARCH

MAX_LIMIT = 100
# Results are ranked this deep at most (pgvector's largest hnsw.ef_search): offset + limit stays within it.
MAX_WINDOW = MAX_EF_SEARCH


class SearchParams(serializers.Serializer):
    q = serializers.CharField(
        required=False, allow_blank=True, default="", max_length=1000,
        help_text='words, "quoted phrases", -word, OR between alternatives, NOT, and filters: tag:, camera:, '
                  "place:, type:, has:text, has:people, before:, after: (a minus before a filter leaves out what "
                  'it picks), and dates such as "October 2008", "summer 2019", "22 October 2008"; what was '
                  "understood comes back in `understood`, what was not in `problems`")
    mode = serializers.ChoiceField(choices=MODES, default="hybrid")
    fusion = serializers.ChoiceField(choices=FUSION_METHODS, required=False, allow_blank=True, default="")
    rerank = serializers.BooleanField(default=False)
    instruction = serializers.CharField(required=False, allow_blank=True, default="", max_length=500)
    limit = serializers.IntegerField(min_value=1, max_value=MAX_LIMIT, default=24)
    offset = serializers.IntegerField(min_value=0, default=0)
    sort = serializers.ChoiceField(choices=SORTS, default="relevance",
                                   help_text="relevance, or by date taken: newest or oldest first")
    weak = serializers.BooleanField(default=False, help_text="also return weak matches, after the strong ones")
    facets = serializers.BooleanField(default=False, help_text="also count tags, places, cameras, years and types "
                                                               "over all the results that can be paged through")
    w_keyword = serializers.FloatField(required=False, min_value=0, max_value=10)
    w_text = serializers.FloatField(required=False, min_value=0, max_value=10)
    w_clip = serializers.FloatField(required=False, min_value=0, max_value=10)
    w_image = serializers.FloatField(required=False, min_value=0, max_value=10)
    w_multimodal = serializers.FloatField(required=False, min_value=0, max_value=10)
    w_image_multimodal = serializers.FloatField(required=False, min_value=0, max_value=10)

    def validate(self, attrs):
        if attrs["offset"] + attrs["limit"] > MAX_WINDOW:
            raise serializers.ValidationError({
                "offset": f"offset + limit may be at most {MAX_WINDOW}: search ranks the best {MAX_WINDOW} "
                          "results; narrow the query or the filters to reach others."
            })
        return attrs

    def to_request(self) -> SearchRequest:
        data = self.validated_data
        names = {"w_keyword": "keyword", "w_text": "semantic_text", "w_clip": "semantic_image", "w_image": "image",
                 "w_multimodal": "semantic_multimodal", "w_image_multimodal": "image_multimodal"}
        return SearchRequest(
            query=data["q"],
            mode=data["mode"],
            fusion=data["fusion"],
            weights={names[k]: v for k, v in data.items() if k in names},
            rerank=data["rerank"],
            instruction=data["instruction"] or None,
            limit=data["limit"],
            offset=data["offset"],
            sort=data["sort"],
            weak=data["weak"],
        )


class ImageSearchParams(SearchParams):
    image = serializers.FileField(use_url=False)


def _filtered_visible(request) -> object:
    """The caller's visible assets, narrowed by the same filters as the asset list."""
    visible = Asset.objects.visible_to(request.user)
    if not names_a_filter(request.query_params, AssetFilter):
        return visible
    filterset = AssetFilter(request.query_params, queryset=visible, request=request)
    if not filterset.is_valid():
        raise ValidationError(filterset.errors)
    return filterset.qs


def _facets(visible, response: SearchResponse) -> dict:
    counted = facets.facets(visible.filter(pk__in=response.matched_ids))
    return {name: [value._asdict() for value in values] for name, values in counted.items()}


def respond(request, response: SearchResponse, search_request: SearchRequest, *, visible=None) -> Response:
    """The response body; with `visible` (the set searched), facet counts over its results too."""
    # One list serializer for the page: its fields are built once, not once per hit (measured:
    # 3 ms per hit, 75 ms of a 24-hit search).
    assets = AssetSerializer([hit.asset for hit in response.hits], many=True, context={"request": request}).data
    extra = {"facets": _facets(visible, response)} if visible is not None else {}
    return Response(
        {
            **extra,
            "query": search_request.query,
            "mode": search_request.mode,
            "count": len(response.hits),
            "candidates": response.total_candidates,
            "strong": response.strong,
            "weak": response.weak,
            "understood": response.understood,
            "problems": response.problems,
            "cutoff": response.cutoff,
            "offset": search_request.offset,
            "signals": response.signals_run,
            "degraded": [f"{signal}: {reason}" for signal, reason in response.degraded.items()],
            "fusion": response.fusion,
            "timings_ms": response.timings_ms,
            "results": [
                {"asset": asset, "explanation": hit.explanation}
                for asset, hit in zip(assets, response.hits, strict=True)
            ],
        }
    )


# The asset filters a search takes (_filtered_visible applies them by hand; drf-spectacular finds a
# filterset on list views only), so the schema names them all, not just tag.
FILTER_PARAMETERS = [OpenApiParameter(name, str, description=str(field.extra.get("help_text") or ""))
                     for name, field in AssetFilter.base_filters.items()]


class SearchView(APIView):
    parser_classes = [MultiPartParser, FormParser]

    @extend_schema(parameters=[SearchParams, *FILTER_PARAMETERS], responses={200: dict})
    def get(self, request):
        params = SearchParams(data=request.query_params)
        params.is_valid(raise_exception=True)
        search_request = params.to_request()
        if not search_request.query.strip():
            raise ValidationError({"q": "a query is required (or POST an image)"})
        visible = _filtered_visible(request)
        response = search(visible, search_request, user=request.user)
        return respond(request, response, search_request, visible=visible if params.validated_data["facets"] else None)

    @extend_schema(request={"multipart/form-data": ImageSearchParams}, responses={200: dict})
    def post(self, request):
        params = ImageSearchParams(data=request.data)
        params.is_valid(raise_exception=True)
        upload = params.validated_data["image"]
        if upload.size > settings.MAX_UPLOAD_BYTES:
            raise ValidationError({"image": "image is larger than the upload limit"})
        try:
            imaging.inspect_image(upload)  # the same checks as any upload: a query image is input too
        except RejectedUpload as exc:
            raise ValidationError({"image": exc.reason}) from None
        search_request = params.to_request()
        search_request.image = upload.read()
        return respond(request, search(_filtered_visible(request), search_request, user=request.user), search_request)


class SimilarView(APIView):
    @extend_schema(parameters=[OpenApiParameter("limit", int)], responses={200: dict})
    def get(self, request, pk: int):
        asset = get_object_or_404(Asset.objects.visible_to(request.user), pk=pk)
        params = SearchParams(data={"limit": request.query_params.get("limit", 24)})
        params.is_valid(raise_exception=True)
        search_request = params.to_request()
        search_request.similar_to = asset
        return respond(request, search(_filtered_visible(request), search_request, user=request.user), search_request)
