"""Web playback: whether an original plays in browsers as it is, and the H.264/AAC MP4 proxy made
for the ones that do not.

The proxy is what every browser plays: H.264 (yuv420p, even dimensions) and AAC in an MP4 whose
moov box comes first, so playback starts before the download ends. Rotation is applied to the
pixels, not left as metadata, so players that ignore the display matrix show it upright too.
Frame timestamps are carried over unchanged (no frame-rate conversion), so variable-frame-rate
phone videos keep their audio in sync.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Callable
from fractions import Fraction
from typing import BinaryIO

import av
from django.conf import settings

from assets.av_frames import Resampler, decoded
from assets.av_probe import AVInfo, guard_decoder, open_input, primary_streams, readable_packets
from assets.errors import RejectedUpload

# --- Playability ------------------------------------------------------------------------------------

# 4:2:0 at 8 bits is what every browser's decoder (and hardware decoder) takes; yuvj420p is the
# same pixels in full range, as some phones and cameras write them.
_BROWSER_PIXELS = ("yuv420p", "yuvj420p")
_MP4_VIDEO, _MP4_AUDIO = ("h264",), ("aac", "mp3")
_WEBM_VIDEO, _WEBM_AUDIO = ("vp8", "vp9", "av1"), ("opus", "vorbis")
# PCM WAV that Chromium, Firefox and Safari all decode.
_WAV_PCM = ("pcm_u8", "pcm_s16le", "pcm_s24le", "pcm_f32le")
_AUDIO_PLAYABLE = {
    "audio/mpeg": ("mp3",),
    "audio/mp4": ("aac",),
    "audio/aac": ("aac",),
    "audio/wav": _WAV_PCM,
    "audio/flac": ("flac",),
    "audio/ogg": ("opus", "vorbis"),
    "audio/webm": ("opus", "vorbis"),
}


def plays_in_browsers(info: AVInfo) -> bool:
    """True when current Chromium, Firefox and Safari play the original as it is (no proxy needed)."""
    if info.media_type == "audio":
        return info.audio_codec in _AUDIO_PLAYABLE.get(info.mime_type, ())
    if info.mime_type in ("video/mp4", "video/quicktime"):
        video_ok = info.video_codec in _MP4_VIDEO and info.pixel_format in _BROWSER_PIXELS
        return video_ok and (info.audio_codec is None or info.audio_codec in _MP4_AUDIO)
    if info.mime_type == "video/webm":
        video_ok = info.video_codec in _WEBM_VIDEO and info.pixel_format == "yuv420p"
        return video_ok and (info.audio_codec is None or info.audio_codec in _WEBM_AUDIO)
    return False  # Matroska, Ogg video: not every browser takes the container


# --- Proxy ----------------------------------------------------------------------------------------------

X264_OPTIONS = {"preset": "veryfast", "crf": "23"}
AUDIO_BIT_RATE = 128_000
_AAC_RATES = (96000, 88200, 64000, 48000, 44100, 32000, 24000, 22050, 16000, 12000, 11025, 8000)
# filtergraph steps that turn the stored picture upright, by AVInfo.rotation (clockwise degrees).
_TURNS = {90: [("transpose", "clock")], 180: [("hflip", None), ("vflip", None)], 270: [("transpose", "cclock")]}


def proxy_size(info: AVInfo, max_height: int) -> tuple[int, int]:
    """The displayed size fitted within `max_height` (never enlarged), both sides even as 4:2:0 needs."""
    width, height = info.width or 2, info.height or 2
    scale = min(1.0, max_height / height)
    return max(2, round(width * scale) // 2 * 2), max(2, round(height * scale) // 2 * 2)


def make_proxy(
    stream: BinaryIO,
    info: AVInfo,
    out: BinaryIO | str,
    max_height: int = 720,
    progress: Callable[[float], None] | None = None,
) -> tuple[int, int]:
    """Transcode the video to the web proxy, written to `out` (a path or a writable file); returns
    its (width, height). `progress` gets the fraction done, at most about every 1 %, ending at 1.0."""
    if info.media_type != "video":
        raise ValueError("a proxy is made of a video")
    size = proxy_size(info, max_height)
    if isinstance(out, str | os.PathLike):
        _transcode(stream, info, os.fspath(out), size, progress)
        return size
    # faststart moves the moov box in a second pass that FFmpeg opens by file name: a real file then.
    with tempfile.NamedTemporaryFile(suffix=".mp4", dir=getattr(settings, "FILE_UPLOAD_TEMP_DIR", None)) as scratch:
        _transcode(stream, info, scratch.name, size, progress)
        scratch.seek(0)
        shutil.copyfileobj(scratch, out)
    return size


def _transcode(stream: BinaryIO, info: AVInfo, path: str, size: tuple[int, int], progress) -> None:
    reporter = _Progress(progress, info.duration)
    try:
        with open_input(stream, info.container) as source:
            video, audio = primary_streams(source)
            if video is None:
                raise RejectedUpload("video has no video stream")
            guard_decoder(video)
            with av.open(path, "w", format="mp4", options={"movflags": "+faststart"}) as target:
                job = _Job(source, target, video, audio, info, size, reporter)
                job.run()
                if not job.frames:
                    raise RejectedUpload("video has no frame that decodes")
    finally:
        stream.seek(0)
    reporter.done()


class _Progress:
    """Calls back with the fraction done, only when it has grown by a percent, never backwards."""

    def __init__(self, callback: Callable[[float], None] | None, duration: float):
        self.callback, self.duration, self.reported = callback, max(duration, 1e-6), 0.0

    def at(self, seconds: float) -> None:
        fraction = min(1.0, max(0.0, seconds / self.duration))
        if self.callback is not None and fraction >= self.reported + 0.01:
            self.reported = fraction
            self.callback(fraction)

    def done(self) -> None:
        if self.callback is not None and self.reported < 1.0:
            self.reported = 1.0
            self.callback(1.0)


class _Job:
    """One transcode: decode the source's first video and audio streams in file order, encode and mux."""

    def __init__(self, source, target, video, audio, info: AVInfo, size: tuple[int, int], reporter: _Progress):
        self.source, self.target, self.video, self.audio = source, target, video, audio
        self.info, self.size, self.reporter = info, size, reporter
        # The whole file is shifted so its earliest stream starts at 0, keeping the streams in step.
        self.start = (source.start_time or 0) / av.time_base
        self.limit = float(settings.MAX_MEDIA_SECONDS)  # never encode more than an upload may last
        self.frames = 0
        self.last_video_pts: int | None = None
        self.next_audio_pts: int | None = None
        self.filter = _Filter(size, info.rotation)
        self.video_out = self._video_stream()
        self.audio_out, self.resampler = self._audio_stream() if audio is not None else (None, None)

    def _video_stream(self):
        stream = self.target.add_stream("libx264", options=dict(X264_OPTIONS))
        stream.width, stream.height = self.size
        stream.pix_fmt = "yuv420p"
        # The source's own clock: every frame keeps its timestamp, whatever the frame rate does.
        stream.codec_context.time_base = self.video.time_base
        if self.video.average_rate:
            stream.codec_context.framerate = self.video.average_rate
        return stream

    def _audio_stream(self):
        source_rate = self.audio.codec_context.sample_rate
        rate = source_rate if source_rate in _AAC_RATES else 48_000
        stream = self.target.add_stream("aac", rate=rate, layout="stereo")
        stream.bit_rate = AUDIO_BIT_RATE
        stream.codec_context.open()  # AAC's frame size (1024) is fixed once open
        resampler = Resampler(
            format=stream.codec_context.format.name, layout="stereo", rate=rate,
            frame_size=stream.codec_context.frame_size,
        )
        return stream, resampler

    def run(self) -> None:
        streams = [s for s in (self.video, self.audio) if s is not None]
        for packet in readable_packets(self.source, streams):
            handle = self._video_packet if packet.stream.index == self.video.index else self._audio_packet
            if handle(packet):
                break
        self._flush()

    def _video_packet(self, packet) -> bool:
        for frame in decoded(packet):
            if frame.pts is None:
                continue
            seconds = float(frame.pts * frame.time_base) - self.start
            if seconds > self.limit:
                return True
            self._encode_video(frame, seconds)
        return False

    def _encode_video(self, frame, seconds: float) -> None:
        pts = frame.pts - round(self.start / frame.time_base)
        # A decoder can hand back a repeated or earlier timestamp; H.264 in MP4 needs them rising.
        if pts < 0 or (self.last_video_pts is not None and pts <= self.last_video_pts):
            return
        self.last_video_pts = pts
        for upright in self.filter.process(frame):
            upright.pts, upright.time_base = pts, frame.time_base
            self.target.mux(self.video_out.encode(upright))
            self.frames += 1
        self.reporter.at(seconds)

    def _audio_packet(self, packet) -> bool:
        for frame in decoded(packet):
            if frame.pts is not None:
                if float(frame.pts * frame.time_base) - self.start > self.limit:
                    return True
                frame.pts -= round(self.start / frame.time_base)
            self._encode_audio(self.resampler.resample(frame))
        return False

    def _encode_audio(self, frames) -> None:
        rate = self.audio_out.codec_context.sample_rate
        for frame in frames:
            # Counted in samples. Audio runs on from where the last frame ended; a source timestamp
            # further on is a real gap and is kept, one that goes back (overlap, damage) is not.
            pts = round(frame.pts * frame.time_base * rate) if frame.pts is not None else None
            if pts is None or (self.next_audio_pts is not None and pts < self.next_audio_pts):
                pts = self.next_audio_pts or 0
            frame.pts, frame.time_base = pts, Fraction(1, rate)
            self.next_audio_pts = pts + frame.samples
            self.target.mux(self.audio_out.encode(frame))

    def _flush(self) -> None:
        # The filters hold no frames back (each step is one frame in, one out): only the encoders flush.
        self.target.mux(self.video_out.encode())
        if self.audio_out is not None:
            self._encode_audio(self.resampler.flush())
            self.target.mux(self.audio_out.encode())


class _Filter:
    """Rotation, scaling and conversion to yuv420p in one FFmpeg filter graph, rebuilt when the
    decoded picture changes size or format mid-stream (which VP9 and H.264 streams may do)."""

    def __init__(self, size: tuple[int, int], rotation: int):
        self.size, self.rotation = size, rotation
        self.graph = None
        self.key = None

    def process(self, frame) -> list:
        key = (frame.width, frame.height, frame.format.name)
        if key != self.key:
            self.graph, self.key = self._build(frame), key
        self.graph.push(frame)
        return self._drain()

    def _drain(self) -> list:
        frames = []
        while True:
            try:
                frames.append(self.graph.pull())
            except (av.error.BlockingIOError, av.error.EOFError):
                return frames

    def _build(self, frame):
        graph = av.filter.Graph()
        nodes = [graph.add_buffer(width=frame.width, height=frame.height, format=frame.format,
                                  time_base=frame.time_base)]
        width, height = self.size
        for name, argument in _TURNS.get(self.rotation, []):
            nodes.append(graph.add(name, argument))
        nodes.append(graph.add("scale", f"{width}:{height}"))
        nodes.append(graph.add("setsar", "1"))
        nodes.append(graph.add("format", "yuv420p"))
        nodes.append(graph.add("buffersink"))
        graph.link_nodes(*nodes).configure()
        return graph
