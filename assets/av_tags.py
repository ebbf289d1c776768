"""Time, place and descriptive tags of a video or audio file: the container's (FFmpeg already maps
MP4's ©nam, ID3's TIT2 and Matroska's TITLE to `title`) and, for audio, mutagen's reading of the
taggers' own conventions (ID3 frames, MP4 atoms, Vorbis comments)."""

from __future__ import annotations

import datetime
import re
from collections.abc import Iterable
from typing import BinaryIO

MAX_TAG_CHARS = 500
MAX_TAGS = 64


def lowered(metadata: dict[str, str]) -> dict[str, str]:
    """Tag names folded to lower case: Matroska writes TITLE where MP4 writes title."""
    return {str(key).lower(): value for key, value in metadata.items() if isinstance(value, str)}


def created_at(metadata: dict[str, str], stream_metadata: dict[str, str]) -> datetime.datetime | None:
    for value in (
        metadata.get("com.apple.quicktime.creationdate"),  # the local time with its offset, from iPhones
        metadata.get("creation_time"),
        stream_metadata.get("creation_time"),
    ):
        moment = _parse_time(value)
        if moment is not None:
            return moment
    return None


def _parse_time(value: str | None) -> datetime.datetime | None:
    if not value:
        return None
    try:
        moment = datetime.datetime.fromisoformat(value.strip())
    except ValueError:
        return None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=datetime.UTC)  # MP4 and Matroska store UTC
    moment = moment.astimezone(datetime.UTC)
    # Zero timestamps (1904 for MP4, 1970 for Unix) come from cameras whose clock was never set.
    return moment if moment.year > 1970 else None


_LOCATION_KEYS = ("com.apple.quicktime.location.iso6709", "location", "location-eng")
_ISO6709 = re.compile(r"^\s*([+-]\d+(?:\.\d*)?)([+-]\d+(?:\.\d*)?)")


def location(metadata: dict[str, str]) -> tuple[float | None, float | None]:
    for key in _LOCATION_KEYS:
        if metadata.get(key):
            place = parse_iso6709(metadata[key])
            if place is not None:
                return place
    return None, None


def parse_iso6709(text: str) -> tuple[float, float] | None:
    """(latitude, longitude) from an ISO 6709 point such as '+48.8584+002.2945+035.000/'. The
    integer digits tell the form: degrees (±DD/±DDD), degrees and minutes (±DDMM/±DDDMM) or
    degrees, minutes and seconds (±DDMMSS/±DDDMMSS)."""
    match = _ISO6709.match(text)
    if not match:
        return None
    latitude = _sexagesimal(match.group(1), degree_digits=2)
    longitude = _sexagesimal(match.group(2), degree_digits=3)
    if latitude is None or longitude is None or abs(latitude) > 90 or abs(longitude) > 180:
        return None
    return latitude, longitude


def _sexagesimal(part: str, degree_digits: int) -> float | None:
    sign = -1.0 if part[0] == "-" else 1.0
    whole, _, fraction = part[1:].partition(".")
    fraction_value = float(f"0.{fraction}") if fraction else 0.0
    extra = len(whole) - degree_digits
    if extra == 0:
        value = int(whole) + fraction_value
    elif extra == 2:
        value = int(whole[:-2]) + (int(whole[-2:]) + fraction_value) / 60
    elif extra == 4:
        value = int(whole[:-4]) + int(whole[-4:-2]) / 60 + (int(whole[-2:]) + fraction_value) / 3600
    else:
        return None
    return round(sign * value, 7)


# Container keys that describe the file's plumbing (or have a field of their own), not its content.
_PLUMBING = {
    "major_brand", "minor_version", "compatible_brands", "creation_time", "handler_name", "vendor_id",
    "duration", "language", "location", "location-eng", "com.apple.quicktime.location.iso6709",
    "com.apple.quicktime.creationdate", "rotate",
}


def container_tags(metadata: dict[str, str], audio) -> dict[str, str]:
    """FFmpeg's names for the container's tags (it already maps ©nam, TIT2 and TITLE to title);
    Ogg keeps its comments on the audio stream."""
    merged = dict(lowered(audio.metadata)) if audio is not None else {}
    merged.update(metadata)
    tags = {}
    for key, value in merged.items():
        if key in _PLUMBING or len(key) > 64:
            continue
        key = key.removeprefix("com.apple.quicktime.")  # make, model, software from iPhones
        if key == "date":
            key, value = "year", _year(value)
        _put(tags, key, value)
    return tags


def _put(tags: dict[str, str], key: str, value: object) -> None:
    if not isinstance(value, str) or len(tags) >= MAX_TAGS or key in tags:
        return
    value = value.strip()[:MAX_TAG_CHARS].strip()
    if value:
        tags[key] = value


def _year(value: str | None) -> str:
    match = re.match(r"\s*(\d{4})", value or "")
    return match.group(1) if match else ""


# --- Audio tags with mutagen --------------------------------------------------------------------------


def _mutagen_types(demuxer: str) -> list[type]:
    """The one mutagen parser the demuxer's format calls for: no other parser sees the bytes."""
    from mutagen import aac, flac, mp3, mp4, oggflac, oggopus, oggvorbis, wave

    return {
        "mp3": [mp3.MP3], "mov": [mp4.MP4], "flac": [flac.FLAC], "wav": [wave.WAVE], "aac": [aac.AAC],
        "ogg": [oggopus.OggOpus, oggvorbis.OggVorbis, oggflac.OggFLAC],
    }.get(demuxer, [])


def audio_tags(stream: BinaryIO, demuxer: str) -> dict[str, str]:
    """Tags as mutagen reads them (it knows the taggers' conventions better than FFmpeg's generic
    map); empty when mutagen does not know the format or cannot read this file, and FFmpeg's then stand."""
    import mutagen

    options = _mutagen_types(demuxer)
    if not options:
        return {}
    stream.seek(0)
    try:
        parsed = mutagen.File(stream, options=options)
    except Exception:  # a tag block mutagen cannot read is no reason to refuse playable audio
        return {}
    finally:
        stream.seek(0)
    if parsed is None or parsed.tags is None:
        return {}
    return _normalized_tags(parsed.tags)


# Canonical name -> the keys that carry it in ID3, MP4 atoms and Vorbis comments.
_TAG_SOURCES = {
    "title": ("TIT2", "\xa9nam", "title"),
    "artist": ("TPE1", "\xa9ART", "artist"),
    "album": ("TALB", "\xa9alb", "album"),
    "album_artist": ("TPE2", "aART", "albumartist", "album artist"),
    "year": ("TDRC", "TYER", "\xa9day", "date", "year"),
    "genre": ("TCON", "\xa9gen", "genre"),
    "comment": ("COMM", "\xa9cmt", "comment", "description"),
    "track": ("TRCK", "trkn", "tracknumber"),
    "composer": ("TCOM", "\xa9wrt", "composer"),
    "copyright": ("TCOP", "cprt", "copyright"),
}


def _normalized_tags(tags) -> dict[str, str]:
    found: dict[str, str] = {}
    for name, keys in _TAG_SOURCES.items():
        for key in keys:
            value = _tag_text(tags, key)
            if name == "year":
                value = _year(value)
            if value:
                _put(found, name, value)
                break
    return found


def _tag_text(tags, key: str) -> str:
    """One tag as text, whichever mutagen tag class holds it."""
    try:
        if hasattr(tags, "getall"):
            return _id3_text(tags.getall(key))
        values = tags.get(key)
        if values is None and isinstance(key, str) and key.islower():  # Vorbis comments: any case
            values = tags.get(key.upper())
    except Exception:
        return ""
    if values is None:
        return ""
    if isinstance(values, str | bytes):
        values = [values]
    return _joined(values)


def _id3_text(frames: list) -> str:
    texts = []
    for frame in frames:
        if getattr(frame, "desc", "") and frame.FrameID == "COMM":
            continue  # described comments are players' data (iTunNORM, iTunSMPB), not the tagger's comment
        # TCON's text may be an ID3v1 genre number, "(17)"; `genres` spells it out.
        texts.extend(frame.genres if frame.FrameID == "TCON" else getattr(frame, "text", []))
    return _joined(texts)


def _joined(values: Iterable[object]) -> str:
    parts = []
    for value in values:
        if isinstance(value, tuple):  # MP4 track numbers: (track, total)
            value = "/".join(str(number) for number in value if number)
        elif isinstance(value, bytes):
            continue
        parts.append(str(value).strip())
    return "; ".join(part for part in parts if part)
