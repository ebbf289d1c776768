"""Tiny synthetic video and audio files for the media tests, made with PyAV (and tagged with mutagen).

Built in memory on demand rather than kept as fixtures in the repository: every test states the
codec, container, rotation and tags it needs, and the files stay a few kilobytes each. Encoders
are set to their fastest presets so each builder call takes a small fraction of a second.
"""

from __future__ import annotations

import io
import tempfile
from collections.abc import Iterator
from fractions import Fraction
from pathlib import Path

import av
import numpy as np
from mutagen import flac, id3, mp3, mp4, oggopus, oggvorbis, wave
from PIL import Image

# Our container names -> FFmpeg muxer.
_VIDEO_MUXERS = {"mp4": "mp4", "mov": "mov", "webm": "webm", "mkv": "matroska"}

# Encoder options that keep the builders fast and quiet; GOPs of half a second give the
# frame-sampling tests keyframes to seek to.
_VIDEO_OPTIONS = {
    "libx264": {"preset": "ultrafast"},
    "libx265": {"preset": "ultrafast", "x265-params": "log-level=error"},
    "libvpx": {"deadline": "realtime", "cpu-used": "8"},
    "libvpx-vp9": {"deadline": "realtime", "cpu-used": "8", "row-mt": "0"},
    "libsvtav1": {"preset": "12"},
}
_PIX_FMTS = {"mjpeg": "yuvj420p"}

AUDIO_RATE = 48_000  # Opus takes nothing else
TONE_HZ = 440.0


def video_bytes(
    container: str = "mp4",
    video_codec: str = "libx264",
    audio_codec: str | None = "aac",
    seconds: float = 2.0,
    size: tuple[int, int] = (160, 120),
    fps: int = 25,
    rotation: int = 0,
    black_seconds: float = 0.0,
    metadata: dict[str, str] | None = None,
    *,
    rotation_via: str = "matrix",
    pix_fmt: str | None = None,
    vfr: bool = False,
    faststart: bool = False,
    muxer_options: dict[str, str] | None = None,
) -> bytes:
    """A short video of `size` coded pixels: a dark gradient, a bright square fixed in the coded
    top-left corner (to check rotation) and a box moving across the middle (so frames differ);
    the first `black_seconds` are black.

    `rotation` is the clockwise turn a player must apply (AVInfo.rotation), written as the display
    matrix (any container) or, with rotation_via="tag", as the legacy `rotate` stream tag (which
    only the Matroska muxer still writes). `vfr` alternates frame durations of one and two ticks.
    `muxer_options` go to FFmpeg's muxer (movflags=use_metadata_tags writes Apple's mdta keys).
    """

    def write(target, options: dict[str, str]) -> None:
        options = {**(muxer_options or {}), **options}
        with av.open(target, "w", format=_VIDEO_MUXERS[container], options=options) as out:
            if metadata:
                out.metadata.update(metadata)
            video = out.add_stream(video_codec, rate=fps, options=dict(_VIDEO_OPTIONS.get(video_codec, {})))
            video.width, video.height = size
            video.pix_fmt = pix_fmt or _PIX_FMTS.get(video_codec, "yuv420p")
            video.codec_context.gop_size = max(1, fps // 2)
            if rotation and rotation_via == "matrix":
                video.set_display_rotation(-rotation)  # PyAV takes the counter-clockwise angle
            elif rotation:
                video.metadata["rotate"] = str(rotation)
            audio = out.add_stream(audio_codec, rate=AUDIO_RATE, layout="stereo") if audio_codec else None
            if audio is not None and audio_codec == "vorbis":
                audio.codec_context.options = {"strict": "experimental"}
            for pts, image in _frames(size, fps, seconds, black_seconds, vfr):
                frame = av.VideoFrame.from_ndarray(image, format="rgb24")
                frame.pts = pts
                out.mux(video.encode(frame))
            out.mux(video.encode())
            if audio is not None:
                _encode_tone(out, audio, seconds, amplitude=0.3)

    if faststart:
        # faststart rewrites the file in a second pass that FFmpeg opens by name: a real file then.
        with tempfile.TemporaryDirectory() as folder:
            path = Path(folder) / f"video.{container}"
            write(str(path), {"movflags": "+faststart"})
            return path.read_bytes()
    buffer = io.BytesIO()
    write(buffer, {})
    return buffer.getvalue()


def _frames(size, fps, seconds, black_seconds, vfr) -> Iterator[tuple[int, np.ndarray]]:
    width, height = size
    ys, xs = np.mgrid[0:height, 0:width]
    background = np.stack([xs * 100 // width, ys * 100 // height, np.full_like(xs, 60)], axis=-1).astype(np.uint8)
    marker = max(2, min(width, height) // 6)
    box_w, box_top, box_bottom = width // 4, height * 2 // 5, height * 3 // 5
    pts, index = 0, 0
    while pts < seconds * fps:
        t = pts / fps
        if t < black_seconds:
            image = np.zeros((height, width, 3), np.uint8)
        else:
            image = background.copy()
            image[:marker, :marker] = 255
            left = int((width - box_w) * (t / seconds))
            image[box_top:box_bottom, left : left + box_w] = (230, 200, 40)
        yield pts, image
        # VFR: one tick then two ticks, so the frames' times are not a multiple of one frame length.
        pts += (1 + index % 2) if vfr else 1
        index += 1


def _encode_tone(out, stream, seconds: float, amplitude: float) -> None:
    """`seconds` of a sine tone (or silence) in whatever sample format and frame size the encoder takes."""
    codec = stream.codec_context
    if not codec.is_open:
        codec.open()  # frame_size (Opus 960, AAC 1024, Vorbis 64...) is known once open
    resampler = av.AudioResampler(
        format=codec.format, layout=codec.layout, rate=AUDIO_RATE, frame_size=codec.frame_size or 1024
    )
    total = int(seconds * AUDIO_RATE)
    chunk = 4800
    for start in range(0, total, chunk):
        count = min(chunk, total - start)
        wave_ = (amplitude * np.sin(2 * np.pi * TONE_HZ * np.arange(start, start + count) / AUDIO_RATE))
        planar = np.repeat(wave_.astype(np.float32)[None, :], 2, axis=0)
        frame = av.AudioFrame.from_ndarray(planar, format="fltp", layout="stereo")
        frame.sample_rate = AUDIO_RATE
        frame.pts = start
        frame.time_base = Fraction(1, AUDIO_RATE)
        for resampled in resampler.resample(frame):
            out.mux(stream.encode(resampled))
    for resampled in resampler.resample(None):
        out.mux(stream.encode(resampled))
    out.mux(stream.encode())


# fmt -> (FFmpeg muxer, encoder)
_AUDIO_FORMATS = {
    "mp3": ("mp3", "libmp3lame"),
    "m4a": ("ipod", "aac"),
    "wav": ("wav", "pcm_s16le"),
    "flac": ("flac", "flac"),
    "ogg": ("ogg", "vorbis"),
    "opus": ("ogg", "libopus"),
    "webm": ("webm", "libopus"),
    "aac": ("adts", "aac"),
    "mka": ("matroska", "flac"),
}


def audio_bytes(
    fmt: str = "mp3", seconds: float = 1.0, tags: dict[str, str] | None = None, *, silent: bool = False,
    cover: bool = False, codec: str | None = None,
) -> bytes:
    """A stereo 440 Hz tone (or silence) in `fmt`; `tags` (title, artist, album, year, genre,
    comment) written the way taggers do, with mutagen (WebM and MKA: the muxer's own tags);
    `cover` adds front-cover art (MP3, M4A, FLAC)."""
    muxer, encoder = _AUDIO_FORMATS[fmt]
    buffer = io.BytesIO()
    with av.open(buffer, "w", format=muxer) as out:
        if tags and fmt in ("webm", "mka"):
            out.metadata.update({("date" if key == "year" else key): value for key, value in tags.items()})
        stream = out.add_stream(codec or encoder, rate=AUDIO_RATE, layout="stereo")
        if (codec or encoder) == "vorbis":
            stream.codec_context.options = {"strict": "experimental"}  # FFmpeg's own Vorbis encoder
        _encode_tone(out, stream, seconds, amplitude=0.0 if silent else 0.5)
    if (tags or cover) and fmt not in ("webm", "mka"):
        _tag(fmt, buffer, tags or {}, cover)
    return buffer.getvalue()


_ID3_FRAMES = {"title": id3.TIT2, "artist": id3.TPE1, "album": id3.TALB, "year": id3.TDRC, "genre": id3.TCON}
_MP4_ATOMS = {"title": "\xa9nam", "artist": "\xa9ART", "album": "\xa9alb", "year": "\xa9day", "genre": "\xa9gen",
              "comment": "\xa9cmt"}


def _tag(fmt: str, buffer: io.BytesIO, tags: dict[str, str], cover: bool) -> None:
    buffer.seek(0)
    if fmt in ("mp3", "wav"):
        audio = mp3.MP3(buffer) if fmt == "mp3" else wave.WAVE(buffer)
        if audio.tags is None:  # FFmpeg's MP3 muxer writes one; WAV has none yet
            audio.add_tags()
        for key, value in tags.items():
            if key == "comment":
                audio.tags.add(id3.COMM(encoding=3, lang="eng", desc="", text=[value]))
            else:
                audio.tags.add(_ID3_FRAMES[key](encoding=3, text=[value]))
        if cover:
            audio.tags.add(id3.APIC(encoding=3, mime="image/jpeg", type=3, desc="cover", data=cover_jpeg()))
    elif fmt == "m4a":
        audio = mp4.MP4(buffer)
        if audio.tags is None:
            audio.add_tags()
        for key, value in tags.items():
            audio.tags[_MP4_ATOMS[key]] = [value]
        if cover:
            audio.tags["covr"] = [mp4.MP4Cover(cover_jpeg(), imageformat=mp4.MP4Cover.FORMAT_JPEG)]
    elif fmt in ("flac", "ogg", "opus"):
        audio = {"flac": flac.FLAC, "ogg": oggvorbis.OggVorbis, "opus": oggopus.OggOpus}[fmt](buffer)
        for key, value in tags.items():
            audio[("date" if key == "year" else key)] = value
        if cover and fmt == "flac":
            picture = flac.Picture()
            picture.type, picture.mime, picture.data = 3, "image/jpeg", cover_jpeg()
            audio.add_picture(picture)
    else:
        raise ValueError(f"no tags for {fmt}")
    buffer.seek(0)
    audio.save(buffer)


def cover_jpeg() -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (32, 32), (200, 30, 30)).save(out, format="JPEG")
    return out.getvalue()


def box_order(data: bytes) -> list[str]:
    """The top-level ISO-BMFF boxes of an MP4, in file order (to check moov comes before mdat)."""
    boxes, offset = [], 0
    while offset + 8 <= len(data):
        size = int.from_bytes(data[offset : offset + 4], "big")
        name = data[offset + 4 : offset + 8].decode("latin-1")
        if size == 1:
            size = int.from_bytes(data[offset + 8 : offset + 16], "big")
        elif size == 0:
            size = len(data) - offset
        if size < 8:
            break
        boxes.append(name)
        offset += size
    return boxes
