"""Multipart uploads whose file names reach ``assets.filenames.clean_filename`` as the client sent them.

Django cleans a part's file name before any of our code sees it (``MultiPartParser.sanitize_file_name``
unescapes HTML entities, keeps what follows the last ``/`` or ``\\``, drops every non-printable
character, and skips a part named ``.`` or ``..`` altogether; ``UploadedFile.name`` then keeps only
the base name). A name with a right-to-left override, a zero-width space, a NUL or a path was
therefore silently *changed and accepted*, where MediaVault rejects it. And the part's
``Content-Disposition`` header is parsed leniently: ``filename="a"; filename*=UTF-8''evil.html``
(what an unescaped quote in a name produces) yields ``evil.html``.

``ClientFileNameUploadHandler`` (first in ``FILE_UPLOAD_HANDLERS``) takes over the parse through the
upload-handler hook meant for that (``handle_raw_input``) and runs ``StrictNameMultiPartParser``, which
is Django's parser with two additions:

- it reads each part's raw header block as the bytes go by (``_HeaderTap``) and refuses a file part
  whose ``Content-Disposition`` has no single plain ``filename`` parameter: RFC 7578 section 4.2 forbids
  ``filename*`` in form data, and a repeated ``filename`` is ambiguous;
- each uploaded file carries the name as sent (``upload.client_name``, a ``ClientFileName``: read as
  Django reads it, HTML character references decoded, but nothing removed), while ``upload.name``
  stays Django's cleaned stand-in for code that only needs *a* name.

Each file's header is cross-checked with the name Django itself read for that part; should the two
ever disagree, the file is refused ("could not be read") rather than given another part's name.

Views pass ``client_name(upload)`` to ``assets.actions``, whose ``clean_filename`` accepts or refuses it.
"""

from __future__ import annotations

import html
from collections import deque
from email.message import Message

from django.core.files.uploadhandler import FileUploadHandler
from django.http.multipartparser import MAX_TOTAL_HEADER_SIZE, MultiPartParser
from django.utils.encoding import force_str
from django.utils.http import parse_header_parameters

UNREADABLE = "file name could not be read from the upload"


class ClientFileName(str):
    """A file name as the client sent it; ``problem`` is set when the header itself was not acceptable."""

    problem: str | None = None

    def __new__(cls, value: str, problem: str | None = None):
        name = super().__new__(cls, value)
        name.problem = problem
        return name


def client_name(upload) -> str | None:
    """The name the client gave this uploaded file (Django's cleaned one for files not parsed here)."""
    return getattr(upload, "client_name", None) or getattr(upload, "name", None)


# --- Reading a part's Content-Disposition strictly -----------------------------------------------


def _split_parameters(value: str) -> list[str]:
    """The ``;``-separated segments of a header value, quotes respected as ``email.message`` does."""
    segments, rest = [], value
    while rest:
        end = rest.find(";")
        while end > 0 and (rest.count('"', 0, end) - rest.count('\\"', 0, end)) % 2:
            end = rest.find(";", end + 1)
        if end < 0:
            end = len(rest)
        segments.append(rest[:end])
        rest = rest[end + 1 :]
    return segments


def _parameter_names(disposition_value: str) -> list[str]:
    names = []
    for segment in _split_parameters(disposition_value)[1:]:  # the first is the disposition type
        if "=" in segment:
            names.append(segment.split("=", 1)[0].strip().lower())
    return names


def _strict_file_name(line: str, encoding: str) -> tuple[str | None, str | None]:
    """(file name, None) from one Content-Disposition line, or (None, why it cannot be accepted)."""
    _, _, value = line.partition(":")
    names = _parameter_names(value)
    if any(name.startswith("filename*") for name in names):
        return None, "file name must be sent as a plain filename parameter (filename* is not allowed in form " \
                     "uploads, RFC 7578)"
    if names.count("filename") != 1:
        return None, "file name is ambiguous: the upload names the file more than once"
    message = Message()
    message["content-disposition"] = value
    found = [v for k, v in message.get_params(header="content-disposition")[1:] if k == "filename"]
    if len(found) != 1 or not isinstance(found[0], str):
        return None, UNREADABLE
    # Read as Django reads it (its parameters are bytes in between; HTML character references, which
    # browsers once used for characters outside the form's charset, are decoded), but not cleaned.
    return html.unescape(force_str(found[0].encode(), encoding, errors="replace")), None


class _Part:
    """What Django will make of one part's header block (mirroring ``parse_boundary_stream`` and
    ``MultiPartParser._parse``), and the file name read strictly from it."""

    def __init__(self, block: bytes, encoding: str):
        self.django_name: str | None = None
        self.client_name: ClientFileName | None = None
        is_file, disposition, disposition_line = False, None, ""
        for raw_line in block.split(b"\r\n"):
            try:
                line = raw_line.decode()
                main_value, params = parse_header_parameters(line)
                name, _ = main_value.split(":", 1)
            except ValueError:  # Django skips the line too
                continue
            if name == "content-disposition":
                if params.get("filename"):
                    is_file = True
                disposition, disposition_line = params, line
        if not is_file or disposition is None or "name" not in disposition or not disposition.get("filename"):
            return  # Django does not treat it as a file with a name
        self.django_name = force_str(disposition["filename"].encode(), encoding, errors="replace")
        lines = [raw for raw in block.split(b"\r\n") if raw.lower().startswith(b"content-disposition")]
        if len(lines) != 1:
            name, problem = None, "file name is ambiguous: the upload part has more than one Content-Disposition"
        else:
            name, problem = _strict_file_name(disposition_line, encoding)
        # A refused name still shows what Django read, so that the answer can say which file it was.
        self.client_name = ClientFileName(self.django_name if name is None else name, problem)


class _HeaderTap:
    """A pass-through reader that notes the raw header block of each multipart part as Django reads it.

    Django splits the body at every ``--boundary``; a part's headers run from there to the first blank
    line, within the part. The tap does the same on the bytes it passes on, keeping only header bytes.
    """

    def __init__(self, stream, boundary: bytes, encoding: str):
        self._stream = stream
        self._separator = b"--" + boundary
        self._encoding = encoding
        self._carry = b""
        self._in_headers = False
        self._parts: deque[_Part] = deque()

    def read(self, size: int = -1) -> bytes:
        data = self._stream.read(size)
        if data:
            self._scan(data)
        return data

    def next_file_part(self) -> _Part | None:
        """The next part (in body order) that Django treats as a named file, consumed."""
        while self._parts:
            part = self._parts.popleft()
            if part.django_name is not None:
                return part
        return None

    def _scan(self, data: bytes) -> None:
        buffer, position = self._carry + data, 0
        while True:
            if not self._in_headers:
                found = buffer.find(self._separator, position)
                if found == -1:
                    # Keep enough of the end to find a separator split across two reads.
                    self._carry = buffer[max(position, len(buffer) - len(self._separator) + 1) :]
                    return
                position, self._in_headers = found + len(self._separator), True
                continue
            end = buffer.find(b"\r\n\r\n", position)
            following = buffer.find(self._separator, position)
            if following != -1 and (end == -1 or following < end):
                self._in_headers, position = False, following  # a part without headers
                continue
            if end == -1:
                self._carry = buffer[position:]
                if len(self._carry) > MAX_TOTAL_HEADER_SIZE + len(self._separator):
                    self._in_headers, self._carry = False, b""  # Django refuses such a request itself
                return
            self._parts.append(_Part(buffer[position:end], self._encoding))
            self._in_headers, position = False, end + 4


class StrictNameMultiPartParser(MultiPartParser):
    """Django's multipart parser, handing on each file's name as the client sent it (see module doc)."""

    def __init__(self, META, input_data, upload_handlers, encoding=None):
        super().__init__(META, input_data, upload_handlers, encoding)
        self._tap = _HeaderTap(self._input_data, self._boundary, self._encoding)
        self._input_data = self._tap
        self._pending_name: ClientFileName | None = None

    def sanitize_file_name(self, file_name):
        part = self._tap.next_file_part()
        if part is None or part.django_name != file_name:
            # The header read here is not the one Django parsed: never guess which name is whose.
            self._pending_name = ClientFileName(file_name, UNREADABLE)
        else:
            self._pending_name = part.client_name
        # Django's own cleaning gives the stand-in `upload.name`; a name it would drop ("..") still
        # makes a file, so that the refusal names the file instead of the file silently vanishing.
        return super().sanitize_file_name(file_name) or "unnamed"

    def handle_file_complete(self, old_field_name, counters):
        field = force_str(old_field_name, self._encoding, errors="replace")
        before = len(self._files.getlist(field))
        super().handle_file_complete(old_field_name, counters)
        files = self._files.getlist(field)
        if len(files) > before and self._pending_name is not None:
            files[-1].client_name = self._pending_name
        self._pending_name = None


class ClientFileNameUploadHandler(FileUploadHandler):
    """First in FILE_UPLOAD_HANDLERS: parses multipart bodies with StrictNameMultiPartParser, storing
    the files through the handlers after it (memory, then temporary file), as Django would."""

    def handle_raw_input(self, input_data, META, content_length, boundary, encoding=None):
        if self.request is None:
            return None  # not loaded for a request: nothing to hand the files to
        others = [handler for handler in self.request.upload_handlers if handler is not self]
        return StrictNameMultiPartParser(META, input_data, others, encoding).parse()

    def receive_data_chunk(self, raw_data, start):
        return raw_data

    def file_complete(self, file_size):
        return None
