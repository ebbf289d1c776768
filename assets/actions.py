"""Named service functions that change assets. Views and commands validate, then call these."""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from typing import BinaryIO

from django.conf import settings
from django.db import IntegrityError, transaction
from django.utils import timezone

from assets import archives, filenames, imaging, queue
from assets.errors import RejectedUpload
from assets.models import EDIT_ROLES, Asset, EmbeddingStatus, Membership, Status, Team, Visibility
from assets.storage import get_original_storage, get_rendition_storage

log = logging.getLogger(__name__)


@dataclass
class AssetOptions:
    """What the uploader says about the files; the same for every file of one request."""

    title: str = ""
    description: str = ""
    tags: list[str] = field(default_factory=list)
    team: Team | None = None
    visibility: str = Visibility.PRIVATE


@dataclass
class UploadResult:
    filename: str
    status: str  # created | duplicate | rejected
    asset: Asset | None = None
    reason: str = ""

    def as_dict(self) -> dict:
        return {
            "filename": self.filename,
            "status": self.status,
            "id": self.asset.pk if self.asset else None,
            "reason": self.reason,
        }


def check_options(user, options: AssetOptions) -> None:
    """Raise RejectedUpload when this user may not file assets this way."""
    if options.visibility not in Visibility.values:
        raise RejectedUpload(f"visibility must be one of {', '.join(Visibility.values)}")
    if options.visibility == Visibility.TEAM and options.team is None:
        raise RejectedUpload("team visibility needs a team")
    if options.team is not None and not user.is_superuser:
        allowed = Membership.objects.filter(user=user, team=options.team, role__in=EDIT_ROLES).exists()
        if not allowed:
            raise RejectedUpload("you are not an editor or manager of that team")


def _hash(stream: BinaryIO) -> tuple[str, int]:
    digest = hashlib.sha256()
    size = 0
    stream.seek(0)
    while chunk := stream.read(1024 * 1024):
        digest.update(chunk)
        size += len(chunk)
        if size > settings.MAX_UPLOAD_BYTES:
            raise RejectedUpload(f"file is larger than the limit of {settings.MAX_UPLOAD_BYTES:,} bytes")
    stream.seek(0)
    return digest.hexdigest(), size


def upload_asset(user, stream: BinaryIO, raw_filename: str | None, options: AssetOptions) -> UploadResult:
    """Validate one file and store it as an asset, or say why not. Leaves nothing behind on rejection."""
    shown_name = (raw_filename or "")[:255]
    try:
        name = filenames.clean_filename(raw_filename)
        size = getattr(stream, "size", None)
        if size is not None and size > settings.MAX_UPLOAD_BYTES:
            raise RejectedUpload(f"file is larger than the limit of {settings.MAX_UPLOAD_BYTES:,} bytes")
        sha256, size = _hash(stream)
        if size == 0:
            raise RejectedUpload("file is empty")
        existing = Asset.objects.filter(owner=user, sha256=sha256).first()
        if existing:
            return UploadResult(name, "duplicate", existing, "you already uploaded this file")
        info = imaging.inspect_image(stream)
        return _store(user, stream, name, sha256, size, info, options)
    except RejectedUpload as exc:
        return UploadResult(shown_name, "rejected", reason=exc.reason)


def _store(user, stream, name, sha256, size, info: imaging.ImageInfo, options: AssetOptions) -> UploadResult:
    asset = Asset(
        owner=user,
        team=options.team,
        visibility=options.visibility,
        original_filename=name,
        title=options.title or filenames.title_from_filename(name),
        description=options.description,
        tags=list(options.tags),
        sha256=sha256,
        mime_type=info.mime_type,
        byte_size=size,
        width=info.width,
        height=info.height,
    )
    storage = get_original_storage()
    target = asset.file.field.generate_filename(asset, name)
    wrote_file = False
    try:
        with transaction.atomic():
            # Content addressing: another owner's identical upload already put these bytes here.
            if storage.exists(target):
                asset.file.name = target
            else:
                stream.seek(0)
                asset.file.name = storage.save(target, stream)
                wrote_file = True
            asset.save()
            queue.enqueue_ingest_on_commit(asset.pk)
    except IntegrityError:
        # A concurrent upload of the same bytes by the same owner won the race.
        if wrote_file:
            # storage.save may have picked another name than target when a racing upload wrote it first.
            _delete_original_if_unused(asset.file.name)
        existing = Asset.objects.filter(owner=user, sha256=sha256).first()
        if existing is None:
            raise
        return UploadResult(name, "duplicate", existing, "you already uploaded this file")
    except BaseException:
        if wrote_file:
            _delete_original_if_unused(asset.file.name)
        raise
    return UploadResult(name, "created", asset)


def upload_many(user, files: Iterable[tuple[str | None, BinaryIO]], options: AssetOptions) -> Iterator[UploadResult]:
    """Bulk upload: plain files and zip archives; one bad file never stops the others."""
    for raw_name, stream in files:
        if archives.is_zip(stream):
            yield from _upload_archive(user, raw_name, stream, options)
        else:
            yield upload_asset(user, stream, raw_name, options)


def _upload_archive(user, raw_name, stream, options) -> Iterator[UploadResult]:
    try:
        archive = archives.open_archive(stream)
    except RejectedUpload as exc:
        yield UploadResult(raw_name or "archive.zip", "rejected", reason=exc.reason)
        return
    members = 0
    with archive:
        for member in archives.iter_members(archive):
            members += 1
            shown = f"{raw_name}/{member.path}" if raw_name else member.path
            if member.file is None:
                yield UploadResult(shown, "rejected", reason=member.error or "unreadable entry")
                continue
            with member.file:
                result = upload_asset(user, member.file, member.filename, options)
            result.filename = shown
            yield result
    if not members:
        # An empty archive (or one of folders and dot files only) must not vanish from the report.
        yield UploadResult(raw_name or "archive.zip", "rejected", reason="archive holds no files")


def _delete_original_if_unused(name: str) -> None:
    if not Asset.objects.filter(file=name).exists():
        get_original_storage().delete(name)


def delete_asset(asset: Asset) -> None:
    """Delete the row now and its files once the deletion has committed."""
    original = asset.file.name
    rendition_names = [r.file.name for r in asset.renditions.all() if r.file]
    with transaction.atomic():
        asset.delete()

        def remove_files() -> None:
            _delete_original_if_unused(original)
            storage = get_rendition_storage()
            for rendition_name in rendition_names:
                storage.delete(rendition_name)

        transaction.on_commit(remove_files)


def reprocess_asset(asset: Asset) -> None:
    """Redo metadata, thumbnails and then any missing or stale vectors."""
    with transaction.atomic():
        Asset.objects.filter(pk=asset.pk).update(
            status=Status.PENDING, error="", status_changed_at=timezone.now(), processing_attempts=0,
            embedding_status=EmbeddingStatus.PENDING, embedding_error="",
        )
        queue.enqueue_ingest_on_commit(asset.pk)


def request_embedding(asset_ids: list[int]) -> int:
    """Mark assets for (re-)embedding; the embed step skips vectors that are already current."""
    with transaction.atomic():
        count = Asset.objects.filter(pk__in=asset_ids, status=Status.READY).update(
            embedding_status=EmbeddingStatus.PENDING, embedding_error="", embedding_changed_at=timezone.now()
        )
        if count:
            queue.enqueue_embed_on_commit(list(asset_ids))
    return count


TEXT_FIELDS = ("title", "description", "tags", "caption")


def update_asset(asset: Asset, changes: dict) -> Asset:
    """Save edited metadata; when searchable text changed, its text vector is recomputed."""
    text_changed = any(key in changes and changes[key] != getattr(asset, key) for key in TEXT_FIELDS)
    for key, value in changes.items():
        setattr(asset, key, value)
    with transaction.atomic():
        # Only the edited columns: a worker may be writing status or EXIF to the same row right now.
        asset.save(update_fields=[*changes, "updated_at"])
        if text_changed:
            request_embedding([asset.pk])
    return asset
