"""Decide from the bytes alone what a video or audio upload is, and refuse anything we would not
play, thumbnail or transcode safely.

The caller's byte sniffing names the demuxer; only that demuxer ever parses the bytes, and only
allowlisted decoders ever see them. The work is bounded whatever the file claims: the duration
comes from the container's header (never from demuxing the whole file), at most a few packets
are decoded, and every failure inside FFmpeg or mutagen becomes a RejectedUpload with a reason
the uploader can read, in the style of assets.imaging.
"""

from __future__ import annotations

import dataclasses
import datetime
import math
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import BinaryIO

import av
from django.conf import settings

from assets import av_lengths, av_tags
from assets.errors import RejectedUpload

VIDEO_CODECS = ("h264", "hevc", "vp8", "vp9", "av1", "mpeg4")
AUDIO_CODECS = ("aac", "mp3", "opus", "vorbis", "flac", "alac")  # and the whole pcm_* family

# What the uploader is told the file claimed to be, by demuxer.
_LABELS = {"mov": "MP4", "matroska": "WebM/MKV", "mp3": "MP3", "wav": "WAV", "flac": "FLAC", "ogg": "Ogg",
           "aac": "AAC"}
# A stream's first frame must come out of the decoder within this many of its packets (B-frame
# reordering and threading delay output by a handful; a stream that needs more is not sound).
FIRST_FRAME_PACKETS = 48
_TAIL_PACKETS = 400


@dataclass(frozen=True)
class AVInfo:
    media_type: str
    mime_type: str
    container: str
    duration: float
    width: int | None = None
    height: int | None = None
    fps: float | None = None
    video_codec: str | None = None
    audio_codec: str | None = None
    pixel_format: str | None = None
    bit_rate: int | None = None
    rotation: int = 0
    sample_rate: int | None = None
    channels: int | None = None
    created_at: datetime.datetime | None = None
    latitude: float | None = None
    longitude: float | None = None
    tags: dict[str, str] = field(default_factory=dict)

    def as_json(self) -> dict:
        data = dataclasses.asdict(self)
        if self.created_at is not None:
            data["created_at"] = self.created_at.isoformat()
        return data


# --- Opening: shared with av_frames and av_proxy ---------------------------------------------------


def open_input(stream: BinaryIO, demuxer: str) -> av.container.InputContainer:
    """`stream` opened with exactly `demuxer` (no format probing, so no other demuxer is reached).
    Tags that are not UTF-8 (Latin-1 taggers) are decoded with replacement, not refused."""
    stream.seek(0)
    return av.open(stream, mode="r", format=demuxer, metadata_errors="replace")


def guard_decoder(stream: av.stream.Stream) -> None:
    """Make the decoder itself refuse frames over the pixel limit, whatever a later packet says
    (the header was checked, but a stream may change size mid-way). Decoders check their coded
    size, padded to whole macroblocks or superblocks (up to 128 pixels), hence the margin."""
    codec = stream.codec_context
    if codec is None or codec.is_open or codec.type != "video":
        return
    margin = 128 * (codec.width + codec.height) + 128 * 128
    codec.options = {**codec.options, "max_pixels": str(settings.MAX_VIDEO_PIXELS + margin)}


def readable_packets(container, streams) -> Iterator[av.Packet]:
    """The streams' packets in file order, ending quietly where the file stops being readable (a
    damaged packet header mid-way ends playback in players too, it does not void what came before)."""
    packets = container.demux(streams)
    while True:
        try:
            packet = next(packets)
        except (StopIteration, av.FFmpegError):
            return
        yield packet


def primary_streams(container) -> tuple[av.video.stream.VideoStream | None, av.audio.stream.AudioStream | None]:
    """The first real video stream (cover art is not one) and the first audio stream."""
    videos = [s for s in container.streams.video if not _is_cover_art(s)]
    audios = list(container.streams.audio)
    return (videos[0] if videos else None), (audios[0] if audios else None)


def _is_cover_art(stream) -> bool:
    still = av.stream.Disposition.attached_pic | av.stream.Disposition.timed_thumbnails
    return bool(stream.disposition & still)


def codec_name(stream) -> str | None:
    """FFmpeg's name for the codec (av1, mp3), not the decoder's (libdav1d, mp3float)."""
    if stream.codec_context is None:
        return None
    return stream.codec_context.codec.canonical_name


def display_size(width: int, height: int, sample_aspect: object, rotation: int) -> tuple[int, int]:
    """The picture's size as a player shows it: non-square pixels stretched to square ones, then turned."""
    try:
        ratio = float(sample_aspect) if sample_aspect else 1.0
    except (TypeError, ValueError, ZeroDivisionError):
        ratio = 1.0
    if 0.1 < ratio < 10 and abs(ratio - 1.0) > 1e-3:
        width = max(1, round(width * ratio))
    return (height, width) if rotation in (90, 270) else (width, height)


# --- probe ------------------------------------------------------------------------------------------


def probe(stream: BinaryIO, demuxer: str) -> AVInfo:
    """Read and check a video or audio file; raise RejectedUpload when it is not one we take."""
    label = _LABELS.get(demuxer, demuxer.upper())
    try:
        stream.seek(0, 2)
        size = stream.tell()
        stream.seek(0)
        if size == 0:
            raise RejectedUpload(f"corrupt or truncated {label} file (it is empty)")
        head = stream.read(4096)
        # Raw reads all happen before FFmpeg opens the stream or after it closes it: its I/O
        # layer assumes nobody else moves the file position.
        label = av_lengths.check_structure(stream, demuxer, head, size, label)
        with open_input(stream, demuxer) as container:
            info = _inspect(container, demuxer, label, size, head)
        if info.media_type == "audio":
            info = dataclasses.replace(info, tags=av_tags.audio_tags(stream, demuxer) or info.tags)
        return info
    except RejectedUpload:
        raise
    except Exception as exc:  # FFmpeg and mutagen raise many types for broken files; each one is a rejection
        raise RejectedUpload(f"corrupt or truncated {label} file ({_detail(exc)})"[:300]) from None
    finally:
        stream.seek(0)


def _detail(exc: Exception) -> str:
    if isinstance(exc, av.FFmpegError) and exc.strerror:
        return exc.strerror
    return f"{type(exc).__name__}: {exc}"




def _inspect(container, demuxer: str, label: str, size: int, head: bytes) -> AVInfo:
    video, audio = primary_streams(container)
    if video is None and audio is None:
        raise RejectedUpload("file has no audio or video stream")
    _check_codecs(container)
    duration = _duration(container)
    if demuxer == "mov":
        _check_mov_index(container, label, size)
    media_type = "video" if video is not None else "audio"
    if video is not None:
        picture = _check_first_video_frame(container, video)
    else:
        picture = {}
        _check_first_frame(container, audio, "audio")
        if demuxer == "flac" and av_lengths.flac_states_total(head):
            _check_tail(container, audio, duration, label)
    metadata = av_tags.lowered(container.metadata)
    latitude, longitude = av_tags.location(metadata)
    return AVInfo(
        media_type=media_type,
        mime_type=_mime_type(demuxer, media_type, metadata, head),
        container=container.format.name,
        duration=duration,
        bit_rate=container.bit_rate if container.bit_rate and container.bit_rate > 0 else None,
        created_at=av_tags.created_at(metadata, av_tags.lowered(video.metadata) if video is not None else {}),
        latitude=latitude,
        longitude=longitude,
        tags=av_tags.container_tags(metadata, audio if media_type == "audio" else None),
        **_sound(audio),
        **picture,
    )


def _sound(audio) -> dict:
    if audio is None:
        return {}
    codec = audio.codec_context
    return {"audio_codec": codec_name(audio), "sample_rate": codec.sample_rate or None,
            "channels": codec.channels or None}


def _check_codecs(container) -> None:
    """Every audio and video stream must use an allowlisted codec, not just the ones we decode:
    browsers, players and later processing may pick any of them."""
    for stream in container.streams:
        if stream.type not in ("video", "audio") or (stream.type == "video" and _is_cover_art(stream)):
            continue
        name = codec_name(stream)
        if name is None:
            raise RejectedUpload(f"{stream.type} stream uses a codec this server cannot decode")
        if stream.type == "video" and name not in VIDEO_CODECS:
            raise RejectedUpload(f"video codec {name} is not supported (allowed: {', '.join(VIDEO_CODECS)})")
        if stream.type == "audio" and not (name in AUDIO_CODECS or name.startswith("pcm_")):
            raise RejectedUpload(f"audio codec {name} is not supported (allowed: {', '.join(AUDIO_CODECS)}, pcm)")


def _duration(container) -> float:
    """Seconds, from the container header, else the longest stream's header; never by demuxing."""
    seconds = container.duration / av.time_base if container.duration and container.duration > 0 else 0.0
    if seconds <= 0:
        for stream in container.streams:
            if stream.duration and stream.duration > 0 and stream.time_base:
                seconds = max(seconds, float(stream.duration * stream.time_base))
    if not seconds > 0:  # also catches NaN
        raise RejectedUpload("media duration is unknown (the file does not say how long it is)")
    if seconds > settings.MAX_MEDIA_SECONDS:
        raise RejectedUpload(
            f"media is {_clock(seconds)} long, over the limit of {_clock(settings.MAX_MEDIA_SECONDS)}"
        )
    return seconds


def _clock(seconds: float) -> str:
    whole = int(round(seconds))
    return f"{whole // 3600}:{whole // 60 % 60:02d}:{whole % 60:02d}"


def _check_first_video_frame(container, video) -> dict:
    """Size checked against the limit before any decoding, then the first frame decoded: the
    fields of AVInfo that describe the picture."""
    codec = video.codec_context
    width, height = codec.width, codec.height
    if width < 1 or height < 1:
        raise RejectedUpload("video has no picture size")
    _check_pixels(width, height)
    frame = _check_first_frame(container, video, "video")
    _check_pixels(frame.width, frame.height)
    rotation = _rotation(frame, video.metadata)
    sample_aspect = video.sample_aspect_ratio or codec.sample_aspect_ratio  # the container's, else the codec's
    shown_width, shown_height = display_size(frame.width, frame.height, sample_aspect, rotation)
    fps = video.average_rate or video.guessed_rate
    return {
        "width": shown_width,
        "height": shown_height,
        "fps": round(float(fps), 3) if fps and fps > 0 else None,
        "video_codec": codec_name(video),
        "pixel_format": frame.format.name,
        "rotation": rotation,
    }


def _check_pixels(width: int, height: int) -> None:
    if width * height > settings.MAX_VIDEO_PIXELS:
        raise RejectedUpload(
            f"video is {width}x{height} pixels a frame, over the limit of {settings.MAX_VIDEO_PIXELS:,} pixels"
        )


def _check_first_frame(container, stream, kind: str):
    """The stream's first frame, decoded from at most FIRST_FRAME_PACKETS of its packets."""
    guard_decoder(stream)
    try:
        for count, packet in enumerate(container.demux(stream)):
            if count >= FIRST_FRAME_PACKETS:
                break
            for frame in packet.decode():
                if frame.is_corrupt:
                    raise RejectedUpload(f"first {kind} frame does not decode (it is corrupt)")
                return frame
    except RejectedUpload:
        raise
    except Exception as exc:
        raise RejectedUpload(f"first {kind} frame does not decode ({_detail(exc)})"[:300]) from None
    raise RejectedUpload(f"first {kind} frame does not decode (no frame in the first packets)")


def _rotation(frame, stream_metadata: dict[str, str]) -> int:
    """Clockwise degrees to show the picture upright. FFmpeg reports the display matrix as a
    counter-clockwise angle (a phone held upright writes -90); the legacy `rotate` tag (older
    muxers, Matroska) is already clockwise."""
    matrix = frame.rotation
    degrees = -matrix if matrix and math.isfinite(matrix) else 0
    if not degrees:
        tag = av_tags.lowered(stream_metadata).get("rotate", "")
        try:
            degrees = float(tag)
        except ValueError:
            degrees = 0
    turn = int(round(degrees / 90.0)) % 4  # a matrix that is not a quarter turn is shown unturned by most players
    return turn * 90




















def _check_mov_index(container, label: str, size: int) -> None:
    """An MP4 whose moov comes first but whose mdat was cut short opens and decodes its first
    frames fine; its sample table still points past the end of the file."""
    for stream in container.streams:
        if stream.type not in ("video", "audio"):
            continue
        entries = stream.index_entries
        if len(entries) and (last := entries[len(entries) - 1]).pos + last.size > size:
            raise RejectedUpload(
                f"corrupt or truncated {label} file (its media data runs to byte {last.pos + last.size:,} "
                f"but the file has {size:,} bytes)"
            )


def _check_tail(container, stream, duration: float, label: str) -> None:
    """FLAC's header may state the sample count, so a cut file still claims its full length: seek
    near the stated end (a bisection over the file, a few reads) and demux, not decode, what is
    left, which must reach it."""
    target_seconds = max(0.0, duration - 2.0)
    start = stream.start_time or 0
    try:
        container.seek(start + int(target_seconds / stream.time_base), stream=stream, backward=True)
        reached = 0.0
        for count, packet in enumerate(container.demux(stream)):
            if count >= _TAIL_PACKETS:
                return  # plenty of data left after the seek point
            if packet.pts is not None and packet.size:
                reached = max(reached, float((packet.pts - start + (packet.duration or 0)) * stream.time_base))
    except Exception as exc:
        raise RejectedUpload(f"corrupt or truncated {label} file (cannot read near its end: {_detail(exc)})") from None
    if reached < duration - max(0.2, duration * 0.02):
        raise RejectedUpload(
            f"corrupt or truncated {label} file (audio ends at {reached:.1f} s of the {duration:.1f} s it claims)"
        )


# --- MIME type --------------------------------------------------------------------------------------

_AUDIO_MIMES = {"mp3": "audio/mpeg", "wav": "audio/wav", "flac": "audio/flac", "ogg": "audio/ogg", "aac": "audio/aac"}


def _mime_type(demuxer: str, media_type: str, metadata: dict[str, str], head: bytes) -> str:
    if demuxer == "mov":
        if media_type == "audio":
            return "audio/mp4"
        return "video/quicktime" if metadata.get("major_brand", "").strip() == "qt" else "video/mp4"
    if demuxer == "matroska":
        doctype, _ = av_lengths.matroska_head(head)
        if doctype == "webm":
            return f"{media_type}/webm"
        return f"{media_type}/x-matroska"
    if demuxer == "ogg" and media_type == "video":
        return "video/ogg"
    return _AUDIO_MIMES.get(demuxer, f"{media_type}/{demuxer}")


