"""The assets app's models, one module per concern; every writer lives in ``assets.actions``."""

from assets.models.analysis import Analysis
from assets.models.assets import (
    ANALYSER_PREFIX,
    NOT_CONFIGURED,
    OPEN_SWITCH_STATES,
    ActiveModel,
    AnalysisStatus,
    Asset,
    AssetQuerySet,
    Embedding,
    EmbeddingKind,
    EmbeddingStatus,
    MediaType,
    ModelSwitch,
    Rendition,
    Status,
    SwitchState,
    Visibility,
)
from assets.models.audit import AuditEntry
from assets.models.blobs import Blob, BlobStore
from assets.models.collections import Collection, CollectionItem, CollectionQuerySet, CollectionShare, ShareRole
from assets.models.teams import EDIT_ROLES, Membership, Role, StaffGateQuerySet, Team

__all__ = [
    "ANALYSER_PREFIX",
    "EDIT_ROLES",
    "NOT_CONFIGURED",
    "OPEN_SWITCH_STATES",
    "ActiveModel",
    "Analysis",
    "AnalysisStatus",
    "Asset",
    "AssetQuerySet",
    "AuditEntry",
    "Blob",
    "BlobStore",
    "Collection",
    "CollectionItem",
    "CollectionQuerySet",
    "CollectionShare",
    "Embedding",
    "EmbeddingKind",
    "EmbeddingStatus",
    "MediaType",
    "Membership",
    "ModelSwitch",
    "Rendition",
    "Role",
    "ShareRole",
    "StaffGateQuerySet",
    "Status",
    "SwitchState",
    "Team",
    "Visibility",
]
