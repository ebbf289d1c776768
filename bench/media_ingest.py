"""What ingest costs for video, audio and PDF on this machine: the upload's probe (it runs in the
web request), the frame strip and poster, the waveform, the web-playable copy, PDF pages and text.

Media are made here (PyAV, pypdfium2-readable PDFs written by hand), so the figures need no data
files: a 720p H.264 clip in Matroska (browsers cannot play the container, so it needs the copy), the
same clip in MP4 (it does not), a stereo MP3, a text PDF. Each step runs `--repeats` times; the
best is reported, and long steps as a multiple of the media's own length (1.0x is real time).

    .venv/bin/python bench/media_ingest.py [--seconds 30] [--repeats 2] [--no-append]
"""

from __future__ import annotations

import argparse
import io
import math
import os
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench import common  # noqa: E402

SCRIPT = "media_ingest"


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=30.0, help="length of the clip and the sound")
    parser.add_argument("--pages", type=int, default=40, help="pages of the PDF")
    parser.add_argument("--repeats", type=int, default=2)
    parser.add_argument("--no-append", action="store_true", help="print only; leave RESULTS.md alone")
    return parser.parse_args(argv)


def clip(seconds: float, container: str, size=(1280, 720), fps: int = 30) -> bytes:
    """A moving picture with detail (noise and shapes: an encoder has real work) and a tone."""
    import av
    import numpy as np

    rng = np.random.default_rng(7)
    noise = rng.integers(0, 40, size=(size[1], size[0], 3), dtype=np.uint8)
    buffer = io.BytesIO()
    with av.open(buffer, "w", format=container) as out:
        video = out.add_stream("libx264", rate=fps, options={"preset": "veryfast"})
        video.width, video.height, video.pix_fmt = size[0], size[1], "yuv420p"
        audio = out.add_stream("aac", rate=48_000, layout="stereo")
        for index in range(int(seconds * fps)):
            picture = noise.copy()
            x = (index * 12) % (size[0] - 200)
            picture[200:400, x : x + 200] = (230, 180, 40)
            picture[..., 2] += np.uint8(index % 200)
            for packet in video.encode(av.VideoFrame.from_ndarray(picture, format="rgb24")):
                out.mux(packet)
        for packet in video.encode():
            out.mux(packet)
        _tone(out, audio, seconds)
    return buffer.getvalue()


def _tone(out, stream, seconds: float) -> None:
    import av
    import numpy as np

    total, step = int(seconds * 48_000), 1024
    for start in range(0, total, step):
        moments = np.arange(start, min(total, start + step)) / 48_000
        wave = (0.3 * np.sin(2 * math.pi * 440 * moments)).astype(np.float32)
        frame = av.AudioFrame.from_ndarray(np.stack([wave, wave]), format="fltp", layout="stereo")
        frame.rate, frame.pts = 48_000, start
        for packet in stream.encode(frame):
            out.mux(packet)
    for packet in stream.encode():
        out.mux(packet)


def sound(seconds: float) -> bytes:
    import av

    buffer = io.BytesIO()
    with av.open(buffer, "w", format="mp3") as out:
        _tone(out, out.add_stream("libmp3lame", rate=48_000, layout="stereo"), seconds)
    return buffer.getvalue()


def best(repeats: int, step) -> tuple[float, object]:
    times, outcome = [], None
    for _ in range(repeats):
        started = time.perf_counter()
        outcome = step()
        times.append(time.perf_counter() - started)
    return min(times), outcome


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "mediavault.settings")
    import django

    django.setup()
    from assets import av_frames, av_probe, av_proxy, pdf
    from tests.pdf_files import pdf_bytes

    load_before = common.load_average()
    print("making the media", file=sys.stderr)
    mkv, mp4, mp3 = clip(args.seconds, "matroska"), clip(args.seconds, "mp4"), sound(args.seconds)
    words = "the harbour crane inspection found every cable and brake in order " * 6
    document = pdf_bytes([f"page {n} {words}" for n in range(1, args.pages + 1)])
    rows = []

    def row(what: str, seconds: float, length: float | None = None, note: str = "") -> None:
        ratio = f"{seconds / length:.2f}x" if length else ""
        rows.append((what, f"{seconds * 1000:.0f} ms" if seconds < 1 else f"{seconds:.2f} s", ratio, note))

    for label, data, demuxer in (("MKV", mkv, "matroska"), ("MP4", mp4, "mov")):
        seconds, info = best(args.repeats, lambda d=data, m=demuxer: av_probe.probe(io.BytesIO(d), m))
        row(f"probe (the upload's check, in the web request): {label}, {len(data) / 1e6:.1f} MB", seconds,
            note=f"{info.width}x{info.height}, {info.duration:.1f} s, plays in browsers: "
                 f"{av_proxy.plays_in_browsers(info)}")
    info = av_probe.probe(io.BytesIO(mkv), "matroska")
    seconds, frames = best(args.repeats, lambda: av_frames.sample_frames(io.BytesIO(mkv), info, 8, 1024))
    row("frame strip: 8 frames spread over the clip, fitted in 1024 px", seconds, args.seconds)
    seconds, _ = best(args.repeats, lambda: av_frames.pick_poster(frames))
    row("poster chosen among them", seconds)
    with tempfile.TemporaryDirectory() as scratch:
        target = str(Path(scratch) / "proxy.mp4")
        seconds, size = best(args.repeats, lambda: av_proxy.make_proxy(io.BytesIO(mkv), info, target))
        row("web-playable copy: H.264/AAC MP4, faststart, 720 lines, libx264 veryfast", seconds, args.seconds,
            note=f"{size[0]}x{size[1]}, {os.path.getsize(target) / 1e6:.1f} MB")
    sound_info = av_probe.probe(io.BytesIO(mp3), "mp3")
    seconds, _ = best(args.repeats, lambda: av_probe.probe(io.BytesIO(mp3), "mp3"))
    row(f"probe: MP3, {len(mp3) / 1e6:.1f} MB", seconds)
    seconds, _ = best(args.repeats, lambda: av_frames.waveform(io.BytesIO(mp3), sound_info))
    row("waveform of the MP3", seconds, args.seconds)
    seconds, _ = best(args.repeats, lambda: pdf.inspect_pdf(io.BytesIO(document)))
    row(f"probe: PDF of {args.pages} pages, {len(document) / 1e3:.0f} KB", seconds)
    seconds, _ = best(args.repeats, lambda: pdf.render_pages(io.BytesIO(document), 1024, 12))
    row("12 page previews, 1024 px", seconds)
    seconds, texts = best(args.repeats, lambda: pdf.page_texts(io.BytesIO(document)))
    row(f"text of all {args.pages} pages", seconds, note=f"{sum(map(len, texts)):,} characters")

    title = common.heading(SCRIPT, common.machine_info())
    body = "\n".join([
        f"- command: `bench/media_ingest.py --seconds {args.seconds:g} --pages {args.pages} --repeats {args.repeats}`",
        f"- media: a {args.seconds:g} s 1280x720 30 fps H.264/AAC clip (noise and a moving block) in MKV and in "
        f"MP4, the same length of MP3, a {args.pages}-page text PDF",
        f"- load average: {load_before} before, {common.load_average()} after (1/5/15 min)",
        "- best of the repeats; \"x media length\": seconds of work per second of media (1.0x: real time)",
        "",
        common.markdown_table(["step", "best", "x media length", "notes"], rows),
    ])
    common.publish(title, body, append=not args.no_append)
    return 0


if __name__ == "__main__":
    sys.exit(main())
