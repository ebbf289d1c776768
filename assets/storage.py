"""Where files live. Names are derived from content, never from what the client called the file."""

from django.core.files.storage import Storage, storages

EXTENSIONS = {
    "image/jpeg": "jpg",
    "image/png": "png",
    "image/webp": "webp",
    "image/gif": "gif",
    "image/tiff": "tif",
    "image/heic": "heic",
    "image/heif": "heif",
}


def original_upload_to(asset, filename: str) -> str:
    digest = asset.sha256
    return f"originals/{digest[:2]}/{digest[2:4]}/{digest}.{EXTENSIONS.get(asset.mime_type, 'bin')}"


def rendition_upload_to(rendition, filename: str) -> str:
    digest = rendition.asset.sha256
    return f"renditions/{digest[:2]}/{digest[2:4]}/{rendition.asset.uid}-{rendition.spec}.jpg"


def get_original_storage() -> Storage:
    return storages["default"]


def get_rendition_storage() -> Storage:
    # One seam to move thumbnails to another backend (e.g. a CDN-fronted bucket) later.
    return storages["default"]
