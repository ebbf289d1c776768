"""Client file names are metadata only; reject the ones that are tricks rather than names."""

import re
import unicodedata

from assets.errors import RejectedUpload
from assets.storage import EXTENSIONS

MAX_NAME_LENGTH = 255
# Cc control, Cf format (bidi overrides, zero-width), Cs surrogates, Co private use, Cn unassigned,
# Zl/Zp line and paragraph separators (U+2028/U+2029 break lines in logs and terminals like a newline).
_FORBIDDEN_CATEGORIES = {"Cc", "Cf", "Cs", "Co", "Cn", "Zl", "Zp"}


def clean_filename(raw: str | None) -> str:
    """The name to keep for a file, from what the client sent (see assets.multipart), or RejectedUpload."""
    problem = getattr(raw, "problem", None)  # the upload's header itself was not acceptable
    if problem:
        raise RejectedUpload(problem)
    if not raw:
        raise RejectedUpload("file name is missing")
    name = unicodedata.normalize("NFC", raw)
    if "/" in name or "\\" in name:
        raise RejectedUpload("file name must not contain path separators")
    for char in name:
        if unicodedata.category(char) in _FORBIDDEN_CATEGORIES:
            raise RejectedUpload(f"file name contains a control or invisible character (U+{ord(char):04X})")
    if name.strip() in {".", ".."}:
        raise RejectedUpload(f"file name must not be {name.strip()!r}")
    if not name.strip():
        raise RejectedUpload("file name is empty")
    if len(name) > MAX_NAME_LENGTH:
        raise RejectedUpload(f"file name is longer than {MAX_NAME_LENGTH} characters")
    return name.strip()


def title_from_filename(name: str) -> str:
    # Keep the stem verbatim: staff look files up by exactly these identifiers ("IMG_5195").
    stem = name.rsplit(".", 1)[0] if "." in name.lstrip(".") else name
    return stem.strip() or name


# Extensions that name each stored type, besides the canonical one in assets.storage.EXTENSIONS.
_ALSO_NAMED = {
    "image/jpeg": {"jpeg", "jpe"}, "image/tiff": {"tiff"}, "image/heif": {"heic"}, "image/heic": {"heif"},
    "video/mp4": {"m4v"}, "video/quicktime": {"qt"}, "audio/mp4": {"m4b", "mp4"}, "audio/ogg": {"oga", "opus"},
    "audio/wav": {"wave"},
}
# What counts as an extension to replace: a short run of letters and digits after the last dot.
_EXTENSION = re.compile(r"^(?P<stem>.+)\.(?P<ext>[A-Za-z0-9]{1,10})$", re.DOTALL)


def split_extension(name: str) -> tuple[str, str]:
    """(stem, extension) of a name; the extension is "" when the name has none ("IMG_5195", ".profile")."""
    match = _EXTENSION.match(name)
    if match is None or not match["stem"].strip(". "):
        return name, ""
    return match["stem"], match["ext"]


def download_name(name: str, mime_type: str) -> str:
    """The name a file is delivered under: the client's name, with the extension of the type sniffed
    from its bytes. A JPEG uploaded as "invoice.html" downloads as "invoice.jpg" (never as a page a
    browser or desktop would open as HTML); "photo.jpeg" and "scan.TIF" keep theirs."""
    canonical = EXTENSIONS.get(mime_type)
    if canonical is None:
        return name
    # Trailing dots and spaces are dropped by Windows ("invoice.html." saves as "invoice.html").
    trimmed = name.rstrip(". ") or "file"
    stem, extension = split_extension(trimmed)
    if extension.lower() in {canonical} | _ALSO_NAMED.get(mime_type, set()):
        return trimmed
    return f"{stem}.{canonical}"


# A token of a file name that holds a digit is a code (a counter, a date, a hash), not a word.
_NAME_TOKEN = re.compile(r"[^\W_]+")


def name_words(name: str) -> str:
    """The words of a file name, for models that read meaning ("beach-sunset_2019.jpg" -> "beach sunset";
    "1000268201_693b08cb0e.jpg" -> ""). Finding a file by its name is the identifier and file-name
    signals' job; a text model only dilutes a document's meaning with codes."""
    stem, _ = split_extension(name or "")
    return " ".join(t for t in _NAME_TOKEN.findall(stem) if len(t) >= 2 and not any(c.isdigit() for c in t))
