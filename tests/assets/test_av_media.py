"""The video and audio layer without a database: probing and refusing uploads (assets.av_probe),
frames, posters and waveforms (assets.av_frames), and web playback (assets.av_proxy), on tiny
files made on the spot (tests.av_files)."""

from __future__ import annotations

import datetime
import io
import json
import random
from pathlib import Path

import av
import numpy as np
import pytest
from django.test import override_settings
from PIL import Image, ImageStat

from assets.av_frames import pick_poster, sample_frames, waveform
from assets.av_probe import AVInfo, probe
from assets.av_proxy import make_proxy, plays_in_browsers
from assets.av_tags import parse_iso6709
from assets.errors import RejectedUpload
from tests.av_files import audio_bytes, box_order, video_bytes

TAGS = {"title": "Blue in Green", "artist": "Miles Davis", "album": "Kind of Blue", "year": "1959",
        "genre": "Jazz", "comment": "take 3"}


@pytest.fixture(scope="module")
def mp4() -> bytes:
    return video_bytes()


@pytest.fixture(scope="module")
def webm() -> bytes:
    return video_bytes(container="webm", video_codec="libvpx-vp9", audio_codec="libopus")


@pytest.fixture(scope="module")
def rotated_mp4() -> bytes:
    return video_bytes(rotation=90, faststart=True)


def probed(data: bytes, demuxer: str) -> AVInfo:
    stream = io.BytesIO(data)
    info = probe(stream, demuxer)
    assert stream.tell() == 0
    return info


def rejection(data: bytes, demuxer: str) -> str:
    stream = io.BytesIO(data)
    with pytest.raises(RejectedUpload) as caught:
        probe(stream, demuxer)
    assert stream.tell() == 0
    return caught.value.reason


def luma(image: Image.Image) -> float:
    return ImageStat.Stat(image.convert("L")).mean[0]


def corner_lumas(image: Image.Image) -> dict[str, float]:
    """Mean luma of each corner's eighth: the builders' marker square is the one bright corner."""
    w, h = image.size
    cw, ch = max(1, w // 8), max(1, h // 8)
    boxes = {"top_left": (0, 0, cw, ch), "top_right": (w - cw, 0, w, ch),
             "bottom_left": (0, h - ch, cw, h), "bottom_right": (w - cw, h - ch, w, h)}
    return {name: luma(image.crop(box)) for name, box in boxes.items()}


# --- probe: what a file is ------------------------------------------------------------------------


def test_probe_mp4_h264_aac(mp4):
    info = probed(mp4, "mov")
    assert (info.media_type, info.mime_type, info.container) == ("video", "video/mp4", "mov")
    assert info.duration == pytest.approx(2.0, abs=0.05)
    assert (info.width, info.height, info.fps) == (160, 120, 25.0)
    assert (info.video_codec, info.audio_codec, info.pixel_format) == ("h264", "aac", "yuv420p")
    assert (info.sample_rate, info.channels, info.rotation) == (48_000, 2, 0)
    assert info.bit_rate > 0
    assert json.loads(json.dumps(info.as_json()))["video_codec"] == "h264"


def test_probe_mov_is_quicktime():
    info = probed(video_bytes(container="mov", seconds=0.5), "mov")
    assert (info.mime_type, info.video_codec, info.audio_codec) == ("video/quicktime", "h264", "aac")


def test_probe_webm_vp9_opus(webm):
    info = probed(webm, "matroska")
    assert (info.mime_type, info.container) == ("video/webm", "matroska")
    assert (info.video_codec, info.audio_codec) == ("vp9", "opus")
    assert (info.width, info.height, info.fps) == (160, 120, 25.0)
    assert info.duration == pytest.approx(2.0, abs=0.05)


def test_probe_mkv():
    info = probed(video_bytes(container="mkv", audio_codec="flac", seconds=0.5), "matroska")
    assert (info.mime_type, info.video_codec, info.audio_codec) == ("video/x-matroska", "h264", "flac")


@pytest.mark.parametrize(
    ("container", "encoder", "audio", "codec"),
    [("mp4", "libx265", None, "hevc"), ("mkv", "libsvtav1", None, "av1"), ("webm", "libvpx", "vorbis", "vp8"),
     ("mp4", "mpeg4", "libmp3lame", "mpeg4")],
)
def test_probe_other_allowed_video_codecs(container, encoder, audio, codec):
    info = probed(video_bytes(container=container, video_codec=encoder, audio_codec=audio, seconds=0.5,
                              size=(128, 96)), "mov" if container == "mp4" else "matroska")
    assert (info.video_codec, info.width, info.height) == (codec, 128, 96)


@pytest.mark.parametrize("rotation", [90, 180, 270])
def test_probe_reads_display_matrix_rotation(rotation):
    info = probed(video_bytes(rotation=rotation, seconds=0.3, audio_codec=None), "mov")
    assert info.rotation == rotation
    assert (info.width, info.height) == ((120, 160) if rotation in (90, 270) else (160, 120))


def test_probe_reads_legacy_rotate_tag():
    # The MP4 muxer no longer writes a `rotate` tag; Matroska keeps it as a plain stream tag.
    info = probed(video_bytes(container="mkv", rotation=90, rotation_via="tag", seconds=0.3), "matroska")
    assert (info.rotation, info.width, info.height) == (90, 120, 160)


def test_probe_reads_creation_time_and_location():
    metadata = {"creation_time": "2023-05-06T07:08:09.000000Z", "location": "+48.8584+002.2945/",
                "title": "Eiffel"}
    info = probed(video_bytes(metadata=metadata, seconds=0.3), "mov")
    assert info.created_at == datetime.datetime(2023, 5, 6, 7, 8, 9, tzinfo=datetime.UTC)
    assert (info.latitude, info.longitude) == (pytest.approx(48.8584), pytest.approx(2.2945))
    assert info.tags["title"] == "Eiffel"
    assert "location" not in info.tags and "creation_time" not in info.tags  # they have fields of their own
    assert info.as_json()["created_at"] == "2023-05-06T07:08:09+00:00"


def test_probe_reads_iphone_metadata_keys():
    metadata = {"com.apple.quicktime.location.ISO6709": "+37.3349-122.0090+030.000/",
                "com.apple.quicktime.creationdate": "2024-02-03T10:11:12+0100",
                "com.apple.quicktime.make": "Apple", "com.apple.quicktime.model": "iPhone 15"}
    data = video_bytes(container="mov", metadata=metadata, seconds=0.2, audio_codec=None,
                       muxer_options={"movflags": "use_metadata_tags"})
    info = probed(data, "mov")
    assert info.created_at == datetime.datetime(2024, 2, 3, 9, 11, 12, tzinfo=datetime.UTC)  # local time made UTC
    assert (info.latitude, info.longitude) == (pytest.approx(37.3349), pytest.approx(-122.009))
    assert (info.tags["make"], info.tags["model"]) == ("Apple", "iPhone 15")
    assert not any("location" in key or "creationdate" in key for key in info.tags)


def test_probe_without_time_or_place(mp4):
    info = probed(mp4, "mov")
    assert (info.created_at, info.latitude, info.longitude) == (None, None, None)


@pytest.mark.parametrize(
    ("text", "expected"),
    [("+48.8584+002.2945/", (48.8584, 2.2945)), ("-33.8688+151.2093+010.000/", (-33.8688, 151.2093)),
     ("+4851.504+00217.670/", (48.8584, 2.29450)), ("+485130.24+0021742.0/", (48.858400, 2.295)),
     ("+95.0+000.0/", None), ("somewhere", None), ("", None)],
)
def test_parse_iso6709(text, expected):
    place = parse_iso6709(text)
    assert place == (None if expected is None else (pytest.approx(expected[0], abs=1e-4),
                                                     pytest.approx(expected[1], abs=1e-4)))


@pytest.mark.parametrize(
    ("fmt", "demuxer", "mime", "codec"),
    [("mp3", "mp3", "audio/mpeg", "mp3"), ("m4a", "mov", "audio/mp4", "aac"),
     ("wav", "wav", "audio/wav", "pcm_s16le"), ("flac", "flac", "audio/flac", "flac"),
     ("opus", "ogg", "audio/ogg", "opus"), ("ogg", "ogg", "audio/ogg", "vorbis"),
     ("webm", "matroska", "audio/webm", "opus")],
)
def test_probe_audio_with_tags(fmt, demuxer, mime, codec):
    info = probed(audio_bytes(fmt, tags=TAGS), demuxer)
    assert (info.media_type, info.mime_type, info.audio_codec) == ("audio", mime, codec)
    assert info.duration == pytest.approx(1.0, abs=0.05)
    assert (info.sample_rate, info.channels) == (48_000, 2)
    assert (info.width, info.video_codec) == (None, None)
    assert {key: info.tags.get(key) for key in TAGS} == TAGS


def test_probe_raw_aac():
    info = probed(audio_bytes("aac"), "aac")
    assert (info.mime_type, info.audio_codec, info.tags) == ("audio/aac", "aac", {})


@pytest.mark.parametrize(("fmt", "demuxer"), [("mp3", "mp3"), ("m4a", "mov"), ("flac", "flac")])
def test_cover_art_does_not_make_audio_a_video(fmt, demuxer):
    info = probed(audio_bytes(fmt, cover=True, tags={"title": "With cover"}), demuxer)
    assert (info.media_type, info.video_codec, info.tags["title"]) == ("audio", None, "With cover")


def test_mp3_player_comments_and_genre_numbers():
    from mutagen import id3, mp3

    stream = io.BytesIO(audio_bytes("mp3", tags={"title": "T"}))
    tagged = mp3.MP3(stream)
    tagged.tags.add(id3.COMM(encoding=3, lang="eng", desc="iTunNORM", text=[" 00000A2C 00000A2C"]))
    tagged.tags.add(id3.COMM(encoding=3, lang="eng", desc="", text=["the tagger's comment"]))
    tagged.tags.add(id3.TCON(encoding=3, text=["(17)"]))
    stream.seek(0)
    tagged.save(stream)
    tags = probed(stream.getvalue(), "mp3").tags
    assert (tags["comment"], tags["genre"]) == ("the tagger's comment", "Rock")


def test_tag_values_are_trimmed():
    info = probed(audio_bytes("flac", tags={"title": "x" * 2000}), "flac")
    assert len(info.tags["title"]) == 500


# --- probe: what is refused ---------------------------------------------------------------------------


def test_truncated_mp4_is_refused(mp4):
    assert rejection(mp4[: len(mp4) // 2], "mov").startswith("corrupt or truncated MP4 file (")


def test_truncated_faststart_mp4_is_refused(rotated_mp4):
    # moov first: the cut file opens and its first frame decodes, but its sample table points past the end.
    reason = rejection(rotated_mp4[: len(rotated_mp4) * 3 // 4], "mov")
    assert reason.startswith("corrupt or truncated MP4 file (its media data runs to byte")


def test_truncated_webm_is_refused(webm):
    assert rejection(webm[: len(webm) // 2], "matroska").startswith("corrupt or truncated WebM file (")


@pytest.mark.parametrize(("fmt", "demuxer", "label"), [("mp3", "mp3", "MP3"), ("flac", "flac", "FLAC"),
                                                     ("wav", "wav", "WAV"), ("opus", "ogg", "Ogg")])
def test_truncated_audio_is_refused(fmt, demuxer, label):
    data = audio_bytes(fmt, seconds=3.0)
    assert rejection(data[: len(data) * 2 // 3], demuxer).startswith(f"corrupt or truncated {label} file (")


@pytest.mark.parametrize(("kind", "keep", "demuxer"), [("mp4", 64, "mov"), ("webm", 200, "matroska"),
                                                      ("mp3", 128, "mp3"), ("flac", 64, "flac")])
def test_header_then_random_bytes_is_refused(kind, keep, demuxer, mp4, webm):
    source = {"mp4": mp4, "webm": webm}.get(kind) or audio_bytes(kind)
    data = source[:keep] + random.Random(7).randbytes(30_000)
    reason = rejection(data, demuxer)
    assert reason.startswith(("corrupt or truncated", "first audio frame does not decode"))


def test_empty_file_is_refused():
    assert rejection(b"", "mov") == "corrupt or truncated MP4 file (it is empty)"


def test_other_format_is_refused(mp4):
    assert rejection(audio_bytes("flac"), "mov").startswith("corrupt or truncated MP4 file (")
    assert rejection(mp4, "matroska").startswith("corrupt or truncated MKV file (")


@pytest.mark.parametrize(("encoder", "codec"), [("mjpeg", "mjpeg"), ("mpeg2video", "mpeg2video")])
def test_disallowed_video_codec_is_named(encoder, codec):
    reason = rejection(video_bytes(container="mkv", video_codec=encoder, audio_codec=None, seconds=0.3), "matroska")
    assert reason.startswith(f"video codec {codec} is not supported")


def test_disallowed_audio_codec_is_named():
    reason = rejection(video_bytes(container="mkv", audio_codec="ac3", seconds=0.3), "matroska")
    assert reason.startswith("audio codec ac3 is not supported")


def _patched_track(data: bytes, handler: bytes, sample_entry: bytes) -> bytes:
    """The MP4's only track relabelled: its hdlr handler type and its sample entry's codec tag."""
    out = bytearray(data)
    hdlr = out.find(b"hdlr")
    out[hdlr + 12 : hdlr + 16] = handler
    entry = out.find(b"avc1", out.find(b"stsd"))
    out[entry : entry + 4] = sample_entry
    return bytes(out)


def test_file_without_audio_or_video_is_refused():
    timecode_only = _patched_track(video_bytes(audio_codec=None, seconds=0.3), b"tmcd", b"tmcd")
    assert rejection(timecode_only, "mov") == "file has no audio or video stream"


def test_unknown_video_codec_is_refused():
    unknown = _patched_track(video_bytes(audio_codec=None, seconds=0.3), b"vide", b"xxxx")
    assert rejection(unknown, "mov") == "video stream uses a codec this server cannot decode"


def test_over_long_media_is_refused(mp4):
    with override_settings(MAX_MEDIA_SECONDS=1):
        assert rejection(mp4, "mov") == "media is 0:00:02 long, over the limit of 0:00:01"
        assert rejection(audio_bytes("mp3", seconds=2.0), "mp3").startswith("media is 0:00:02 long")
    assert probed(mp4, "mov").duration > 1


def test_frame_over_pixel_limit_is_refused(mp4):
    with override_settings(MAX_VIDEO_PIXELS=160 * 120 - 1):
        assert rejection(mp4, "mov") == "video is 160x120 pixels a frame, over the limit of 19,199 pixels"
    with override_settings(MAX_VIDEO_PIXELS=160 * 120):
        assert probed(mp4, "mov").width == 160


def _smashed(data: bytes, kind: str) -> bytes:
    """The MP4 with every sample of its `kind` streams overwritten with zeros (the index intact)."""
    out = bytearray(data)
    with av.open(io.BytesIO(data), format="mov") as container:
        for stream in container.streams:
            if stream.type == kind:
                for entry in stream.index_entries:
                    out[entry.pos : entry.pos + entry.size] = bytes(entry.size)
    return bytes(out)


def test_undecodable_first_video_frame_is_refused():
    reason = rejection(_smashed(video_bytes(audio_codec=None, seconds=0.5), "video"), "mov")
    assert reason.startswith("first video frame does not decode (")


def test_undecodable_first_audio_frame_is_refused():
    assert rejection(_smashed(audio_bytes("m4a"), "audio"), "mov").startswith("first audio frame does not decode (")


def test_hostile_variants_only_ever_give_an_answer_or_a_rejection(mp4, webm):
    """Cuts and byte flips anywhere in sound files: probe answers or refuses, never raises anything else."""
    rng = random.Random(11)
    cases = [(mp4, "mov"), (webm, "matroska"), (audio_bytes("mp3", tags=TAGS), "mp3"),
             (audio_bytes("flac"), "flac"), (audio_bytes("opus"), "ogg"), (audio_bytes("wav"), "wav")]
    outcomes = set()
    for data, demuxer in cases:
        for _ in range(8):
            variant = bytearray(data[: rng.randrange(1, len(data))] if rng.random() < 0.5 else data)
            for _ in range(rng.choice([1, 8, 64])):
                variant[rng.randrange(len(variant))] = rng.randrange(256)
            try:
                outcomes.add(type(probe(io.BytesIO(bytes(variant)), demuxer)))
            except RejectedUpload:
                outcomes.add(RejectedUpload)
    assert outcomes <= {AVInfo, RejectedUpload} and RejectedUpload in outcomes


# --- Frames and posters -----------------------------------------------------------------------------


def test_sample_frames_spread_over_the_duration(mp4):
    info = probed(mp4, "mov")
    stream = io.BytesIO(mp4)
    frames = sample_frames(stream, info, count=4, max_side=64)
    assert stream.tell() == 0
    times = [seconds for seconds, _ in frames]
    assert len(frames) == 4
    for index, seconds in enumerate(times):  # the first frame at or after (i + 0.5) / 4 of 2 s
        assert (index + 0.5) / 2 <= seconds < (index + 0.5) / 2 + 0.05
    assert all(image.mode == "RGB" and image.size == (64, 48) for _, image in frames)
    assert not np.array_equal(np.asarray(frames[0][1]), np.asarray(frames[-1][1]))  # the box moved


def test_sample_frames_never_more_than_asked_or_than_there_are():
    short = video_bytes(seconds=0.4, audio_codec=None)  # ten frames
    info = probed(short, "mov")
    frames = sample_frames(io.BytesIO(short), info, count=30, max_side=32)
    times = [seconds for seconds, _ in frames]
    assert 1 <= len(frames) <= 10 and times == sorted(set(times))
    assert len(sample_frames(io.BytesIO(short), info, count=2, max_side=32)) == 2


def test_sample_frames_are_upright(rotated_mp4):
    info = probed(rotated_mp4, "mov")
    (_, image), = sample_frames(io.BytesIO(rotated_mp4), info, count=1, max_side=80)
    assert image.size == (60, 80)
    corners = corner_lumas(image)
    # The marker sits in the coded top-left corner; turned 90 degrees clockwise it is top right.
    assert max(corners, key=corners.get) == "top_right"


class _Unseekable:
    """An opened container whose seeks fail, as with a broken or missing index."""

    def __init__(self, container, refused: list[int]):
        self.container, self.refused = container, refused

    def __getattr__(self, name):
        return getattr(self.container, name)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.container.close()

    def seek(self, offset, **kwargs):
        self.refused.append(offset)
        raise av.error.PermissionError(1, "seek refused")


def test_sample_frames_decode_on_when_seeking_fails(mp4, monkeypatch):
    from assets import av_frames

    real_open, refused = av_frames.open_input, []
    monkeypatch.setattr(av_frames, "open_input", lambda *args: _Unseekable(real_open(*args), refused))
    frames = sample_frames(io.BytesIO(mp4), probed(mp4, "mov"), count=4, max_side=64)
    times = [seconds for seconds, _ in frames]
    assert len(refused) == 4
    assert len(frames) == 4 and times == sorted(times)
    assert all((index + 0.5) / 2 <= seconds < (index + 0.5) / 2 + 0.05 for index, seconds in enumerate(times))


def test_sample_frames_of_audio_is_empty():
    data = audio_bytes("mp3")
    assert sample_frames(io.BytesIO(data), probed(data, "mp3"), count=3, max_side=64) == []


def test_poster_skips_a_black_opening():
    data = video_bytes(seconds=2.0, black_seconds=1.0, audio_codec=None)
    frames = sample_frames(io.BytesIO(data), probed(data, "mov"), count=6, max_side=64)
    assert luma(frames[0][1]) < 5  # the opening really is black
    seconds, image = frames[pick_poster(frames)]
    assert seconds > 1.0 and luma(image) > 30


def _noise(seed: int) -> Image.Image:
    return Image.fromarray(np.random.default_rng(seed).integers(0, 256, (48, 64, 3), dtype=np.uint8), "RGB")


def test_poster_rule():
    black, white, grey = (Image.new("RGB", (64, 48), colour) for colour in ((0, 0, 0), (255, 255, 255), (128,) * 3))
    card = Image.new("RGB", (64, 48), (40, 40, 40))
    card.paste((200, 200, 200), (20, 20, 22, 24))  # a title card: flat but for a few letters
    gradient = Image.linear_gradient("L").resize((64, 48)).convert("RGB")
    frames = [(0.0, black), (1.0, white), (2.0, grey), (3.0, card), (4.0, gradient), (5.0, _noise(1))]
    assert pick_poster(frames) == 5  # the most detailed
    assert pick_poster(frames[:5]) == 4
    assert pick_poster([(0.0, gradient), (1.0, gradient)]) == 0  # a tie goes to the earlier frame
    assert pick_poster([(0.0, black), (1.0, card), (2.0, black)]) == 1  # all set aside: the least flat
    with pytest.raises(ValueError):
        pick_poster([])


# --- Waveform ----------------------------------------------------------------------------------------


def _drawn_heights(image: Image.Image) -> np.ndarray:
    """Per column, how many pixels are not background."""
    return (np.asarray(image.convert("L")) < 250).sum(axis=0)


@pytest.mark.parametrize(("fmt", "demuxer"), [("mp3", "mp3"), ("m4a", "mov"), ("wav", "wav"), ("flac", "flac"),
                                              ("ogg", "ogg"), ("opus", "ogg"), ("webm", "matroska")])
def test_waveform_of_a_tone(fmt, demuxer):
    data = audio_bytes(fmt, seconds=1.0)
    stream = io.BytesIO(data)
    image = waveform(stream, probed(data, demuxer), width=200, height=64)
    assert stream.tell() == 0
    assert (image.size, image.mode) == ((200, 64), "RGB")
    heights = _drawn_heights(image)[10:-10]  # past codec priming at the very start
    assert heights.min() >= 24 and heights.max() <= 40  # a 0.5 full-scale tone fills about half the height


def test_waveform_of_silence_is_a_flat_line():
    data = audio_bytes("flac", seconds=1.0, silent=True)
    heights = _drawn_heights(waveform(io.BytesIO(data), probed(data, "flac"), width=200, height=64))
    assert heights.min() >= 1 and heights.max() <= 2


def test_waveform_of_a_video_soundtrack(mp4):
    heights = _drawn_heights(waveform(io.BytesIO(mp4), probed(mp4, "mov"), width=100, height=50))
    assert np.median(heights) >= 10  # the builders' soundtrack is a 0.3 full-scale tone


# --- Browser playback and proxies ----------------------------------------------------------------------


@pytest.mark.parametrize(("fmt", "demuxer"), [("mp3", "mp3"), ("m4a", "mov"), ("wav", "wav"), ("flac", "flac"),
                                              ("ogg", "ogg"), ("opus", "ogg"), ("aac", "aac")])
def test_common_audio_plays_in_browsers(fmt, demuxer):
    assert plays_in_browsers(probed(audio_bytes(fmt, seconds=0.2), demuxer))


def test_common_video_plays_in_browsers(mp4, webm):
    assert plays_in_browsers(probed(mp4, "mov"))
    assert plays_in_browsers(probed(webm, "matroska"))
    assert plays_in_browsers(probed(video_bytes(container="mov", audio_codec=None, seconds=0.3), "mov"))


@pytest.mark.parametrize(
    "kwargs",
    [dict(container="mkv"), dict(video_codec="libx265"), dict(pix_fmt="yuv444p"), dict(container="mov",
     audio_codec="pcm_s16le"), dict(container="mkv", video_codec="libvpx-vp9", audio_codec="libopus")],
    ids=["mkv", "hevc", "h264-444", "mov-pcm", "vp9-in-mkv"],
)
def test_video_needing_a_proxy(kwargs):
    data = video_bytes(seconds=0.3, size=(64, 48), **kwargs)
    info = probed(data, "matroska" if kwargs.get("container") == "mkv" else "mov")
    assert not plays_in_browsers(info)


def test_audio_needing_a_proxy():
    alac = audio_bytes("m4a", seconds=0.2, codec="alac")
    assert not plays_in_browsers(probed(alac, "mov"))
    mka = audio_bytes("mka", seconds=0.2)
    assert not plays_in_browsers(probed(mka, "matroska"))


def _proxy(data: bytes, demuxer: str, out, max_height: int = 720) -> tuple[AVInfo, tuple[int, int], list[float]]:
    reports: list[float] = []
    source = io.BytesIO(data)
    size = make_proxy(source, probed(data, demuxer), out, max_height=max_height, progress=reports.append)
    assert source.tell() == 0
    return probed(out.getvalue() if isinstance(out, io.BytesIO) else Path(out).read_bytes(), "mov"), size, reports


def _check_progress(reports: list[float]) -> None:
    assert reports[-1] == 1.0 and reports.count(1.0) == 1 and reports == sorted(reports)
    steps = np.diff(reports[:-1])  # the closing 1.0 may follow the last frame's report closely
    assert len(reports) <= 102 and steps.min() >= 0.0099 and len(reports) >= 30  # about every 1 %


def test_proxy_of_vp9_webm(webm):
    out = io.BytesIO()
    info, size, reports = _proxy(webm, "matroska", out, max_height=100)
    assert size == (132, 100) == (info.width, info.height)  # 160x120 fitted to 100 high, kept even
    assert (info.mime_type, info.video_codec, info.audio_codec, info.pixel_format) == (
        "video/mp4", "h264", "aac", "yuv420p")
    assert (info.channels, info.rotation) == (2, 0)
    assert info.duration == pytest.approx(2.0, abs=0.1)
    boxes = box_order(out.getvalue())
    assert boxes.index("moov") < boxes.index("mdat")
    _check_progress(reports)
    assert plays_in_browsers(info)


def test_proxy_of_rotated_mp4_turns_the_pixels(rotated_mp4, tmp_path):
    path = str(tmp_path / "proxy.mp4")
    info, size, reports = _proxy(rotated_mp4, "mov", path)
    assert size == (120, 160) == (info.width, info.height)  # never enlarged, turned upright
    assert (info.rotation, info.video_codec, info.audio_codec) == (0, "h264", "aac")  # no display matrix needed
    data = Path(path).read_bytes()
    assert data.index(b"moov") < data.index(b"mdat")
    _check_progress(reports)
    (_, image), = sample_frames(io.BytesIO(data), info, count=1, max_side=160)
    corners = corner_lumas(image)
    assert max(corners, key=corners.get) == "top_right"


def test_proxy_keeps_variable_frame_timestamps():
    source = video_bytes(container="mkv", audio_codec=None, vfr=True, seconds=1.0, size=(64, 48))
    out = io.BytesIO()
    _proxy(source, "matroska", out)

    def times(data: bytes) -> list[float]:
        with av.open(io.BytesIO(data)) as container:
            return [round(float(frame.time), 3) for frame in container.decode(video=0)]

    expected = times(source)
    assert len(set(np.diff(expected).round(3))) == 2  # the source really alternates frame lengths
    assert times(out.getvalue()) == expected


@pytest.mark.parametrize(
    ("container", "encoder", "audio"),
    [("mp4", "libx265", "libmp3lame"), ("mkv", "libsvtav1", "flac"), ("webm", "libvpx", "vorbis"),
     ("mp4", "mpeg4", None), ("mov", "libx264", "pcm_s16le")],
)
def test_proxy_from_every_allowed_video_codec(container, encoder, audio):
    source = video_bytes(container=container, video_codec=encoder, audio_codec=audio, seconds=0.4, size=(96, 64))
    info, size, _ = _proxy(source, "matroska" if container in ("mkv", "webm") else "mov", io.BytesIO())
    assert (info.video_codec, info.audio_codec, size) == ("h264", "aac" if audio else None, (96, 64))


def test_proxy_needs_a_video():
    data = audio_bytes("mp3", seconds=0.2)
    with pytest.raises(ValueError):
        make_proxy(io.BytesIO(data), probed(data, "mp3"), io.BytesIO())
