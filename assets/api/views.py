from django.db.models import Prefetch
from django.shortcuts import get_object_or_404
from drf_spectacular.utils import extend_schema
from rest_framework import mixins, status, viewsets
from rest_framework.decorators import action
from rest_framework.exceptions import PermissionDenied, ValidationError
from rest_framework.parsers import FormParser, JSONParser, MultiPartParser
from rest_framework.response import Response

from assets import actions
from assets.api.filters import AssetFilter
from assets.api.serializers import (
    AssetSerializer,
    AssetUploadSerializer,
    BulkUploadSerializer,
    UploadResultSerializer,
)
from assets.downloads import serve_file
from assets.errors import RejectedUpload
from assets.models import Asset, Embedding, Rendition


def _checked_options(user, serializer) -> actions.AssetOptions:
    """Validate the upload form, then whether this user may file assets that way (400 if not)."""
    serializer.is_valid(raise_exception=True)
    data = serializer.validated_data
    options = actions.AssetOptions(
        title=data.get("title", ""),
        description=data.get("description", ""),
        tags=data.get("tags", []),
        team=data.get("team"),
        visibility=data.get("visibility"),
    )
    try:
        actions.check_options(user, options)
    except RejectedUpload as exc:
        raise ValidationError({"detail": exc.reason}) from None
    return options


class AssetViewSet(
    mixins.ListModelMixin,
    mixins.RetrieveModelMixin,
    mixins.UpdateModelMixin,
    mixins.DestroyModelMixin,
    viewsets.GenericViewSet,
):
    serializer_class = AssetSerializer
    filterset_class = AssetFilter
    parser_classes = [JSONParser, MultiPartParser, FormParser]

    def get_queryset(self):
        return (
            Asset.objects.visible_to(self.request.user)
            .select_related("owner", "team")
            .prefetch_related(
                Prefetch("renditions", queryset=Rendition.objects.order_by("width")),
                # defer: listing which vectors exist must not ship the vectors themselves
                Prefetch("embeddings", queryset=Embedding.objects.defer("vector").order_by("kind", "model_id")),
            )
        )

    def _editable(self) -> Asset:
        asset = self.get_object()  # 404 when not visible
        if not asset.is_editable_by(self.request.user):
            raise PermissionDenied("You may view this asset but not change it.")
        return asset

    @extend_schema(request={"multipart/form-data": AssetUploadSerializer}, responses={201: AssetSerializer})
    def create(self, request, *args, **kwargs):
        upload = AssetUploadSerializer(data=request.data)
        options = _checked_options(request.user, upload)
        file = upload.validated_data["file"]
        result = actions.upload_asset(request.user, file, file.name, options)
        if result.status == "rejected":
            return Response({"detail": result.reason, "filename": result.filename}, status=status.HTTP_400_BAD_REQUEST)
        body = self.get_serializer(result.asset).data
        if result.status == "duplicate":
            return Response({"duplicate": True, "detail": result.reason, **body}, status=status.HTTP_200_OK)
        return Response({"duplicate": False, **body}, status=status.HTTP_201_CREATED)

    @extend_schema(
        request={"multipart/form-data": BulkUploadSerializer}, responses={207: UploadResultSerializer(many=True)}
    )
    @action(detail=False, methods=["post"], url_path="bulk")
    def bulk(self, request):
        upload = BulkUploadSerializer(data=request.data)
        options = _checked_options(request.user, upload)
        files = [(f.name, f) for f in upload.validated_data["files"]]
        results = [r.as_dict() for r in actions.upload_many(request.user, files, options)]
        counts = {key: sum(r["status"] == key for r in results) for key in ("created", "duplicate", "rejected")}
        return Response({"counts": counts, "results": results}, status=status.HTTP_207_MULTI_STATUS)

    def perform_update(self, serializer):
        asset = serializer.instance
        if not asset.is_editable_by(self.request.user):
            raise PermissionDenied("You may view this asset but not change it.")
        team = serializer.validated_data.get("team", asset.team)
        visibility = serializer.validated_data.get("visibility", asset.visibility)
        try:
            if team != asset.team:
                actions.check_options(self.request.user, actions.AssetOptions(team=team, visibility=visibility))
        except RejectedUpload as exc:
            raise ValidationError({"team": exc.reason}) from None
        actions.update_asset(asset, serializer.validated_data)

    def destroy(self, request, *args, **kwargs):
        actions.delete_asset(self._editable())
        return Response(status=status.HTTP_204_NO_CONTENT)

    @action(detail=True, methods=["post"])
    def reprocess(self, request, pk=None):
        asset = self._editable()
        actions.reprocess_asset(asset)
        asset.refresh_from_db()
        return Response(self.get_serializer(asset).data, status=status.HTTP_202_ACCEPTED)

    @extend_schema(responses={(200, "application/octet-stream"): bytes})
    @action(detail=True, methods=["get"])
    def original(self, request, pk=None):
        asset = self.get_object()
        return serve_file(asset.file, filename=asset.original_filename, mime_type=asset.mime_type, attachment=True)

    @extend_schema(responses={(200, "image/jpeg"): bytes})
    @action(detail=True, methods=["get"], url_path=r"renditions/(?P<spec>[a-z0-9]+)")
    def rendition(self, request, pk=None, spec=None):
        asset = self.get_object()
        rendition = get_object_or_404(asset.renditions, spec=spec)
        stem = asset.original_filename.rsplit(".", 1)[0]
        return serve_file(
            rendition.file, filename=f"{stem}-{spec}.jpg", mime_type=rendition.mime_type, attachment=False
        )
