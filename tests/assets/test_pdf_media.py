"""The PDF layer on its own (no database): what inspect_pdf accepts and refuses, the text and page
pictures read out of a document, and that PDFium is only ever entered by one thread at a time."""

from __future__ import annotations

import contextlib
import datetime
import io
import json
import threading
from concurrent.futures import ThreadPoolExecutor

import numpy as np
import pypdfium2 as pdfium
import pytest
from django.core.files.uploadedfile import SimpleUploadedFile, TemporaryUploadedFile
from django.test import override_settings
from pypdfium2.internal.bases import ObjectTracker

from assets import pdf as pdf_module
from assets.errors import RejectedUpload
from assets.pdf import inspect_pdf, normalise_text, page_texts, parse_pdf_date, render_pages
from tests.pdf_files import (
    encrypted_pdf_bytes,
    junk_after_header_bytes,
    not_pdf_bytes,
    pdf_bytes,
    scanned_pdf_bytes,
    truncated_pdf_bytes,
)

THREE_PAGES = ["Alpha apple\nsecond    line", "Beta banana", "Gamma cherry"]


def three_page_pdf() -> bytes:
    return pdf_bytes(
        THREE_PAGES, title="Annual report", author="Ann Author", subject="Finances", keywords="money, 2019",
        creator="Writer", producer="Hand-made",
    )


def rejection(data: bytes) -> str:
    with pytest.raises(RejectedUpload) as caught:
        inspect_pdf(io.BytesIO(data))
    return caught.value.reason


def open_objects() -> int:
    """pypdfium2 objects (documents, pages, text pages, bitmaps) not yet closed."""
    return sum(1 for refs in ObjectTracker.values() for ref in refs if ref() is not None)


def dark_pixels(image) -> np.ndarray:
    """(rows, columns) of the pixels dark enough to be ink."""
    return np.nonzero(np.asarray(image.convert("L")) < 128)


# --- Info ---------------------------------------------------------------------------------------


def test_info_of_a_three_page_document():
    info = inspect_pdf(io.BytesIO(three_page_pdf()))
    assert (info.page_count, info.width, info.height) == (3, 612, 792)
    assert (info.title, info.author, info.subject, info.keywords) == ("Annual report", "Ann Author", "Finances",
                                                                      "money, 2019")
    assert (info.creator, info.producer) == ("Writer", "Hand-made")
    data = json.loads(json.dumps(info.as_json()))
    assert data["page_count"] == 3 and data["title"] == "Annual report"
    assert data["created_at"] == "2019-06-12T08:30:00+02:00"


def test_creation_date_keeps_its_offset():
    info = inspect_pdf(io.BytesIO(pdf_bytes(["x"], creation_date="D:20190612083000+02'00'")))
    assert info.created_at == datetime.datetime(2019, 6, 12, 6, 30, tzinfo=datetime.UTC)
    assert info.created_at.utcoffset() == datetime.timedelta(hours=2)
    west = inspect_pdf(io.BytesIO(pdf_bytes(["x"], creation_date="D:20200229235959-05'30'"))).created_at
    assert west.utcoffset() == -datetime.timedelta(hours=5, minutes=30) and west.day == 29


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("D:2019", datetime.datetime(2019, 1, 1, tzinfo=datetime.UTC)),
        ("20190612083000Z", datetime.datetime(2019, 6, 12, 8, 30, tzinfo=datetime.UTC)),
        ("D:20190612083000+02'00", datetime.datetime(2019, 6, 12, 6, 30, tzinfo=datetime.UTC)),
        ("D:20191312", None),  # month 13
        ("D:20190612083000+25'00'", None),
        ("June 12, 2019", None),
        ("", None),
    ],
)
def test_pdf_date_strings(value, expected):
    parsed = parse_pdf_date(value)
    assert parsed == expected
    assert parsed is None or parsed.tzinfo is not None


def test_missing_or_malformed_creation_date_is_none():
    assert inspect_pdf(io.BytesIO(pdf_bytes(["x"], creation_date=None))).created_at is None
    assert inspect_pdf(io.BytesIO(pdf_bytes(["x"], creation_date="yesterday"))).created_at is None


def test_info_strings_lose_control_characters_and_are_trimmed():
    info = inspect_pdf(io.BytesIO(pdf_bytes(["x"], title="Bad\x00\x07 title\nhere é", author="a" * 600)))
    assert info.title == "Bad title here é"
    assert info.author == "a" * 500


def test_lone_surrogate_in_title_does_not_reject():
    data = pdf_bytes(["x"], title="ABCDEFGH")
    # "A", an unpaired high surrogate, "B" in UTF-16 (which PDFium passes through), in as many bytes.
    broken = data.replace(b"/Title <4142434445464748>", b"/Title <FEFF0041D8000042>")
    assert broken != data
    assert inspect_pdf(io.BytesIO(broken)).title == "A\ufffdB"


# --- Rejections ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("data", "words"),
    [
        (truncated_pdf_bytes(), ["corrupt or truncated PDF"]),
        (junk_after_header_bytes(), ["corrupt or truncated PDF"]),
        (not_pdf_bytes(), ["not a PDF"]),
        (b"", ["not a PDF"]),
        (pdf_bytes([]), ["no pages"]),
        (encrypted_pdf_bytes(), ["password-protected", "without its password"]),
        (pdf_bytes(["a", "b"], unreadable_pages=(0,)), ["first page cannot be loaded"]),
        (pdf_bytes(["x"], page_size=(20_000, 300)), ["20000x300 points", "200 inches"]),
        # PDFium replaces an empty MediaBox with Letter; a box under half a point wide stays.
        (pdf_bytes(["x"], page_size=(0.2, 792)), ["no size"]),
    ],
    ids=["truncated", "junk-after-header", "png", "empty", "zero-pages", "encrypted", "first-page-unreadable",
         "huge-page", "no-width"],
)
def test_rejections_say_why(data, words):
    reason = rejection(data)
    for word in words:
        assert word in reason
    assert len(reason) <= 300


def test_encrypted_fixture_is_a_real_encrypted_pdf():
    """The rejection is about the password, not a broken file: with it, the same bytes open."""
    with (
        pdf_module._LOCK,
        pdfium.PdfDocument(encrypted_pdf_bytes("secret"), password="secret") as document,
        contextlib.closing(document[0]) as page,
        contextlib.closing(page.get_textpage()) as textpage,
    ):
        assert textpage.get_text_range() == "locked words"


def test_page_limit_is_read_at_call_time():
    data = three_page_pdf()
    with override_settings(MAX_PDF_PAGES=2):
        reason = rejection(data)
    assert "3 pages" in reason and "limit of 2 pages" in reason
    with override_settings(MAX_PDF_PAGES=3):
        assert inspect_pdf(io.BytesIO(data)).page_count == 3


# --- Streams ------------------------------------------------------------------------------------


def test_stream_is_rewound_and_left_open():
    stream = io.BytesIO(three_page_pdf())
    stream.seek(17)
    assert inspect_pdf(stream).page_count == 3
    assert stream.tell() == 0 and not stream.closed
    broken = io.BytesIO(junk_after_header_bytes())
    with pytest.raises(RejectedUpload):
        inspect_pdf(broken)
    assert broken.tell() == 0 and not broken.closed


def test_django_uploaded_files(settings, tmp_path):
    settings.FILE_UPLOAD_TEMP_DIR = str(tmp_path)
    data = three_page_pdf()
    in_memory = SimpleUploadedFile("report.pdf", data, content_type="application/pdf")
    on_disk = TemporaryUploadedFile("report.pdf", "application/pdf", len(data), None)
    on_disk.write(data)
    with on_disk:
        for upload in (in_memory, on_disk):
            assert inspect_pdf(upload).page_count == 3
            assert page_texts(upload)[2] == "Gamma cherry"
            assert upload.tell() == 0 and not upload.closed


class ReadOnly:
    """A stream without readinto (as some storage backends hand out): read whole instead."""

    def __init__(self, data: bytes):
        self._buffer = io.BytesIO(data)

    def read(self, size: int = -1) -> bytes:
        return self._buffer.read(size)

    def seek(self, offset: int, whence: int = 0) -> int:
        return self._buffer.seek(offset, whence)

    def tell(self) -> int:
        return self._buffer.tell()


def test_stream_without_readinto():
    stream = ReadOnly(three_page_pdf())
    assert inspect_pdf(stream).title == "Annual report"
    assert stream.tell() == 0


def test_every_pdfium_object_is_closed():
    before = open_objects()
    data = three_page_pdf()
    inspect_pdf(io.BytesIO(data))
    page_texts(io.BytesIO(data))
    render_pages(io.BytesIO(data), 64, 3)
    render_pages(io.BytesIO(pdf_bytes(["a", "b"], unreadable_pages=(1,))), 64, 2)
    with pytest.raises(RejectedUpload):
        inspect_pdf(io.BytesIO(pdf_bytes(["x"], page_size=(0.2, 792))))
    assert open_objects() == before


# --- Text ---------------------------------------------------------------------------------------


def test_page_texts_in_order_with_whitespace_normalised():
    assert page_texts(io.BytesIO(three_page_pdf())) == ["Alpha apple\nsecond line", "Beta banana", "Gamma cherry"]


def test_normalise_text():
    raw = "  Head\x00line \t with\xa0 gaps \r\n\r\n\r\n\r\nnext\x02 para\rlast\ufffe  "
    assert normalise_text(raw) == "Headline with gaps\n\nnext para\nlast"


def test_scanned_pages_have_no_text():
    data = scanned_pdf_bytes(pages=2)
    assert inspect_pdf(io.BytesIO(data)).page_count == 2
    assert page_texts(io.BytesIO(data)) == ["", ""]


def test_unreadable_page_gives_empty_text_and_the_others_continue():
    data = pdf_bytes(["first words", "lost", "third words"], unreadable_pages=(1,))
    assert page_texts(io.BytesIO(data)) == ["first words", "", "third words"]


def test_text_is_capped_over_all_pages():
    data = pdf_bytes(["aaaaaaaaaa", "bbbbbbbbbb", "cccccccccc", "dddddddddd"])  # ten characters a page
    texts = page_texts(io.BytesIO(data), limit_chars=15)
    assert texts == ["aaaaaaaaaa", "bbbbb", "", ""]
    assert page_texts(io.BytesIO(data), limit_chars=20) == ["aaaaaaaaaa", "bbbbbbbbbb", "", ""]
    assert page_texts(io.BytesIO(data), limit_chars=0) == ["", "", "", ""]


def test_cap_counts_normalised_characters():
    """PDFium ends lines with CR LF, one character once normalised, so reading only as many raw
    characters as the cap allows would stop short; the page is read further until the cap is filled."""
    data = pdf_bytes(["aaaaaaaaaa", "bb\nbb\nbb\nbb", "cc"])
    assert page_texts(io.BytesIO(data)) == ["aaaaaaaaaa", "bb\nbb\nbb\nbb", "cc"]
    assert page_texts(io.BytesIO(data), limit_chars=15) == ["aaaaaaaaaa", "bb\nbb", ""]


# --- Pictures -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("page_size", "rotate", "expected"),
    [((612, 792), None, (155, 200)), ((792, 612), None, (200, 155)), ((612, 792), 90, (200, 155))],
    ids=["portrait", "landscape", "portrait-rotated-90"],
)
def test_render_sizes(page_size, rotate, expected):
    images = render_pages(io.BytesIO(pdf_bytes(["Hello"] * 3, page_size=page_size, rotate=rotate)), 200, 2)
    assert [image.size for image in images] == [expected, expected]
    assert all(image.mode == "RGB" for image in images)


@pytest.mark.parametrize(
    ("page_size", "max_side"),
    # (612, 400) at 317: 317 / 612 * 612 is a hair over 317 in floating point, a 318-pixel bitmap unless nudged.
    [((612, 400), 317), ((400, 612), 21), ((595.28, 841.89), 333), ((1, 14_400), 333), ((14_400, 14_400), 64),
     ((3, 7), 333)],
)
def test_long_side_is_exactly_max_side(page_size, max_side):
    (image,) = render_pages(io.BytesIO(pdf_bytes([""], page_size=page_size)), max_side, 1)
    assert max(image.size) == max_side


def test_render_page_count():
    data = three_page_pdf()
    assert len(render_pages(io.BytesIO(data), 50, 2)) == 2
    assert len(render_pages(io.BytesIO(data), 50, 10)) == 3
    assert render_pages(io.BytesIO(data), 50, 0) == []


def test_rendered_page_shows_its_text_on_white():
    (image,) = render_pages(io.BytesIO(pdf_bytes(["Hello world, a line of text"])), 600, 1)
    rows, columns = dark_pixels(image)
    assert len(rows) > 100
    assert image.getpixel((image.width - 5, image.height - 5)) == (255, 255, 255)
    # The line runs across, near the top left, where the content stream put it.
    assert columns.max() - columns.min() > 3 * (rows.max() - rows.min())
    assert rows.max() < image.height / 4 and columns.min() < image.width / 4


def test_rotated_page_is_drawn_turned():
    """/Rotate 90 turns the page clockwise: the line at the top now runs down the right-hand side."""
    (image,) = render_pages(io.BytesIO(pdf_bytes(["Hello world, a line of text"], rotate=90)), 600, 1)
    rows, columns = dark_pixels(image)
    assert image.width > image.height
    assert rows.max() - rows.min() > 3 * (columns.max() - columns.min())
    assert columns.min() > image.width * 3 / 4


def test_scanned_page_renders_its_picture():
    (image,) = render_pages(io.BytesIO(scanned_pdf_bytes(pages=1)), 260, 1)
    assert image.size == (200, 260)
    rows, _ = dark_pixels(image)
    assert len(rows) > 1000


# --- Threads ------------------------------------------------------------------------------------


def test_concurrent_calls_on_different_documents():
    documents = {n: pdf_bytes([f"document {n} page {p}" for p in range(n)], title=f"doc {n}") for n in range(1, 7)}

    def check(n: int) -> tuple[int, int, str, list[str], int]:
        data = documents[n]
        info = inspect_pdf(io.BytesIO(data))
        return info.page_count, n, info.title, page_texts(io.BytesIO(data)), len(render_pages(io.BytesIO(data), 40, 2))

    with ThreadPoolExecutor(max_workers=6) as pool:
        results = list(pool.map(check, [n for _ in range(4) for n in documents]))
    assert len(results) == 24
    for page_count, n, title, texts, rendered in results:
        assert page_count == n and title == f"doc {n}"
        assert texts == [f"document {n} page {p}" for p in range(n)]
        assert rendered == min(n, 2)


def test_pdfium_waits_for_the_module_lock():
    data = three_page_pdf()
    results = []
    worker = threading.Thread(target=lambda: results.append(inspect_pdf(io.BytesIO(data)).page_count))
    with pdf_module._LOCK:
        worker.start()
        worker.join(timeout=0.3)
        assert worker.is_alive() and results == []
    worker.join(timeout=10)
    assert results == [3]
