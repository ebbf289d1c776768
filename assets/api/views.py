from django.http import Http404
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import mixins, serializers, status, viewsets
from rest_framework.decorators import action
from rest_framework.exceptions import PermissionDenied, ValidationError
from rest_framework.parsers import FormParser, MultiPartParser
from rest_framework.response import Response

from assets import actions, filenames, playback
from assets.actions import bulk, pipeline
from assets.api.filters import AssetFilter
from assets.api.parsers import JSONParser
from assets.api.serializers import (
    AssetSerializer,
    AssetUploadSerializer,
    BulkUploadResultSerializer,
    BulkUploadSerializer,
    TrashedAssetSerializer,
)
from assets.downloads import range_starts_file, serve_file
from assets.errors import RejectedUpload
from assets.models import Asset, Rendition
from assets.multipart import client_name
from assets.representation import represented


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
        return represented(Asset.objects.visible_to(self.request.user))

    def _editable(self) -> Asset:
        asset = self.get_object()  # 404 when not visible
        if not asset.is_editable_by(self.request.user):
            raise PermissionDenied("You may view this asset but not change it.")
        return asset

    @extend_schema(
        request={"multipart/form-data": AssetUploadSerializer},
        responses={
            201: AssetSerializer,
            200: OpenApiResponse(AssetSerializer, description="you already uploaded these bytes: `duplicate` is true"),
        },
    )
    def create(self, request, *args, **kwargs):
        upload = AssetUploadSerializer(data=request.data)
        options = _checked_options(request.user, upload)
        file = upload.validated_data["file"]
        result = actions.upload_asset(request.user, file, client_name(file), options)
        if result.status == "rejected":
            return Response({"detail": result.reason, "filename": result.filename}, status=status.HTTP_400_BAD_REQUEST)
        body = self.get_serializer(self.get_queryset().get(pk=result.asset.pk)).data
        if result.status == "duplicate":
            return Response({"duplicate": True, "detail": result.reason, **body}, status=status.HTTP_200_OK)
        return Response({"duplicate": False, **body}, status=status.HTTP_201_CREATED)

    @extend_schema(
        request={"multipart/form-data": BulkUploadSerializer}, responses={207: BulkUploadResultSerializer}
    )
    @action(detail=False, methods=["post"], url_path="bulk")
    def bulk(self, request):
        upload = BulkUploadSerializer(data=request.data)
        options = _checked_options(request.user, upload)
        files = [(client_name(f), f) for f in upload.validated_data["files"]]
        results = [r.as_dict() for r in actions.upload_many(request.user, files, options)]
        counts = {key: sum(r["status"] == key for r in results) for key in ("created", "duplicate", "rejected")}
        return Response({"counts": counts, "results": results}, status=status.HTTP_207_MULTI_STATUS)

    def perform_update(self, serializer):
        asset = serializer.instance
        if not asset.is_editable_by(self.request.user):
            raise PermissionDenied("You may view this asset but not change it.")
        try:
            serializer.instance = actions.update_asset(self.request.user, asset, serializer.validated_data)
        except actions.EditRefused as exc:
            raise ValidationError({"detail": str(exc)}) from None
        except actions.NotAllowed as exc:
            raise PermissionDenied(str(exc)) from None

    def update(self, request, *args, **kwargs):
        response = super().update(request, *args, **kwargs)
        # Answer with the row as it is now (with its prefetches), not as the serializer last saw it.
        response.data = self.get_serializer(self.get_queryset().get(pk=kwargs["pk"])).data
        return response

    def destroy(self, request, *args, **kwargs):
        """Moves the asset to the trash (see /api/v1/trash/ to restore or purge it)."""
        actions.trash(request.user, [self._editable().pk])
        return Response(status=status.HTTP_204_NO_CONTENT)

    @extend_schema(request=None, responses={202: AssetSerializer})
    @action(detail=True, methods=["post"])
    def reprocess(self, request, pk=None):
        asset = self._editable()
        pipeline.reprocess(request.user, [asset.pk])
        return Response(self.get_serializer(self.get_queryset().get(pk=asset.pk)).data, status=status.HTTP_202_ACCEPTED)

    @extend_schema(responses={(200, "image/*"): bytes})  # the type found in the bytes
    @action(detail=True, methods=["get"])
    def original(self, request, pk=None):
        asset = self.get_object()
        # Delivered with the extension of the type sniffed from the bytes, whatever the uploader called it.
        filename = filenames.download_name(asset.original_filename, asset.mime_type)
        response = serve_file(asset.blob, filename=filename, mime_type=asset.mime_type, attachment=True,
                              request=request)
        # A HEAD request fetches no copy, nor does a resumed download's later range.
        if request.method == "GET" and response.status_code in (200, 206) and range_starts_file(request):
            actions.record_download(request.user, asset, via="api")
        return response

    @extend_schema(responses={(200, "video/*"): bytes, (206, "video/*"): bytes})
    @action(detail=True, methods=["get"])
    def play(self, request, pk=None):
        """What a player plays: the web-playable proxy of a video or audio file, or the original when
        it plays in browsers as it is; byte ranges, so a player can seek."""
        asset = self.get_object()
        playable = playback.playable(asset)
        if playable is None:
            raise Http404("nothing to play: not a video or audio asset, or its playable copy is not made yet")
        blob, mime_type = playable
        filename = filenames.download_name(asset.original_filename, mime_type)
        response = serve_file(blob, filename=filename, mime_type=mime_type, attachment=False, request=request)
        if request.method == "GET" and response.status_code in (200, 206) and range_starts_file(request):
            actions.record_download(request.user, asset, via="play")
        return response

    @extend_schema(responses={(200, "image/jpeg"): bytes})
    @action(detail=True, methods=["get"], url_path=r"renditions/(?P<spec>[a-z0-9]+)")
    def rendition(self, request, pk=None, spec=None):
        # One query: the rendition, its blob and its asset, found only among the assets the caller sees.
        try:
            asset_id = int(pk)
        except ValueError:
            raise Http404("no such asset") from None
        rendition = (
            Rendition.objects.select_related("blob", "asset")
            .filter(asset__in=Asset.objects.visible_to(request.user), asset_id=asset_id, spec=spec)
            .first()
        )
        if rendition is None:
            raise Http404("no such rendition")
        stem, _ = filenames.split_extension(rendition.asset.original_filename.rstrip(". "))
        filename = filenames.download_name(f"{stem}-{spec}", rendition.mime_type)
        return serve_file(rendition.blob, filename=filename, mime_type=rendition.mime_type, attachment=False,
                          request=request)


class RestoredSerializer(serializers.Serializer):
    restored = serializers.ListField(child=serializers.IntegerField())


class IdsSerializer(serializers.Serializer):
    ids = serializers.ListField(child=serializers.IntegerField(min_value=1), min_length=1,
                                max_length=bulk.MAX_SELECTION)


class TrashViewSet(mixins.ListModelMixin, mixins.RetrieveModelMixin, viewsets.GenericViewSet):
    """Assets in the caller's trash (every trash for a superuser): restore them, or purge them for good."""

    serializer_class = TrashedAssetSerializer

    def get_queryset(self):
        return Asset.objects.in_trash_of(self.request.user).select_related("owner", "deleted_by").order_by(
            "-deleted_at", "-id"
        )

    @extend_schema(request=None, responses={200: RestoredSerializer})
    @action(detail=True, methods=["post"])
    def restore(self, request, pk=None):
        asset = self.get_object()
        actions.restore(request.user, [asset.pk])
        return Response({"restored": [asset.pk]})

    @extend_schema(responses={204: None})
    def destroy(self, request, pk=None):
        """Deletes the asset for good, with its files once nothing else uses them."""
        asset = self.get_object()
        actions.purge(request.user, [asset.pk])
        return Response(status=status.HTTP_204_NO_CONTENT)

    def _many(self, request, verb):
        body = IdsSerializer(data=request.data)
        body.is_valid(raise_exception=True)
        done = verb(request.user, body.validated_data["ids"])
        skipped = sorted(set(body.validated_data["ids"]) - set(done))
        return Response({"done": done, "skipped": skipped})

    @extend_schema(request=IdsSerializer, responses={200: dict}, operation_id="v1_trash_restore_many")
    @action(detail=False, methods=["post"], url_path="restore")
    def restore_many(self, request):
        """Restore several assets: {"ids": [...]}; ids not in the caller's trash are skipped."""
        return self._many(request, actions.restore)

    @extend_schema(request=IdsSerializer, responses={200: dict}, operation_id="v1_trash_purge_many")
    @action(detail=False, methods=["post"], url_path="purge")
    def purge_many(self, request):
        """Purge several assets: {"ids": [...]}; ids not in the caller's trash are skipped."""
        return self._many(request, actions.purge)
