"""Stored files as rows: the only code that writes or removes a file in storage.

Locking, so that a file in use or about to be used is never removed:
- `store` locks the content's blob row (or inserts it) in the caller's transaction; a new asset
  or rendition row then references it before the lock is released at commit.
- `release` locks the blob rows first, then removes those no row references any more, and their
  files only once that has committed. A concurrent upload of the same bytes either got its lock
  first (and its reference is seen) or finds the row gone and writes a blob of its own, under a
  name of its own (see Blob), which the late removal of the old file cannot touch.
- Lock order in every action: asset rows, then blob rows, then the keyword index lock.

A crash between writing a file and committing its row leaves an orphan file; `remove_orphans`
(scheduled) deletes orphans older than a grace period, and `verify` reports what is wrong.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import logging
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field

from django.conf import settings
from django.core.files.base import ContentFile, File
from django.db import IntegrityError, transaction
from django.db.models import Exists, OuterRef
from django.utils import timezone

from assets.models import Asset, Blob, Rendition
from assets.storage import FOLDERS, blob_name, storage_for

log = logging.getLogger(__name__)


@contextmanager
def new_files() -> Iterator[list[tuple[str, str]]]:
    """Collects the (store, name) of files written inside; removes them if the block fails.

    Wrap it around the transaction (``with new_files() as written, transaction.atomic():``) so a
    failed commit is caught too. A process that dies here leaves orphans for `remove_orphans`.
    """
    written: list[tuple[str, str]] = []
    try:
        yield written
    except BaseException:
        for store, name in written:
            try:
                storage_for(store).delete(name)
            except Exception:  # the orphan sweep will catch what this cannot remove
                log.exception("could not remove %s after a failed write", name)
        raise


def store(store: str, content, *, sha256: str, size: int, mime_type: str, written: list) -> Blob:
    """The blob of this content, locked until the caller's transaction ends; the file is written
    only when no blob holds these bytes yet. `content` is a file object or bytes."""
    blob = Blob.objects.select_for_update().filter(store=store, sha256=sha256).first()
    storage = storage_for(store)
    if isinstance(content, bytes):
        content = ContentFile(content)
    else:
        content.seek(0)
        content = File(content)
    if blob is not None:
        if not storage.exists(blob.name):
            # The row outlived its file (lost storage, a restore from backup): these bytes heal it.
            log.warning("blob %s was missing from storage; written again from an upload", blob.name)
            saved = storage.save(blob.name, content)
            written.append((store, saved))
            if saved != blob.name:
                Blob.objects.filter(pk=blob.pk).update(name=saved)
                blob.name = saved
        return blob
    name = storage.save(blob_name(store, sha256, mime_type), content)
    written.append((store, name))
    try:
        # A savepoint: losing the race below must not abort the caller's transaction.
        with transaction.atomic():
            return Blob.objects.create(store=store, sha256=sha256, size=size, name=name, mime_type=mime_type)
    except IntegrityError:
        # Another transaction stored the same bytes while this one wrote them: use its blob.
        storage.delete(name)
        written.remove((store, name))
        return Blob.objects.select_for_update().get(store=store, sha256=sha256)


def store_bytes(store_name: str, data: bytes, mime_type: str, written: list) -> Blob:
    digest = hashlib.sha256(data).hexdigest()
    return store(store_name, data, sha256=digest, size=len(data), mime_type=mime_type, written=written)


def store_file(store_name: str, handle, mime_type: str, written: list) -> Blob:
    """`store` for a file too large to hold in memory (a video's playable copy): hashed as it is read."""
    handle.seek(0)
    sha256, size = _file_digest(handle)
    return store(store_name, handle, sha256=sha256, size=size, mime_type=mime_type, written=written)


def lock(blob_ids: Iterable[int]) -> list[Blob]:
    """Lock these blob rows (in id order) before removing rows that reference them."""
    return list(Blob.objects.select_for_update().filter(pk__in=set(blob_ids)).order_by("pk"))


def _unreferenced():
    return Blob.objects.filter(
        ~Exists(Asset.objects.filter(blob=OuterRef("pk"))), ~Exists(Rendition.objects.filter(blob=OuterRef("pk")))
    )


def release(blobs: list[Blob]) -> int:
    """Remove the blobs (locked with `lock`) that nothing references now; files go after commit."""
    gone = list(_unreferenced().filter(pk__in=[b.pk for b in blobs]).values_list("pk", "store", "name"))
    if not gone:
        return 0
    Blob.objects.filter(pk__in=[pk for pk, _, _ in gone]).delete()

    def remove_files() -> None:
        for _, store_name, name in gone:
            storage_for(store_name).delete(name)

    transaction.on_commit(remove_files, robust=True)
    return len(gone)


# --- Orphans and verification ---------------------------------------------------------------


def _walk(storage, folder: str) -> Iterator[str]:
    try:
        directories, files = storage.listdir(folder)
    except FileNotFoundError:
        return
    for name in files:
        yield f"{folder}/{name}"
    for directory in directories:
        yield from _walk(storage, f"{folder}/{directory}")


def stored_files() -> Iterator[tuple[str, str]]:
    """(store, name) of every file in the blob folders of storage."""
    for store_name, folder in FOLDERS.items():
        storage = storage_for(store_name)
        for name in _walk(storage, folder):
            yield store_name, name


def _age(storage, name: str, now: dt.datetime) -> dt.timedelta:
    try:
        return now - storage.get_modified_time(name)
    except (FileNotFoundError, NotImplementedError):
        return dt.timedelta(0)


def orphans(grace: dt.timedelta | None = None, now: dt.datetime | None = None) -> list[tuple[str, str]]:
    """Files no blob row names, older than `grace` (None: every one)."""
    now = now or timezone.now()
    known = set(Blob.objects.values_list("name", flat=True))
    found = []
    for store_name, name in stored_files():
        if name in known:
            continue
        if grace is None or _age(storage_for(store_name), name, now) >= grace:
            found.append((store_name, name))
    return found


def remove_orphans(now: dt.datetime | None = None) -> dict[str, int]:
    """Delete orphan files past the grace period and blob rows nothing has referenced for as long."""
    now = now or timezone.now()
    grace = dt.timedelta(seconds=settings.ORPHAN_GRACE_S)
    files = orphans(grace, now)
    for store_name, name in files:
        # Checked again one by one: an upload may have committed its row since the listing.
        if not Blob.objects.filter(name=name).exists():
            storage_for(store_name).delete(name)
    with transaction.atomic():
        idle = list(_unreferenced().filter(created_at__lt=now - grace).values_list("pk", flat=True))
        removed = release(lock(idle)) if idle else 0
    return {"files": len(files), "blobs": removed}


@dataclass
class StorageReport:
    missing: list[str] = field(default_factory=list)  # blob rows whose file is gone
    mismatched: list[str] = field(default_factory=list)  # files whose bytes are not their blob's
    orphans: list[str] = field(default_factory=list)  # files without a row, past the grace period
    recent_orphans: list[str] = field(default_factory=list)  # the same, younger (maybe an upload in flight)
    unreferenced: list[str] = field(default_factory=list)  # blob rows no asset or rendition uses
    checked: int = 0

    @property
    def ok(self) -> bool:
        return not (self.missing or self.mismatched or self.orphans)


def _file_digest(handle) -> tuple[str, int]:
    digest, size = hashlib.sha256(), 0
    while chunk := handle.read(1024 * 1024):
        digest.update(chunk)
        size += len(chunk)
    return digest.hexdigest(), size


def _digest(storage, name: str) -> tuple[str, int]:
    with storage.open(name, "rb") as handle:
        return _file_digest(handle)


def verify(checksums: bool = True, progress=None) -> StorageReport:
    """Compare blob rows and storage: every row has its file (with its bytes), every file its row."""
    report = StorageReport()
    now = timezone.now()
    grace = dt.timedelta(seconds=settings.ORPHAN_GRACE_S)
    for blob in Blob.objects.order_by("pk").iterator():
        storage = storage_for(blob.store)
        report.checked += 1
        if progress:
            progress(blob)
        if not storage.exists(blob.name):
            report.missing.append(blob.name)
        elif checksums and _digest(storage, blob.name) != (blob.sha256, blob.size):
            report.mismatched.append(blob.name)
    for store_name, name in orphans(None, now):
        old = _age(storage_for(store_name), name, now) >= grace
        (report.orphans if old else report.recent_orphans).append(name)
    report.unreferenced = list(_unreferenced().values_list("name", flat=True))
    return report
