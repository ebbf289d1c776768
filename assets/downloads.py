"""Serving stored files, whole or one byte range. Only reached through views that have already
checked visibility.

Video and audio players seek with HTTP range requests (RFC 9110 §14): `Range: bytes=start-end`,
`bytes=start-` or `bytes=-suffix`. One range is answered 206 with its Content-Range; a range that
starts past the end is 416 with `Content-Range: bytes */size`; several ranges at once (multipart
answers, which no player asks for) and malformed headers get the whole file, as the RFC allows.
"""

from __future__ import annotations

import re

from django.http import FileResponse, Http404, HttpResponse, StreamingHttpResponse
from django.utils.http import content_disposition_header

from assets.models import Blob

_RANGE = re.compile(r"^bytes=(\d*)-(\d*)$")
CHUNK = 64 * 1024


class Unsatisfiable(Exception):
    pass


def requested_range(header: str | None, size: int) -> tuple[int, int] | None:
    """(first, last) byte of the one range asked for, inclusive; None for the whole file.
    Raises Unsatisfiable when the range lies wholly past the end."""
    if not header:
        return None
    match = _RANGE.match(header.strip())
    if match is None:
        return None  # several ranges, another unit, or garbage: the whole file
    first, last = match.groups()
    if not first and not last:
        return None
    if not first:  # the last N bytes
        suffix = int(last)
        if suffix == 0:
            raise Unsatisfiable
        return max(0, size - suffix), size - 1
    start = int(first)
    if start >= size:
        raise Unsatisfiable
    end = int(last) if last else size - 1
    if end < start:
        return None  # invalid: ignored, as the RFC says
    return start, min(end, size - 1)


def range_starts_file(request) -> bool:
    """Whether this request reads the file from its first byte: a new copy or a new play, as opposed
    to a player seeking within one (what the audit log counts)."""
    try:
        wanted = requested_range(request.headers.get("Range"), 1 << 62)
    except Unsatisfiable:
        return False
    return wanted is None or wanted[0] == 0


def _slice(handle, start: int, length: int):
    try:
        handle.seek(start)
        while length > 0:
            chunk = handle.read(min(CHUNK, length))
            if not chunk:
                break
            length -= len(chunk)
            yield chunk
    finally:
        handle.close()


def _headers(response, *, filename: str, attachment: bool) -> None:
    # content_disposition_header encodes any Unicode name safely (RFC 6266 filename*).
    response["Content-Disposition"] = content_disposition_header(attachment, filename)
    response["X-Content-Type-Options"] = "nosniff"
    response["Content-Security-Policy"] = "default-src 'none'; img-src 'self'; media-src 'self'; sandbox"
    response["Cache-Control"] = "private, max-age=3600"
    response["Accept-Ranges"] = "bytes"


def serve_file(blob: Blob, *, filename: str, mime_type: str, attachment: bool, request=None) -> HttpResponse:
    try:
        handle = blob.open()
    except FileNotFoundError:
        raise Http404("file is missing from storage") from None
    size = blob.size
    try:
        wanted = requested_range(request.headers.get("Range") if request is not None else None, size)
    except Unsatisfiable:
        handle.close()
        response = HttpResponse(status=416, content_type="text/plain")
        response["Content-Range"] = f"bytes */{size}"
        _headers(response, filename=filename, attachment=attachment)
        return response
    if wanted is None:
        response = FileResponse(handle, content_type=mime_type)
    else:
        start, end = wanted
        response = StreamingHttpResponse(_slice(handle, start, end - start + 1), status=206, content_type=mime_type)
        response["Content-Range"] = f"bytes {start}-{end}/{size}"
        response["Content-Length"] = str(end - start + 1)
    _headers(response, filename=filename, attachment=attachment)
    return response
