from __future__ import annotations

import uuid

from django.conf import settings
from django.contrib.postgres.fields import ArrayField
from django.contrib.postgres.indexes import GinIndex
from django.db import models
from django.db.models import Q
from pgvector.django import HalfVectorField

from assets.models.blobs import Blob
from assets.models.teams import EDIT_ROLES, Membership, StaffGateQuerySet, Team


class Visibility(models.TextChoices):
    PRIVATE = "private", "Private (owner only)"
    TEAM = "team", "Team"
    ORGANISATION = "organisation", "Organisation (all staff)"


def thumbnail_spec(size: int) -> str:
    """The rendition spec of the thumbnail that fits within `size` pixels (settings.RENDITION_SIZES)."""
    return f"max{size}"


class MediaType(models.TextChoices):
    IMAGE = "image", "Image"
    VIDEO = "video", "Video"
    AUDIO = "audio", "Audio"
    DOCUMENT = "document", "Document (PDF)"


class Status(models.TextChoices):
    PENDING = "pending", "Pending"
    PROCESSING = "processing", "Processing"
    READY = "ready", "Ready"
    FAILED = "failed", "Failed"


class EmbeddingStatus(models.TextChoices):
    PENDING = "pending", "Pending"
    EMBEDDING = "embedding", "Embedding"
    READY = "ready", "Ready"
    FAILED = "failed", "Failed"


class AnalysisStatus(models.TextChoices):
    PENDING = "pending", "Pending"
    ANALYSING = "analysing", "Analysing"
    READY = "ready", "Ready"
    FAILED = "failed", "Failed"


class EmbeddingKind(models.TextChoices):
    IMAGE = "image", "Image (CLIP)"
    TEXT = "text", "Text"
    MULTIMODAL = "multimodal", "Multimodal (pictures and texts in one space)"


def _visible_rule(user) -> Q:
    # A subquery rather than a join keeps rows unique without DISTINCT, which search SQL needs.
    member_teams = Membership.objects.filter(user=user).values("team")
    return (
        Q(owner=user)
        | Q(visibility=Visibility.ORGANISATION)
        | Q(visibility=Visibility.TEAM, team__in=member_teams)
    )


def _editable_rule(user) -> Q:
    editor_teams = Membership.objects.filter(user=user, role__in=EDIT_ROLES).values("team")
    # A private asset is its owner's alone, whatever team it is filed under.
    return Q(owner=user) | (Q(team__in=editor_teams) & ~Q(visibility=Visibility.PRIVATE))


def _trash_rule(user) -> Q:
    return Q(owner=user)


class AssetQuerySet(StaffGateQuerySet):
    """The one place that decides who sees and who edits an asset; every path goes through it.

    An asset in the trash is outside both: only ``in_trash_of`` finds it.
    """

    def alive(self) -> AssetQuerySet:
        return self.filter(deleted_at__isnull=True)

    def visible_to(self, user) -> AssetQuerySet:
        return self.alive()._for_staff(user, _visible_rule)

    def editable_by(self, user) -> AssetQuerySet:
        return self.alive()._for_staff(user, _editable_rule)

    def in_trash_of(self, user) -> AssetQuerySet:
        """Trashed assets this person may restore or purge: their own (every one for a superuser)."""
        return self.filter(deleted_at__isnull=False)._for_staff(user, _trash_rule)

    def missing_embedding(self, kind: str, model_id: str | None = None) -> AssetQuerySet:
        """Assets with no vector of `kind` from `model_id` (default: the model workers report active)."""
        if model_id is None:
            model_id = ActiveModel.model_id_for(kind)
        vectors = Embedding.objects.filter(asset=models.OuterRef("pk"), kind=kind)
        if model_id is not None:
            vectors = vectors.filter(model_id=model_id)
        return self.exclude(models.Exists(vectors))


class Asset(models.Model):
    """A stored original and what is known about it. Written only by ``assets.actions``.

    Processing runs in stages (ingest, then analysis and embedding), each with a status, a claim and
    a lease:
    a worker claims an asset by writing a fresh claim token and a lease deadline, renews the
    lease while it works, and its result is written only while its token is still the claim
    (``assets.actions.pipeline``). An edit or a reprocess clears the claim, so a result computed
    from what the asset used to be is discarded instead of overwriting what came after it.
    """

    uid = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    owner = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="assets")
    team = models.ForeignKey(Team, null=True, blank=True, on_delete=models.SET_NULL, related_name="assets")
    visibility = models.CharField(max_length=16, choices=Visibility.choices, default=Visibility.PRIVATE)

    blob = models.ForeignKey(Blob, on_delete=models.PROTECT, related_name="assets")
    original_filename = models.CharField(max_length=255)
    title = models.CharField(max_length=255, blank=True)
    description = models.TextField(blank=True)
    tags = ArrayField(models.CharField(max_length=64), default=list, blank=True)
    caption = models.TextField(blank=True, help_text="Machine or editorial caption; searchable.")

    # Copies of the blob's, fixed at upload: (owner, sha256) is unique, and lists show the size.
    sha256 = models.CharField(max_length=64, db_index=True)
    mime_type = models.CharField(max_length=64)
    media_type = models.CharField(max_length=16, choices=MediaType.choices, default=MediaType.IMAGE)
    byte_size = models.BigIntegerField()
    width = models.PositiveIntegerField(null=True, blank=True)
    height = models.PositiveIntegerField(null=True, blank=True)
    duration = models.FloatField(null=True, blank=True, help_text="Seconds, for video and audio.")
    # What the upload's probe found (codecs, frame rate, page count, tags); ingest adds to it.
    media_info = models.JSONField(default=dict, blank=True)

    exif = models.JSONField(default=dict, blank=True)
    camera_make = models.CharField(max_length=128, blank=True)
    camera_model = models.CharField(max_length=128, blank=True)
    lens = models.CharField(max_length=128, blank=True)
    taken_at = models.DateTimeField(null=True, blank=True, db_index=True)
    gps_latitude = models.FloatField(null=True, blank=True)
    gps_longitude = models.FloatField(null=True, blank=True)
    orientation = models.PositiveSmallIntegerField(null=True, blank=True)

    # Ingest stage: metadata and thumbnails.
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.PENDING, db_index=True)
    error = models.TextField(blank=True)
    status_changed_at = models.DateTimeField(auto_now_add=True)
    processing_attempts = models.PositiveIntegerField(default=0)
    ingest_claim = models.UUIDField(null=True, blank=True, editable=False)
    ingest_lease_until = models.DateTimeField(null=True, blank=True, editable=False)
    # How far a long ingest step (a video's playable copy) has got, 0..1; None when not measured.
    ingest_progress = models.FloatField(null=True, blank=True, editable=False)

    # Embedding stage: vectors of the active models.
    embedding_status = models.CharField(
        max_length=16, choices=EmbeddingStatus.choices, default=EmbeddingStatus.PENDING, db_index=True
    )
    embedding_error = models.TextField(blank=True)
    embedding_changed_at = models.DateTimeField(null=True, blank=True)
    embedding_attempts = models.PositiveIntegerField(default=0)
    embedding_claim = models.UUIDField(null=True, blank=True, editable=False)
    embedding_lease_until = models.DateTimeField(null=True, blank=True, editable=False)

    # Analysis stage: detected text, labels, faces, colours, place and date words (assets.Analysis).
    analysis_status = models.CharField(
        max_length=16, choices=AnalysisStatus.choices, default=AnalysisStatus.PENDING, db_index=True
    )
    analysis_error = models.TextField(blank=True)
    analysis_changed_at = models.DateTimeField(null=True, blank=True)
    analysis_attempts = models.PositiveIntegerField(default=0)
    analysis_claim = models.UUIDField(null=True, blank=True, editable=False)
    analysis_lease_until = models.DateTimeField(null=True, blank=True, editable=False)

    # When the asset's next step was last sent to the broker: the sweeper re-sends what waited too long.
    queued_at = models.DateTimeField(null=True, blank=True, editable=False)

    deleted_at = models.DateTimeField(null=True, blank=True, db_index=True)
    deleted_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    created_at = models.DateTimeField(auto_now_add=True, db_index=True)
    updated_at = models.DateTimeField(auto_now=True)

    objects = AssetQuerySet.as_manager()

    class Meta:
        app_label = "assets"
        ordering = ["-created_at", "-id"]
        constraints = [
            # Same bytes from the same owner are one asset; the constraint settles upload races.
            models.UniqueConstraint(fields=["owner", "sha256"], name="unique_owner_content"),
            models.CheckConstraint(
                condition=~Q(visibility="team") | Q(team__isnull=False), name="team_visibility_needs_team"
            ),
        ]
        indexes = [GinIndex(fields=["tags"], name="asset_tags_gin")]

    def __str__(self) -> str:
        return self.title or self.original_filename

    @property
    def in_trash(self) -> bool:
        return self.deleted_at is not None

    def is_editable_by(self, user) -> bool:
        return Asset.objects.editable_by(user).filter(pk=self.pk).exists()

    def picture_blob(self) -> Blob | None:
        """The file whose picture stands for this asset (what image vectors are made from): a photo's
        original, a video's poster or a document's first page (their largest thumbnail); None for
        a sound, or before ingest has made the thumbnail."""
        if self.media_type == MediaType.IMAGE:
            return self.blob
        if self.media_type == MediaType.AUDIO:
            return None
        thumbnails = [thumbnail_spec(size) for size in settings.RENDITION_SIZES]
        rendition = (self.renditions.select_related("blob").filter(spec__in=thumbnails)
                     .order_by("-width", "-height").first())
        return rendition.blob if rendition is not None else None

    def document_text(self) -> str:
        """What text models and the reranker read for this asset (assets.documents)."""
        from assets.documents import document_text

        return document_text(self)


class Embedding(models.Model):
    """One vector of one asset from one model. Vectors of different models are never compared.

    The column has no fixed dimension so several models can coexist during a migration; each
    (kind, model_id) gets its own partial HNSW index over ``vector::halfvec(dim)``
    (see assets.vector_index).
    """

    asset = models.ForeignKey(Asset, on_delete=models.CASCADE, related_name="embeddings")
    kind = models.CharField(max_length=16, choices=EmbeddingKind.choices)
    model_id = models.CharField(max_length=255)
    dim = models.PositiveIntegerField()
    vector = HalfVectorField()
    # For text vectors: hash of the document text it was computed from, to spot stale vectors.
    source_hash = models.CharField(max_length=64, blank=True)
    created_at = models.DateTimeField(auto_now=True)

    class Meta:
        app_label = "assets"
        constraints = [
            models.UniqueConstraint(fields=["asset", "kind", "model_id"], name="unique_embedding_per_model")
        ]
        indexes = [models.Index(fields=["kind", "model_id"], name="embedding_kind_model")]

    def __str__(self) -> str:
        return f"{self.asset_id}:{self.kind}:{self.model_id}"


class Rendition(models.Model):
    """A derived file (thumbnail) of an asset; one row per (asset, spec), its bytes a blob."""

    asset = models.ForeignKey(Asset, on_delete=models.CASCADE, related_name="renditions")
    spec = models.CharField(max_length=32)
    blob = models.ForeignKey(Blob, on_delete=models.PROTECT, related_name="renditions")
    width = models.PositiveIntegerField()
    height = models.PositiveIntegerField()
    mime_type = models.CharField(max_length=64, default="image/jpeg")

    class Meta:
        app_label = "assets"
        constraints = [models.UniqueConstraint(fields=["asset", "spec"], name="unique_rendition")]

    def __str__(self) -> str:
        return f"{self.asset_id}:{self.spec}"


# How workers report a kind this install does not use (workers.ml.registry says the same; the web
# never imports it, since it imports torch).
NOT_CONFIGURED = "not configured"
ANALYSER_PREFIX = "analyser:"  # ActiveModel rows of the analysers, beside the model kinds


class ActiveModel(models.Model):
    """Which model serves each kind, as the workers last reported it.

    Web processes read this instead of loading models: the health endpoint, the status page,
    and "which assets miss a vector of the active model" all come from here.
    """

    kind = models.CharField(max_length=40, unique=True)  # a model kind, or "analyser:<name>"
    available = models.BooleanField(default=False)
    model_id = models.CharField(max_length=255, blank=True)
    # The settings that build this model (workers.ml.registry.spec_of): what a model switch keeps so
    # the realtime worker can go on encoding queries with the previous model.
    spec = models.JSONField(default=dict, blank=True)
    dim = models.PositiveIntegerField(null=True, blank=True)
    device = models.CharField(max_length=32, blank=True)
    dtype = models.CharField(max_length=32, blank=True)
    reason = models.TextField(blank=True)
    worker = models.CharField(max_length=255, blank=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        app_label = "assets"
        ordering = ["kind"]

    def __str__(self) -> str:
        return f"{self.kind}: {self.model_id or 'unavailable'}"

    @classmethod
    def model_id_for(cls, kind: str) -> str | None:
        """The model the workers are configured with (the one new vectors come from)."""
        row = cls.objects.filter(kind=kind, available=True).values_list("model_id", flat=True).first()
        return row

    @property
    def off(self) -> bool:
        """A kind this install does not use (left unconfigured, or CLIP turned off)."""
        return not self.available and self.reason.startswith(NOT_CONFIGURED)

    @classmethod
    def serving_model_id(cls, kind: str) -> str | None:
        """The model whose vectors search reads: the previous one while a switch away from it runs
        (or was abandoned), else the configured one."""
        switch = ModelSwitch.serving_switch(kind)
        return switch.from_model_id if switch is not None else cls.model_id_for(kind)


class SwitchState(models.TextChoices):
    RUNNING = "running", "Running"  # new vectors being computed; search on the previous model
    ABANDONED = "abandoned", "Abandoned"  # stopped; search stays on the previous model
    FINISHED = "finished", "Finished"  # search on the new model
    ENDED = "ended", "Ended"  # the configuration changed again (back to the previous model, or on to another)


# A switch that is open keeps search on its previous model.
OPEN_SWITCH_STATES = (SwitchState.RUNNING, SwitchState.ABANDONED)


class ModelSwitch(models.Model):
    """One kind's move from the model search serves to a newly configured one, without a moment
    of empty search: the new model's vectors are computed in the background while search keeps
    reading the previous model's, and search moves over once they cover every asset that should
    have one (or when an administrator finishes the switch). Written by
    ``assets.actions.switches`` only."""

    kind = models.CharField(max_length=16)
    from_model_id = models.CharField(max_length=255)
    from_spec = models.JSONField(default=dict)  # ActiveModel.spec of the previous model
    to_model_id = models.CharField(max_length=255)
    state = models.CharField(max_length=16, choices=SwitchState.choices, default=SwitchState.RUNNING)
    started_at = models.DateTimeField(auto_now_add=True)
    ended_at = models.DateTimeField(null=True, blank=True)
    ended_by = models.CharField(max_length=150, blank=True)  # who finished or abandoned it ("" when it completed)
    # When the previous model's vectors were dropped after a finish (a grace period later: a query
    # encoded by it just before the finish still finds its vectors).
    cleaned_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        app_label = "assets"
        ordering = ["-started_at", "-pk"]
        constraints = [
            models.UniqueConstraint(fields=["kind"], condition=models.Q(state__in=[str(state) for state in
                                                                                 OPEN_SWITCH_STATES]),
                                    name="one_open_switch_per_kind"),
        ]

    def __str__(self) -> str:
        return f"{self.kind}: {self.from_model_id} -> {self.to_model_id} ({self.state})"

    @classmethod
    def serving_switch(cls, kind: str) -> ModelSwitch | None:
        """The open switch of `kind` (running or abandoned): search serves its previous model."""
        return cls.objects.filter(kind=kind, state__in=OPEN_SWITCH_STATES).first()
