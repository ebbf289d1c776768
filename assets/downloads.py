"""Serving stored files. Only reached through views that have already checked visibility."""

from django.http import FileResponse, Http404
from django.utils.http import content_disposition_header

from assets.models import Blob


def serve_file(blob: Blob, *, filename: str, mime_type: str, attachment: bool) -> FileResponse:
    try:
        handle = blob.open()
    except FileNotFoundError:
        raise Http404("file is missing from storage") from None
    response = FileResponse(handle, content_type=mime_type)
    # content_disposition_header encodes any Unicode name safely (RFC 6266 filename*).
    response["Content-Disposition"] = content_disposition_header(attachment, filename)
    response["X-Content-Type-Options"] = "nosniff"
    response["Content-Security-Policy"] = "default-src 'none'; img-src 'self'; sandbox"
    response["Cache-Control"] = "private, max-age=3600"
    return response
