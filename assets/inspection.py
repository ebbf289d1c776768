"""Validate an upload by its sniffed type and say what it holds, before anything is stored.

Images are decoded (assets.imaging), video and audio probed with FFmpeg (assets.av_probe), PDFs
opened with PDFium (assets.pdf); each raises RejectedUpload with a readable reason. What comes
back is what the asset row records at upload: its media type, MIME type, size and duration, and
the probe's details (codecs, page count, tags), which ingest reads again from the stored file.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import BinaryIO

from assets import filetypes, imaging


@dataclass(frozen=True)
class MediaInfo:
    media_type: str  # image | video | audio | document
    mime_type: str
    width: int | None = None
    height: int | None = None
    duration: float | None = None  # seconds, for video and audio
    details: dict = field(default_factory=dict)


def inspect_upload(stream: BinaryIO, filetype: filetypes.FileType) -> MediaInfo:
    if filetype.kind == filetypes.AV:
        from assets import av_probe

        av = av_probe.probe(stream, filetype.demuxer)
        return MediaInfo(av.media_type, av.mime_type, av.width, av.height, av.duration, av.as_json())
    if filetype.kind == filetypes.PDF:
        from assets import pdf

        document = pdf.inspect_pdf(stream)
        return MediaInfo("document", "application/pdf", document.width, document.height, None, document.as_json())
    image = imaging.inspect_image(stream)
    return MediaInfo("image", image.mime_type, image.width, image.height)
