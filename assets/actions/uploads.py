"""Uploads: validate a file, store it as a blob and create its asset, or say why not.

Every door (portal, API, bulk, zip archives, import_media) comes here. A rejected file leaves
neither row nor file; one bad file never stops the others of a bulk upload.
"""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from typing import BinaryIO

from django.conf import settings
from django.db import IntegrityError, transaction
from django.utils import timezone

from assets import archives, filenames, filetypes, inspection, keyword_index, queue
from assets.actions import audit, blobs, permissions
from assets.actions.deletion import restore_locked
from assets.errors import RejectedUpload
from assets.models import Asset, BlobStore, Team, Visibility

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
    reason = permissions.filing_refusal(user, options.team, options.visibility)
    if reason:
        raise RejectedUpload(reason)


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
        # The type from the first bytes before anything reads the whole file: most refusals cost nothing.
        stream.seek(0)
        head = stream.read(filetypes.SIGNATURE_BYTES)
        if not head:
            raise RejectedUpload("file is empty")
        filetype = filetypes.check(head)
        sha256, size = _hash(stream)
        if size == 0:
            raise RejectedUpload("file is empty")
        existing = Asset.objects.filter(owner=user, sha256=sha256).first()
        if existing is not None and not existing.in_trash:
            return UploadResult(name, "duplicate", existing, "you already uploaded this file")
        info = inspection.inspect_upload(stream, filetype)
        return _store(user, stream, name, sha256, size, info, options)
    except RejectedUpload as exc:
        return UploadResult(shown_name, "rejected", reason=exc.reason)


def _store(user, stream, name, sha256, size, info: inspection.MediaInfo, options: AssetOptions) -> UploadResult:
    try:
        with blobs.new_files() as written, transaction.atomic():
            # Lock order: the asset row (a trashed copy of these bytes), then the blob, then the index.
            existing = Asset.objects.select_for_update().filter(owner=user, sha256=sha256).first()
            if existing is not None:
                if not existing.in_trash:
                    return UploadResult(name, "duplicate", existing, "you already uploaded this file")
                restore_locked(user, [existing])
                return UploadResult(name, "duplicate", existing, "this file was in your trash: restored it")
            blob = blobs.store(
                BlobStore.ORIGINAL, stream, sha256=sha256, size=size, mime_type=info.mime_type, written=written
            )
            asset = Asset.objects.create(
                owner=user,
                team=options.team,
                visibility=options.visibility,
                blob=blob,
                original_filename=name,
                title=options.title or filenames.title_from_filename(name),
                description=options.description,
                tags=list(options.tags),
                sha256=sha256,
                mime_type=info.mime_type,
                media_type=info.media_type,
                byte_size=size,
                width=info.width,
                height=info.height,
                duration=info.duration,
                media_info=info.details,
                queued_at=timezone.now(),
            )
            keyword_index.reindex([asset.pk])
            queue.ingest_on_commit([asset.pk])
            audit.record(
                user, "asset.uploaded", asset,
                changes=audit.diff({}, {"title": asset.title, "tags": asset.tags, "team": asset.team,
                                        "visibility": asset.visibility}),
                detail={"filename": name, "sha256": sha256, "bytes": size, "mime_type": info.mime_type},
            )
    except IntegrityError:
        # A concurrent upload of the same bytes by the same owner won the race (its file stays, ours went).
        existing = Asset.objects.filter(owner=user, sha256=sha256).first()
        if existing is None:
            raise
        return UploadResult(name, "duplicate", existing, "you already uploaded this file")
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
