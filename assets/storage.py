"""Where files live. Names are derived from content, never from what the client called the file."""

from __future__ import annotations

import uuid

from django.core.files.storage import Storage, storages

EXTENSIONS = {
    "image/jpeg": "jpg",
    "image/png": "png",
    "image/webp": "webp",
    "image/gif": "gif",
    "image/tiff": "tif",
    "image/heic": "heic",
    "image/heif": "heif",
    "video/mp4": "mp4",
    "video/quicktime": "mov",
    "video/webm": "webm",
    "video/x-matroska": "mkv",
    "audio/mpeg": "mp3",
    "audio/mp4": "m4a",
    "audio/aac": "aac",
    "audio/wav": "wav",
    "audio/flac": "flac",
    "audio/ogg": "ogg",
    "audio/webm": "webm",
    "application/pdf": "pdf",
}

# The top folder of each blob store: orphan sweeps and verify_storage walk these.
FOLDERS = {"original": "originals", "rendition": "renditions"}


def extension_for(mime_type: str) -> str:
    return EXTENSIONS.get(mime_type, "bin")


def blob_name(store: str, sha256: str, mime_type: str) -> str:
    """A new, never reused name for content `sha256`: its hash, then a random part (see Blob)."""
    nonce = uuid.uuid4().hex[:10]
    return f"{FOLDERS[store]}/{sha256[:2]}/{sha256[2:4]}/{sha256}-{nonce}.{extension_for(mime_type)}"


def get_original_storage() -> Storage:
    return storages["default"]


def get_rendition_storage() -> Storage:
    # One seam to move thumbnails to another backend (e.g. a CDN-fronted bucket) later.
    return storages["default"]


def storage_for(store: str) -> Storage:
    return get_rendition_storage() if store == "rendition" else get_original_storage()
