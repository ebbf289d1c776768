"""Pictures of probed video and audio for thumbnails: frames sampled across a video, the choice of
its poster frame, and the waveform of an audio track.

Work is bounded by the request, not by the file: sampling seeks to the keyframe before each point
and decodes at most a GOP's worth of packets from it, and the waveform keeps one peak and one sum
of squares per pixel column however long the audio is. Every image comes out upright.
"""

from __future__ import annotations

from typing import BinaryIO

import av
import numpy as np
from PIL import Image, ImageStat

from assets.av_probe import AVInfo, guard_decoder, open_input, primary_streams, readable_packets

# Packets decoded after a seek to reach one sample point: a GOP of ten seconds at 30 fps. Past it
# the latest frame decoded stands in (the keyframe is far back, or the seek failed).
MAX_PACKETS_PER_POINT = 300

# PIL transposition that turns a stored picture upright, by AVInfo.rotation (clockwise degrees).
_UPRIGHT = {90: Image.Transpose.ROTATE_270, 180: Image.Transpose.ROTATE_180, 270: Image.Transpose.ROTATE_90}


def upright(image: Image.Image, rotation: int) -> Image.Image:
    return image.transpose(_UPRIGHT[rotation]) if rotation in _UPRIGHT else image


def sample_frames(stream: BinaryIO, info: AVInfo, count: int, max_side: int) -> list[tuple[float, Image.Image]]:
    """Up to `count` frames at (i + 0.5) / count of the duration, as (seconds, RGB image fitted within
    `max_side`), in time order; fewer when points fall on the same frame. Empty for audio."""
    if info.media_type != "video" or count < 1:
        return []
    try:
        with open_input(stream, info.container) as container:
            video, _ = primary_streams(container)
            if video is None:
                return []
            guard_decoder(video)
            return _sample(container, video, info, count, max_side)
    finally:
        stream.seek(0)


def _sample(container, video, info: AVInfo, count: int, max_side: int) -> list[tuple[float, Image.Image]]:
    start = float(video.start_time * video.time_base) if video.start_time is not None else 0.0
    samples: list[tuple[float, Image.Image]] = []
    last_pts = None
    for index in range(count):
        point = start + info.duration * (index + 0.5) / count
        frame = _frame_at(container, video, point)
        if frame is None or frame.pts == last_pts:
            continue
        last_pts = frame.pts
        samples.append((max(0.0, float(frame.time) - start), _picture(frame, info, max_side)))
    return samples


def _frame_at(container, video, point: float):
    """The first frame at or after `point` seconds (or the last one before it when the file ends
    or the packet budget runs out first)."""
    try:
        container.seek(int(point / video.time_base), stream=video, backward=True, any_frame=False)
        video.codec_context.flush_buffers()
    except Exception:  # an unseekable or broken index: decode on from where we are instead
        pass
    latest = None
    for count, packet in enumerate(readable_packets(container, video)):
        if count >= MAX_PACKETS_PER_POINT:
            break
        for frame in decoded(packet):
            if frame.pts is None:
                continue
            latest = frame
            if frame.time >= point:
                return frame
    return latest


def decoded(packet) -> list:
    """The packet's frames; none for a damaged packet (the decoder recovers at the next keyframe)."""
    try:
        return packet.decode()
    except av.FFmpegError:
        return []


class Resampler:
    """av.AudioResampler to one fixed output, rebuilt when the input changes sample rate, format or
    channels mid-stream (PyAV's refuses such frames; damaged MP3 and ADTS headers do it)."""

    def __init__(self, format: str, layout: str | None, rate: int, frame_size: int | None = None):
        self.output = {"format": format, "layout": layout, "rate": rate, "frame_size": frame_size}
        self.resampler: av.AudioResampler | None = None
        self.key: tuple | None = None

    def resample(self, frame) -> list:
        key = (frame.format.name, frame.layout.name, frame.sample_rate)
        flushed = []
        if key != self.key:
            flushed = self.flush()
            self.resampler, self.key = av.AudioResampler(**self.output), key
        return flushed + self.resampler.resample(frame)

    def flush(self) -> list:
        if self.resampler is None:
            return []
        frames = self.resampler.resample(None)
        self.resampler = None
        return frames


def _picture(frame, info: AVInfo, max_side: int) -> Image.Image:
    """The frame as an upright RGB image within `max_side`, scaled by swscale on the way to RGB so
    no full-size RGB copy of a large frame is ever made."""
    shown_w, shown_h = info.width or frame.width, info.height or frame.height
    scale = min(1.0, max_side / max(shown_w, shown_h))
    out_w, out_h = max(1, round(shown_w * scale)), max(1, round(shown_h * scale))
    if info.rotation in (90, 270):
        out_w, out_h = out_h, out_w  # the stored picture is on its side
    return upright(frame.to_image(width=out_w, height=out_h), info.rotation)


# --- Poster -----------------------------------------------------------------------------------------

# Frames whose mean luma is this close to 0 or 255 are black or white (openings, fades, flashes);
# a luma spread this small is a flat picture (a plain title card, a fade's middle). Thresholds are on
# full-range 0..255 luma, where video black (16) and white (235) land after conversion to RGB.
DARK_MEAN, BRIGHT_MEAN, FLAT_STDDEV = 24.0, 232.0, 12.0


def pick_poster(frames: list[tuple[float, Image.Image]]) -> int:
    """Index of the frame that best represents the video.

    Frames that are near black, near white or nearly flat say nothing about the content, so they
    are set aside; among the rest the one with the most information wins, measured as the entropy
    of its luma histogram (a real scene spreads over many tones, a card or fade uses few). Ties go
    to the earlier frame, closer to how the video opens. When every frame is set aside the least
    flat one is taken rather than none."""
    if not frames:
        raise ValueError("no frames to choose a poster from")
    measured = [_luma_stats(image) for _, image in frames]
    candidates = [i for i, (mean, spread, _) in enumerate(measured)
                  if DARK_MEAN < mean < BRIGHT_MEAN and spread > FLAT_STDDEV]
    if not candidates:
        return max(range(len(frames)), key=lambda i: (measured[i][1], -i))
    return max(candidates, key=lambda i: (round(measured[i][2], 3), -i))


def _luma_stats(image: Image.Image) -> tuple[float, float, float]:
    """(mean, standard deviation, histogram entropy in bits) of the image's luma, on a small copy."""
    luma = image.convert("L")
    luma.thumbnail((128, 128))
    stats = ImageStat.Stat(luma)
    return stats.mean[0], stats.stddev[0], luma.entropy()


# --- Waveform ----------------------------------------------------------------------------------------

BACKGROUND = (255, 255, 255)
PEAK_COLOUR = (150, 170, 200)
RMS_COLOUR = (60, 90, 140)


def waveform(stream: BinaryIO, info: AVInfo, width: int = 1024, height: int = 256) -> Image.Image:
    """The audio track as a symmetric waveform `width` x `height`: per pixel column the peak
    (light) and RMS (dark) level of the samples that fall in it, full scale at the edges. A file
    without sound (silent, or no audio stream) draws a flat centre line."""
    peaks = np.zeros(width, np.float32)
    sums = np.zeros(width, np.float64)
    counts = np.zeros(width, np.int64)
    try:
        with open_input(stream, info.container) as container:
            _, audio = primary_streams(container)
            if audio is not None:
                _accumulate(container, audio, info, peaks, sums, counts)
    finally:
        stream.seek(0)
    rms = np.sqrt(np.divide(sums, counts, out=np.zeros(width), where=counts > 0))
    return _draw(np.clip(peaks, 0, 1), np.clip(rms, 0, 1), height)


def _accumulate(container, audio, info: AVInfo, peaks, sums, counts) -> None:
    """Decode the track once, folding each frame's samples into their columns; samples are placed
    by their running count (not the frame timestamps, which some files lack).

    The resampler only converts to planar float, keeping the channels: each instant's level is its
    loudest channel. A mono downmix would show identical channels 3 dB too loud (FFmpeg mixes
    stereo to mono at -3 dB each) and opposite-phase ones as silence."""
    rate = audio.codec_context.sample_rate or info.sample_rate or 48_000
    total = max(1, int(info.duration * rate))
    width = len(peaks)
    resampler = Resampler(format="fltp", layout=None, rate=rate)
    position = 0
    for packet in readable_packets(container, audio):
        for frame in decoded(packet):
            for converted in resampler.resample(frame):
                position = _fold(converted.to_ndarray(), position, total, width, peaks, sums, counts)
    for converted in resampler.flush():
        position = _fold(converted.to_ndarray(), position, total, width, peaks, sums, counts)


def _fold(channels: np.ndarray, position: int, total: int, width: int, peaks, sums, counts) -> int:
    """Fold (channels, samples) into the columns they fall in; returns the running sample count."""
    length = channels.shape[1] if channels.ndim == 2 else 0
    if not length:
        return position
    loudest = np.abs(channels).max(axis=0)
    power = (channels.astype(np.float64) ** 2).mean(axis=0)
    columns = np.minimum((position + np.arange(length, dtype=np.int64)) * width // total, width - 1)
    # Columns only grow along a frame: one reduction per run of equal columns instead of per sample.
    starts = np.flatnonzero(np.r_[True, columns[1:] != columns[:-1]])
    ids = columns[starts]
    np.maximum.at(peaks, ids, np.maximum.reduceat(loudest, starts))
    np.add.at(sums, ids, np.add.reduceat(power, starts))
    np.add.at(counts, ids, np.diff(np.r_[starts, length]))
    return position + length


def _draw(peaks: np.ndarray, rms: np.ndarray, height: int) -> Image.Image:
    width = len(peaks)
    middle = (height - 1) / 2
    rows = np.abs(np.arange(height, dtype=np.float32) - middle)[:, None]  # distance from the centre line
    pixels = np.empty((height, width, 3), np.uint8)
    pixels[:] = BACKGROUND
    # At least half a pixel either side, so silence is a visible line and not a blank image.
    pixels[(rows <= np.maximum(peaks * middle, 0.5)[None, :])] = PEAK_COLOUR
    pixels[(rows <= np.maximum(rms * middle, 0.5)[None, :])] = RMS_COLOUR
    return Image.fromarray(pixels, "RGB")
