"""Small PDFs for tests, written here byte by byte: no sample files to download or keep in sync,
and every property a test depends on (page count, words, rotation, dates, encryption) is visible
in the call that makes the file.

The writer produces classic PDF 1.4 files (objects, an xref table with true byte offsets, a trailer
with /Info), so PDFium parses them without falling back to its repair path; the broken variants
below exist precisely to reach that path.
"""

from __future__ import annotations

import hashlib
import io

from PIL import Image, ImageDraw

# The standard security handler's padding string (PDF 1.7, 7.6.3.3, Algorithm 2 step a).
_PASSWORD_PAD = bytes.fromhex("28BF4E5E4E758A4164004E56FFFA01082E2E00B6D0683E802F0CA9FE6453697A")
_FILE_ID = hashlib.md5(b"mediavault test pdf").digest()


def pdf_bytes(
    pages: list[str],
    title: str | None = None,
    author: str | None = None,
    subject: str | None = None,
    keywords: str | None = None,
    creation_date: str | None = "D:20190612083000+02'00'",
    rotate: int | None = None,
    page_size: tuple[float, float] = (612, 792),
    creator: str | None = None,
    producer: str | None = None,
    user_password: str | None = None,
    unreadable_pages: tuple[int, ...] = (),
) -> bytes:
    """A valid PDF with one page per string, each line of a string drawn in 12 pt Helvetica.

    An empty `pages` gives a document whose /Pages has /Count 0 and no kids. `rotate` sets /Rotate on
    every page. `user_password` encrypts the file (RC4 40-bit, standard security handler, revision 2):
    no reader opens it without that password. The pages numbered (from 0) in `unreadable_pages` are
    kids that point at objects the file does not have: counted as pages, but no reader can load them.
    """
    info = {
        "Title": title, "Author": author, "Subject": subject, "Keywords": keywords,
        "Creator": creator, "Producer": producer, "CreationDate": creation_date,
    }
    writer = _Writer(_Rc4Encryption(user_password) if user_password is not None else None)
    catalog, tree, font = 1, 2, 3
    writer.add(catalog, f"<< /Type /Catalog /Pages {tree} 0 R >>".encode())
    writer.add(font, b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica /Encoding /WinAnsiEncoding >>")
    kids = []
    for index, text in enumerate(pages):
        page, content = 4 + 2 * index, 5 + 2 * index
        if index in unreadable_pages:
            kids.append(f"{900 + index} 0 R")
            continue
        kids.append(f"{page} 0 R")
        rotation = f" /Rotate {rotate}" if rotate is not None else ""
        width, height = page_size
        writer.add(
            page,
            f"<< /Type /Page /Parent {tree} 0 R /MediaBox [0 0 {width:g} {height:g}]{rotation} "
            f"/Resources << /Font << /F1 {font} 0 R >> >> /Contents {content} 0 R >>".encode(),
        )
        writer.add_stream(content, _text_content(text, top=height - 72))
    writer.add(tree, f"<< /Type /Pages /Kids [{' '.join(kids)}] /Count {len(pages)} >>".encode())
    info_number = 4 + 2 * len(pages)
    entries = [b"/" + key.encode() + b" " + writer.text_string(info_number, value)
               for key, value in info.items() if value is not None]
    writer.add(info_number, b"<< " + b" ".join(entries) + b" >>")
    return writer.finish(root=catalog, info=info_number)


def encrypted_pdf_bytes(password: str = "secret", pages: list[str] | None = None) -> bytes:
    """A password-protected PDF (RC4 40-bit, non-empty user password)."""
    return pdf_bytes(pages if pages is not None else ["locked words"], title="Locked", user_password=password)


def scanned_pdf_bytes(pages: int = 2, size: tuple[int, int] = (200, 260)) -> bytes:
    """A PDF whose pages are only pictures, as a scanner writes them: something to see, no text layer."""
    images = []
    for index in range(pages):
        image = Image.new("RGB", size, "white")
        ImageDraw.Draw(image).rectangle((20, 20 + 10 * index, 180, 60 + 10 * index), fill="black")
        images.append(image)
    buffer = io.BytesIO()
    images[0].save(buffer, "PDF", save_all=True, append_images=images[1:], resolution=72)
    return buffer.getvalue()


def truncated_pdf_bytes() -> bytes:
    """The first 30 bytes of a valid PDF: the header and the start of the catalog, nothing to repair from."""
    return pdf_bytes(["one", "two"])[:30]


def junk_after_header_bytes() -> bytes:
    """A PDF header followed by bytes that hold no objects at all."""
    return b"%PDF-1.4\n" + bytes(range(256)) * 8


def not_pdf_bytes() -> bytes:
    """A PNG: a real file of another kind, sent as a PDF."""
    buffer = io.BytesIO()
    Image.new("RGB", (8, 8), "red").save(buffer, "PNG")
    return buffer.getvalue()


def _text_content(text: str, top: float) -> bytes:
    lines = text.split("\n")
    ops = ["BT", "/F1 12 Tf", "14 TL", f"72 {top:g} Td"]
    for number, line in enumerate(lines):
        ops.append(("" if number == 0 else "T* ") + f"({_escape(line)}) Tj")
    ops.append("ET")
    return "\n".join(ops).encode("cp1252")


def _escape(text: str) -> str:
    return text.replace("\\", "\\\\").replace("(", "\\(").replace(")", "\\)")


class _Writer:
    """Collects numbered objects and writes them with a correct cross-reference table."""

    def __init__(self, encryption: _Rc4Encryption | None):
        self.objects: dict[int, bytes] = {}
        self.encryption = encryption

    def add(self, number: int, body: bytes) -> None:
        self.objects[number] = body

    def add_stream(self, number: int, data: bytes) -> None:
        if self.encryption is not None:
            data = self.encryption.encrypt(number, data)
        self.objects[number] = b"<< /Length %d >>\nstream\n" % len(data) + data + b"\nendstream"

    def text_string(self, number: int, value: str) -> bytes:
        """`value` as a PDF text string of object `number`: PDFDocEncoding where plain ASCII does,
        UTF-16BE with a byte order mark otherwise; encrypted with the object's key when the file is."""
        plain = value.isascii() and value.isprintable()
        raw = value.encode("ascii") if plain else b"\xfe\xff" + value.encode("utf-16-be")
        if self.encryption is not None:
            raw = self.encryption.encrypt(number, raw)
        return b"<" + raw.hex().upper().encode() + b">"

    def finish(self, root: int, info: int) -> bytes:
        out = bytearray(b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n")
        size = max(self.objects) + 1
        offsets = [0] * size
        for number in sorted(self.objects):
            offsets[number] = len(out)
            out += b"%d 0 obj\n" % number + self.objects[number] + b"\nendobj\n"
        encrypt = b""
        if self.encryption is not None:
            offsets.append(len(out))
            out += b"%d 0 obj\n" % size + self.encryption.dictionary() + b"\nendobj\n"
            encrypt = b" /Encrypt %d 0 R" % size
            size += 1
        xref = len(out)
        out += b"xref\n0 %d\n0000000000 65535 f \n" % size
        for number in range(1, size):
            # Numbers the writer skipped are free entries, so the table still covers 0..size-1.
            out += b"%010d 00000 n \n" % offsets[number] if offsets[number] else b"0000000000 65535 f \n"
        file_id = _FILE_ID.hex().upper().encode()
        out += (
            b"trailer\n<< /Size %d /Root %d 0 R /Info %d 0 R /ID [<%s> <%s>]%s >>\nstartxref\n%d\n%%%%EOF\n"
            % (size, root, info, file_id, file_id, encrypt, xref)
        )
        return bytes(out)


class _Rc4Encryption:
    """The standard security handler, revision 2 (RC4, 40-bit key), PDF 1.7 section 7.6.3.

    The owner password is the user password: only the user password matters to these tests.
    """

    PERMISSIONS = -44  # print, modify, copy and annotate allowed; the reserved bits as the spec wants

    def __init__(self, user_password: str):
        padded = (user_password.encode("latin-1") + _PASSWORD_PAD)[:32]
        self.owner_entry = _rc4(hashlib.md5(padded).digest()[:5], padded)  # Algorithm 3
        key_input = padded + self.owner_entry + self.PERMISSIONS.to_bytes(4, "little", signed=True) + _FILE_ID
        self.key = hashlib.md5(key_input).digest()[:5]  # Algorithm 2
        self.user_entry = _rc4(self.key, _PASSWORD_PAD)  # Algorithm 4

    def encrypt(self, number: int, data: bytes) -> bytes:
        """Algorithm 1: each object's strings and streams under a key salted with its number."""
        salt = number.to_bytes(3, "little") + (0).to_bytes(2, "little")
        return _rc4(hashlib.md5(self.key + salt).digest()[:10], data)

    def dictionary(self) -> bytes:
        return b"<< /Filter /Standard /V 1 /R 2 /Length 40 /O <%s> /U <%s> /P %d >>" % (
            self.owner_entry.hex().upper().encode(), self.user_entry.hex().upper().encode(), self.PERMISSIONS,
        )


def _rc4(key: bytes, data: bytes) -> bytes:
    state = list(range(256))
    j = 0
    for i in range(256):
        j = (j + state[i] + key[i % len(key)]) % 256
        state[i], state[j] = state[j], state[i]
    out = bytearray()
    i = j = 0
    for byte in data:
        i = (i + 1) % 256
        j = (j + state[i]) % 256
        state[i], state[j] = state[j], state[i]
        out.append(byte ^ state[(state[i] + state[j]) % 256])
    return bytes(out)
