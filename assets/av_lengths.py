"""What a container says about its own length, checked against the file's size from its raw bytes.

FFmpeg plays a cut file quietly shorter and keeps reporting the length its header states, so a
truncated upload would pass every decoding check: these read the few header bytes that state the
length (before FFmpeg opens the stream, whose I/O layer assumes nobody else moves the position) and
refuse a file that is shorter than it says.
"""

from __future__ import annotations

from typing import BinaryIO

from assets.errors import RejectedUpload


def check_structure(stream: BinaryIO, demuxer: str, head: bytes, size: int, label: str) -> str:
    """The container's own statement of its length against the file's size, where it makes one
    that FFmpeg would trust over the missing bytes; returns the label refined (WebM or MKV)."""
    if demuxer == "matroska":
        return _check_matroska_head(head, size)
    if demuxer == "wav":
        _check_riff_size(head, size)
    elif demuxer == "ogg":
        _check_ogg_end(stream, size)
    elif demuxer == "mp3":
        _check_mp3_length(stream, size, label)
    return label


def _check_mp3_length(stream: BinaryIO, size: int, label: str) -> None:
    """LAME's Xing/Info header (and Fraunhofer's VBRI) states the byte length of the audio, from
    which FFmpeg takes the duration: a cut file still claims its full length. Checked against the
    file's size: no seeking, since an MP3 seek without an index reads the whole file."""
    offset = 0
    for _ in range(4):  # ID3v2 tags before the audio, possibly several
        stream.seek(offset)
        tag = stream.read(10)
        if len(tag) < 10 or tag[:3] != b"ID3":
            break
        offset += 10 + _syncsafe(tag[6:10]) + (10 if tag[5] & 0x10 else 0)
    stream.seek(offset)
    first_frame = stream.read(2048)
    stream.seek(0)
    stated = _mp3_stated_bytes(first_frame)
    if stated and offset + stated > size:
        raise RejectedUpload(
            f"corrupt or truncated {label} file (its header says {offset + stated:,} bytes but the file has {size:,})"
        )


def _mp3_stated_bytes(first_frame: bytes) -> int | None:
    for marker in (b"Xing", b"Info"):
        at = first_frame.find(marker)
        if at != -1 and len(first_frame) >= at + 16:
            flags = int.from_bytes(first_frame[at + 4 : at + 8], "big")
            if flags & 0x2:  # a byte count follows the frame count, when that is present
                field = at + 8 + (4 if flags & 0x1 else 0)
                return int.from_bytes(first_frame[field : field + 4], "big") or None
            return None
    at = first_frame.find(b"VBRI")
    if at != -1 and len(first_frame) >= at + 14:
        return int.from_bytes(first_frame[at + 10 : at + 14], "big") or None
    return None


def flac_states_total(head: bytes) -> bool:
    """Whether STREAMINFO states the total sample count (36 bits after 108 bits of other fields;
    0 means unknown), which FFmpeg then reports as the duration however much of the file is there."""
    return head[:4] == b"fLaC" and len(head) >= 26 and bool(int.from_bytes(head[21:26], "big") & (2**36 - 1))


def _syncsafe(data: bytes) -> int:
    return (data[0] & 0x7F) << 21 | (data[1] & 0x7F) << 14 | (data[2] & 0x7F) << 7 | (data[3] & 0x7F)


def _check_riff_size(head: bytes, size: int) -> None:
    """A WAV's RIFF header states the file's length; FFmpeg plays a cut one quietly shorter."""
    if head[:4] != b"RIFF" or len(head) < 8:
        return
    stated = int.from_bytes(head[4:8], "little") + 8
    # 0 and 0xFFFFFFFF are what streaming writers put when they cannot know the length.
    if 8 < stated < 0xFFFFFFF0 and stated > size:
        raise RejectedUpload(
            f"corrupt or truncated WAV file (its header says {stated:,} bytes but the file has {size:,})"
        )


_OGG_MAX_PAGE = 27 + 255 + 255 * 255


def _check_ogg_end(stream: BinaryIO, size: int) -> None:
    """Ogg states no length anywhere (FFmpeg takes it from the last page found), but a stream's
    last page is flagged end-of-stream and ends exactly at the end of the file: a cut file's last
    page is incomplete or unflagged."""
    stream.seek(max(0, size - _OGG_MAX_PAGE))
    tail = stream.read()
    stream.seek(0)
    start = tail.rfind(b"OggS\x00")
    while start != -1 and len(tail) - start < 27:
        start = tail.rfind(b"OggS\x00", 0, start)
    if start == -1:
        return  # no page near the end at all: FFmpeg will refuse it
    page = tail[start:]
    segments = page[26]
    length = 27 + segments + sum(page[27 : 27 + segments])
    if length > len(page) or not page[5] & 0x04:
        raise RejectedUpload("corrupt or truncated Ogg file (its last page is cut short or not the end of the stream)")


# --- Matroska header ------------------------------------------------------------------------------

_EBML, _DOCTYPE, _SEGMENT = 0x1A45DFA3, 0x4282, 0x18538067


def _check_matroska_head(head: bytes, size: int) -> str:
    """WebM or MKV, from the EBML DocType; and a Segment whose stated size runs past the end of
    the file is a truncated one (FFmpeg would play what is there and keep the header's duration)."""
    doctype, segment_end = matroska_head(head)
    label = "WebM" if doctype == "webm" else "MKV"
    if segment_end is not None and segment_end > size:
        raise RejectedUpload(
            f"corrupt or truncated {label} file (its segment runs to byte {segment_end:,} "
            f"but the file has {size:,} bytes)"
        )
    return label


def matroska_head(head: bytes) -> tuple[str | None, int | None]:
    """(DocType, end of the Segment or None when unknown) from the first bytes; (None, None) when
    they do not parse, leaving the verdict to FFmpeg."""
    element = _ebml_element(head, 0)
    if element is None or element[0] != _EBML:
        return None, None
    _, header_size, pos = element
    header_end = pos + header_size
    doctype = None
    while pos < min(header_end, len(head)):
        child = _ebml_element(head, pos)
        if child is None:
            break
        child_id, child_size, child_pos = child
        if child_id == _DOCTYPE:
            doctype = head[child_pos : child_pos + child_size].rstrip(b"\x00").decode("ascii", "replace")
        pos = child_pos + child_size
    segment = _ebml_element(head, header_end)
    if segment is None or segment[0] != _SEGMENT or segment[1] is None:
        return doctype, None
    return doctype, segment[2] + segment[1]


def _ebml_element(data: bytes, pos: int) -> tuple[int, int | None, int] | None:
    """(id, size or None when 'unknown', offset of the data) of the element at `pos`."""
    ident = _vint(data, pos)
    if ident is None:
        return None
    length, raw_id = ident
    size = _vint(data, pos + length)
    if size is None:
        return None
    size_length, raw_size = size
    value = raw_size & ((1 << (7 * size_length)) - 1)
    unknown = value == (1 << (7 * size_length)) - 1
    return raw_id, None if unknown else value, pos + length + size_length


def _vint(data: bytes, pos: int) -> tuple[int, int] | None:
    if pos >= len(data) or data[pos] == 0:
        return None
    length = 9 - data[pos].bit_length()
    if pos + length > len(data):
        return None
    return length, int.from_bytes(data[pos : pos + length], "big")
