"""Zip archives in bulk uploads: refuse hostile archives whole, then hand out members one by one."""

from __future__ import annotations

import io
import posixpath
import re
import tempfile
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass
from typing import BinaryIO

from django.conf import settings

from assets.errors import RejectedUpload
from assets.filetypes import SIGNATURE_BYTES, sniff

_DRIVE = re.compile(r"^[A-Za-z]:")
_CHUNK = 1024 * 1024


def is_zip(stream: BinaryIO) -> bool:
    stream.seek(0)
    head = stream.read(4)
    stream.seek(0)
    return head in (b"PK\x03\x04", b"PK\x05\x06")


@dataclass
class Member:
    path: str  # the name inside the archive, for reporting
    filename: str  # the last path component, kept as the asset's original file name
    file: BinaryIO | None
    error: str | None = None


def _check_name(name: str) -> None:
    if name.startswith(("/", "\\")) or _DRIVE.match(name):
        raise RejectedUpload(f"archive entry {name!r} has an absolute path")
    parts = re.split(r"[\\/]", name)
    if ".." in parts:
        raise RejectedUpload(f"archive entry {name!r} escapes the archive (path traversal)")


def _skippable(info: zipfile.ZipInfo) -> bool:
    base = posixpath.basename(info.filename.rstrip("/"))
    return info.is_dir() or info.filename.startswith("__MACOSX/") or base.startswith(".")


def open_archive(stream: BinaryIO) -> zipfile.ZipFile:
    """Open and vet the whole archive before any member becomes an asset."""
    try:
        archive = zipfile.ZipFile(stream)
        infos = archive.infolist()
    except (zipfile.BadZipFile, OSError, ValueError) as exc:
        raise RejectedUpload(f"not a readable zip archive ({exc})") from None
    if len(infos) > settings.MAX_ARCHIVE_ENTRIES:
        raise RejectedUpload(f"archive has {len(infos)} entries, over the limit of {settings.MAX_ARCHIVE_ENTRIES}")
    total = 0
    for info in infos:
        _check_name(info.filename)
        if info.flag_bits & 0x1:
            raise RejectedUpload(f"archive entry {info.filename!r} is encrypted")
        total += info.file_size
        ratio = info.file_size / max(info.compress_size, 1)
        if info.file_size > 1024 * 1024 and ratio > settings.MAX_ARCHIVE_RATIO:
            raise RejectedUpload(
                f"archive entry {info.filename!r} expands {ratio:.0f}x (zip bomb); limit {settings.MAX_ARCHIVE_RATIO}x"
            )
    if total > settings.MAX_ARCHIVE_BYTES:
        raise RejectedUpload(f"archive expands to {total:,} bytes, over the limit of {settings.MAX_ARCHIVE_BYTES:,}")
    return archive


def iter_members(archive: zipfile.ZipFile) -> Iterator[Member]:
    """Extract each file member to a temporary file, never trusting the sizes the headers declare.

    A member whose first bytes are no format we take is not extracted: its head alone is
    handed on, for the upload to refuse as any file of that type (2,000 members of 1 MiB zeros
    would otherwise each be inflated and hashed in the request)."""
    for info in archive.infolist():
        if _skippable(info):
            continue
        filename = posixpath.basename(info.filename.replace("\\", "/"))
        try:
            head = _head(archive, info)
            if sniff(head) is None:
                yield Member(path=info.filename, filename=filename, file=io.BytesIO(head))
                continue
            spool = _extract(archive, info)
        except RejectedUpload as exc:
            yield Member(path=info.filename, filename=filename, file=None, error=exc.reason)
            continue
        yield Member(path=info.filename, filename=filename, file=spool)


def _head(archive: zipfile.ZipFile, info: zipfile.ZipInfo) -> bytes:
    try:
        with archive.open(info) as source:
            return source.read(SIGNATURE_BYTES)
    except Exception as exc:  # the same member rejections as _extract's
        raise RejectedUpload(f"unreadable archive entry ({type(exc).__name__}: {exc})"[:300]) from None


def _extract(archive: zipfile.ZipFile, info: zipfile.ZipInfo) -> BinaryIO:
    spool = tempfile.SpooledTemporaryFile(max_size=8 * _CHUNK)  # noqa: SIM115 - returned open; the caller closes it
    written = 0
    try:
        with archive.open(info) as source:
            while chunk := source.read(_CHUNK):
                written += len(chunk)
                if written > info.file_size or written > settings.MAX_UPLOAD_BYTES:
                    raise RejectedUpload("larger than its header declares or than the upload limit")
                spool.write(chunk)
    except RejectedUpload:
        spool.close()
        raise
    except Exception as exc:
        # Broken members raise many types (BadZipFile, zlib.error, lzma.LZMAError, NotImplementedError for an
        # unknown compression method...); each is that member's rejection, never the whole request's crash.
        spool.close()
        raise RejectedUpload(f"unreadable archive entry ({type(exc).__name__}: {exc})"[:300]) from None
    spool.seek(0)
    return spool
