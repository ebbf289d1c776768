"""What an upload is, from its first bytes alone: an image, a video or audio container, or a PDF.

The claim decides which parser may read the rest: Pillow's plugin of that image format, FFmpeg's
demuxer of that container (assets.av_probe), or PDFium (assets.pdf). No other parser ever sees the
bytes, so a file cannot pick its own parser by its name or by looking like two things at once.
Whether an ISO-BMFF or Matroska file is video or audio is for the probe to say (an .m4a and an .mp4
start alike).
"""

from __future__ import annotations

from dataclasses import dataclass

from assets.errors import RejectedUpload
from assets.imaging import SIGNATURE_BYTES, sniff_signature

__all__ = ["SIGNATURE_BYTES", "FileType", "check", "sniff"]


@dataclass(frozen=True)
class FileType:
    name: str  # "JPEG", "MP4", "MATROSKA", "PDF", ...
    kind: str  # "image", "av" (video or audio: the probe tells which) or "pdf"
    demuxer: str = ""  # FFmpeg's demuxer for "av" types


IMAGE, AV, PDF = "image", "av", "pdf"

# ISO base media brands that are still pictures (HEIF is taken by Pillow; AVIF is on no list of ours).
_PICTURE_BRANDS = {b"avif", b"avis"}
# QuickTime files from before `ftyp` existed start with one of these atoms.
_QUICKTIME_ATOMS = {b"moov", b"mdat", b"wide", b"free", b"skip", b"pnot"}

UNSUPPORTED = (
    "unsupported file type: not a JPEG, PNG, WebP, GIF, TIFF or HEIC/HEIF image, an MP4, MOV, WebM or MKV "
    "video, an MP3, AAC, M4A, WAV, FLAC or Ogg audio file, or a PDF document"
)


def _mpeg_audio(head: bytes) -> str | None:
    """MPEG audio without an ID3 tag starts with a frame header: 11 sync bits, then the version and
    layer bits. Layer 0 is ADTS (AAC); layers 1-3 are MPEG audio (MP3 and its elders)."""
    if len(head) < 2 or head[0] != 0xFF or head[1] & 0xE0 != 0xE0:
        return None
    layer = (head[1] >> 1) & 0b11
    if layer == 0:
        return "AAC" if head[1] & 0xF6 == 0xF0 else None
    return "MP3" if (head[1] >> 3) & 0b11 != 0b01 else None  # version 01 is reserved


def sniff(head: bytes) -> FileType | None:
    """The type the leading bytes claim, or None when they claim none we take."""
    image = sniff_signature(head)
    if image is not None:
        return FileType(image, IMAGE)
    if head.startswith(b"%PDF-"):
        return FileType("PDF", PDF)
    if head[4:8] == b"ftyp":
        if head[8:12] in _PICTURE_BRANDS:
            return None
        return FileType("MP4", AV, "mov")
    if head[4:8] in _QUICKTIME_ATOMS:
        return FileType("MOV", AV, "mov")
    if head.startswith(b"\x1a\x45\xdf\xa3"):
        return FileType("MATROSKA", AV, "matroska")
    if head[:4] == b"RIFF" and head[8:12] == b"WAVE":
        return FileType("WAV", AV, "wav")
    if head.startswith(b"fLaC"):
        return FileType("FLAC", AV, "flac")
    if head.startswith(b"OggS"):
        return FileType("OGG", AV, "ogg")
    if head.startswith(b"ID3"):
        return FileType("MP3", AV, "mp3")
    frames = _mpeg_audio(head)
    if frames == "MP3":
        return FileType("MP3", AV, "mp3")
    if frames == "AAC":
        return FileType("AAC", AV, "aac")
    return None


def check(head: bytes) -> FileType:
    """The type the first bytes claim; RejectedUpload when they claim none we take."""
    claimed = sniff(head)
    if claimed is None:
        raise RejectedUpload(UNSUPPORTED)
    return claimed
