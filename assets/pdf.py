"""PDF documents as uploads: refuse what is not a sound PDF, then read out its text and pictures.

PDFium (through pypdfium2) does the parsing, as it does in Chrome: it is fast, repairs what can be
repaired and fails cleanly on the rest. Two of its properties shape this module:

* PDFium is not thread-safe, and the web server runs requests in threads, so every call into it made
  here happens under one module-level lock.
* Its objects hold native memory and, for file input, a reader on the caller's stream; each is closed
  as soon as it is done with (before the lock is released), never left to the garbage collector,
  which could run its finalizer in another thread, outside the lock.

Nothing here touches the database: callers decide what to store.
"""

from __future__ import annotations

import contextlib
import ctypes
import dataclasses
import datetime
import math
import re
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from typing import BinaryIO

import pypdfium2 as pdfium
import pypdfium2.raw as pdfium_c
from django.conf import settings
from PIL import Image

from assets.errors import RejectedUpload

_LOCK = threading.Lock()

# PDFium, like Acrobat, accepts the header anywhere in the first kilobyte (some files start with junk).
HEADER_BYTES = 1024
NOT_PDF = "file content is not a PDF document (no %PDF- header)"
MAX_PAGE_POINTS = 14_400  # 200 inches, the largest page PDF 1.7 allows (Annex C)
INFO_CHARS = 500


@dataclass(frozen=True)
class PdfInfo:
    page_count: int
    width: int  # first page as displayed (its /Rotate applied), in points (1/72 in), rounded
    height: int
    title: str = ""
    author: str = ""
    subject: str = ""
    keywords: str = ""
    creator: str = ""
    producer: str = ""
    created_at: datetime.datetime | None = None

    def as_json(self) -> dict:
        data = dataclasses.asdict(self)
        data["created_at"] = self.created_at.isoformat() if self.created_at else None
        return data


# --- Opening ------------------------------------------------------------------------------------

_LOAD_ERRORS = {
    pdfium_c.FPDF_ERR_FILE: "file access error",
    pdfium_c.FPDF_ERR_FORMAT: "data format error",
    pdfium_c.FPDF_ERR_PAGE: "page not found or content error",
}
_GET_BLOCK = dict(pdfium_c.FPDF_FILEACCESS._fields_)["m_GetBlock"]


def _load_error(code: int) -> RejectedUpload:
    if code == pdfium_c.FPDF_ERR_PASSWORD:
        return RejectedUpload("PDF document is password-protected: it cannot be opened without its password")
    if code == pdfium_c.FPDF_ERR_SECURITY:
        return RejectedUpload("PDF document is encrypted with a security handler PDFium does not support")
    return RejectedUpload(f"corrupt or truncated PDF document (PDFium: {_LOAD_ERRORS.get(code, 'unknown error')})")


def _is_readable_stream(stream: object) -> bool:
    return all(callable(getattr(stream, name, None)) for name in ("seek", "tell", "read", "readinto"))


def _file_access(stream: BinaryIO) -> tuple[pdfium_c.FPDF_FILEACCESS, object]:
    """PDFium's reader on `stream`: it reads blocks on demand, so a 100 MB upload spooled to disk
    is never copied into memory whole."""
    length = stream.seek(0, 2)

    def get_block(_param, position: int, buffer, size: int) -> int:
        # An exception must not cross into C: a failed read is PDFium's to handle (it reports a file error).
        try:
            stream.seek(position)
            target = (ctypes.c_ubyte * size).from_address(ctypes.addressof(buffer.contents))
            return int(stream.readinto(target) == size)
        except Exception:
            return 0

    callback = _GET_BLOCK(get_block)
    return pdfium_c.FPDF_FILEACCESS(m_FileLen=length, m_GetBlock=callback, m_Param=None), callback


def _load(stream: BinaryIO) -> tuple[pdfium_c.FPDF_DOCUMENT, list]:
    """The raw document handle and what must outlive it (PDFium reads from it until it is closed).

    The raw API rather than ``PdfDocument(stream)``: pypdfium2 raises on a document of zero pages
    without closing the handle it opened, a leak an upload could repeat at will.
    """
    if _is_readable_stream(stream):
        access, callback = _file_access(stream)
        held: list = [access, callback]
        raw = pdfium_c.FPDF_LoadCustomDocument(access, None)
    else:
        data = stream.read()
        held = [data]
        raw = pdfium_c.FPDF_LoadMemDocument64(data, len(data), None)
    if not raw:
        raise _load_error(pdfium_c.FPDF_GetLastError())
    return raw, held


@contextlib.contextmanager
def _document(stream: BinaryIO) -> Iterator[pdfium.PdfDocument]:
    """`stream` open as a PDF document, closed on exit; the caller holds `_LOCK` throughout."""
    stream.seek(0)
    if b"%PDF-" not in stream.read(HEADER_BYTES):
        raise RejectedUpload(NOT_PDF)
    stream.seek(0)
    raw, held = _load(stream)
    pdf = pdfium.PdfDocument(raw)
    try:
        yield pdf
    finally:
        pdf.close()
        held.clear()


@contextlib.contextmanager
def _reading(stream: BinaryIO) -> Iterator[pdfium.PdfDocument]:
    """`_document` under the lock, with every failure a RejectedUpload and the stream rewound after."""
    try:
        with _LOCK, _document(stream) as pdf:
            yield pdf
    except RejectedUpload:
        raise
    except Exception as exc:  # PDFium and pypdfium2 raise several types on broken input; each is a rejection
        raise RejectedUpload(f"corrupt or truncated PDF document ({type(exc).__name__}: {exc})"[:300]) from None
    finally:
        stream.seek(0)


# --- Validation ---------------------------------------------------------------------------------


def inspect_pdf(stream: BinaryIO) -> PdfInfo:
    """Open the document, check its page count and first page, read its info dictionary; raise
    RejectedUpload for anything unsound. Bounded work: no page but the first is loaded."""
    with _reading(stream) as pdf:
        page_count = _check_page_count(len(pdf))
        width, height = _first_page_size(pdf)
        meta = {key: _info_text(pdf, key) for key in ("Title", "Author", "Subject", "Keywords", "Creator", "Producer")}
        created_at = parse_pdf_date(_info_text(pdf, "CreationDate"))
    return PdfInfo(
        page_count=page_count, width=width, height=height,
        title=meta["Title"], author=meta["Author"], subject=meta["Subject"], keywords=meta["Keywords"],
        creator=meta["Creator"], producer=meta["Producer"], created_at=created_at,
    )


def _check_page_count(count: int) -> int:
    if count < 1:
        raise RejectedUpload("PDF document has no pages")
    if count > settings.MAX_PDF_PAGES:
        raise RejectedUpload(f"PDF document has {count:,} pages, over the limit of {settings.MAX_PDF_PAGES:,} pages")
    return count


def _first_page_size(pdf: pdfium.PdfDocument) -> tuple[int, int]:
    try:
        page = pdf[0]
    except pdfium.PdfiumError:
        raise RejectedUpload("corrupt PDF document: its first page cannot be loaded") from None
    with contextlib.closing(page):
        width, height = page.get_size()
    if not (math.isfinite(width) and math.isfinite(height)) or round(width) < 1 or round(height) < 1:
        raise RejectedUpload("corrupt PDF document: its first page has no size")
    if max(width, height) > MAX_PAGE_POINTS:
        raise RejectedUpload(
            f"PDF page is {round(width)}x{round(height)} points, over the limit of {MAX_PAGE_POINTS:,} points "
            f"({MAX_PAGE_POINTS // 72} inches) a side"
        )
    return round(width), round(height)


_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f\ufffe\uffff]")
_SPACES = re.compile(r"\s+")


def _info_text(pdf: pdfium.PdfDocument, key: str) -> str:
    """One entry of the info dictionary, on one line, without control characters, at most INFO_CHARS long.

    Not ``get_metadata_value``: it decodes strictly, and a title with a lone UTF-16 surrogate (which
    PDFium passes through) would turn a readable document into a rejection.
    """
    name = key.encode("ascii") + b"\x00"
    size = pdfium_c.FPDF_GetMetaText(pdf, name, None, 0)  # in bytes, with the two-byte terminator
    if size <= 2:
        return ""
    buffer = ctypes.create_string_buffer(size)
    pdfium_c.FPDF_GetMetaText(pdf, name, buffer, size)
    text = buffer.raw[: size - 2].decode("utf-16-le", errors="replace")
    text = _SPACES.sub(" ", _CONTROL.sub(lambda m: " " if m.group().isspace() else "", text)).strip()
    return text[:INFO_CHARS].rstrip()


# D:YYYYMMDDHHmmSSOHH'mm' (PDF 1.7, 7.9.4): everything after the year is optional; many writers drop
# the "D:" or the last apostrophe.
_PDF_DATE = re.compile(
    r"(?:D:)?(\d{4})(\d{2})?(\d{2})?(\d{2})?(\d{2})?(\d{2})?(?:([Zz+\-])(?:(\d{2})'?(?:(\d{2})'?)?)?)?"
)


def parse_pdf_date(value: str) -> datetime.datetime | None:
    """An aware datetime from a PDF date string; None when it is empty or malformed.

    A date without an offset is taken as UTC: the standard calls its zone unknown, and an aware
    value is what the rest of MediaVault stores.
    """
    match = _PDF_DATE.fullmatch(value.strip())
    if match is None:
        return None
    year, month, day, hour, minute, second, sign, off_hours, off_minutes = match.groups()
    try:
        zone = _zone(sign, int(off_hours or 0), int(off_minutes or 0))
        return datetime.datetime(
            int(year), int(month or 1), int(day or 1), int(hour or 0), int(minute or 0), int(second or 0), tzinfo=zone
        )
    except ValueError:
        return None


def _zone(sign: str | None, hours: int, minutes: int) -> datetime.timezone:
    if hours > 23 or minutes > 59:
        raise ValueError("offset out of range")
    if sign in (None, "Z", "z") or hours == minutes == 0:
        return datetime.UTC
    offset = datetime.timedelta(hours=hours, minutes=minutes)
    return datetime.timezone(-offset if sign == "-" else offset)


# --- Text ---------------------------------------------------------------------------------------


def page_texts(stream: BinaryIO, limit_chars: int = 200_000) -> list[str]:
    """The text layer of every page, in order, whitespace normalised; "" for a page without one
    (a scan) or that cannot be loaded. At most `limit_chars` in all: the page that reaches the cap
    is cut there, and the pages after it are "" without even being loaded."""
    texts: list[str] = []
    remaining = limit_chars
    with _reading(stream) as pdf:
        for index in range(len(pdf)):
            text = _page_text(pdf, index, remaining) if remaining > 0 else ""
            texts.append(text)
            remaining -= len(text)
    return texts


def _page_text(pdf: pdfium.PdfDocument, index: int, limit: int) -> str:
    """The normalised text of page `index`, cut at `limit` characters."""
    try:
        with contextlib.closing(pdf[index]) as page, contextlib.closing(page.get_textpage()) as textpage:
            available = textpage.count_chars()
            # Read no more than the cap needs; normalising shrinks runs of spaces, so read more while
            # what is read falls short of `limit` and the page has more (a few rounds at most).
            count = min(available, limit)
            text = normalise_text(textpage.get_text_range(0, count)) if count else ""
            while len(text) < limit and count < available:
                count = min(available, 2 * count)
                text = normalise_text(textpage.get_text_range(0, count))
    except Exception:  # one broken page (a missing object, bad content) must not cost the others their text
        return ""
    return text[:limit]


_LINE_BREAK = re.compile(r"\r\n?")
_TEXT_CONTROL = re.compile(r"[\x00-\x08\x0e-\x1f\x7f-\x9f\ufffe\uffff]")
_RUN_OF_SPACES = re.compile(r"[^\S\n]+")
_BLANK_LINES = re.compile(r"\n{3,}")


def normalise_text(text: str) -> str:
    """Runs of spaces as one, each line stripped, line breaks kept (at most one blank line in a row)."""
    text = _TEXT_CONTROL.sub("", _LINE_BREAK.sub("\n", text))
    lines = (line.strip() for line in _RUN_OF_SPACES.sub(" ", text).split("\n"))
    return _BLANK_LINES.sub("\n\n", "\n".join(lines)).strip()


# --- Pictures -----------------------------------------------------------------------------------


def render_pages(stream: BinaryIO, max_side: int, pages: int) -> list[Image.Image]:
    """The first `pages` pages as RGB images on white, each scaled so its longer side is `max_side`
    pixels, as displayed (PDFium applies the page's /Rotate). A page that cannot be loaded or
    rendered is left out, so the list may be shorter than the document."""
    if max_side < 1:
        raise ValueError("max_side must be at least 1")
    images: list[Image.Image] = []
    with _reading(stream) as pdf:
        for index in range(min(max(pages, 0), len(pdf))):
            image = _render_page(pdf, index, max_side)
            if image is not None:
                images.append(image)
    return images


def _render_page(pdf: pdfium.PdfDocument, index: int, max_side: int) -> Image.Image | None:
    try:
        with contextlib.closing(pdf[index]) as page:
            width, height = page.get_size()
            if not (math.isfinite(width) and math.isfinite(height)) or min(width, height) <= 0:
                return None
            scale = fit_scale(max(width, height), max_side)
            # rev_byteorder: RGB rather than PDFium's native BGR, which Pillow would have to swap.
            bitmap = page.render(scale=scale, fill_color=(255, 255, 255, 255), rev_byteorder=True)
            with contextlib.closing(bitmap):
                # A copy: the bitmap's buffer is not the image's to keep once the bitmap is closed.
                return bitmap.to_pil().convert("RGB")
    except Exception:  # a page that cannot be drawn is left out; the others still are
        return None


def fit_scale(long_side: float, max_side: int) -> float:
    """Pixels per point that make `long_side` points `max_side` pixels: pypdfium2 rounds the bitmap
    up, so the scale is nudged down until that rounding cannot exceed `max_side`."""
    scale = max_side / long_side
    while math.ceil(long_side * scale) > max_side:
        scale = math.nextafter(scale, 0)
    return scale
