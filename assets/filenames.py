"""Client file names are metadata only; reject the ones that are tricks rather than names."""

import unicodedata

from assets.errors import RejectedUpload

MAX_NAME_LENGTH = 255
# Cc control, Cf format (bidi overrides, zero-width), Cs surrogates, Co private use, Cn unassigned,
# Zl/Zp line and paragraph separators (U+2028/U+2029 break lines in logs and terminals like a newline).
_FORBIDDEN_CATEGORIES = {"Cc", "Cf", "Cs", "Co", "Cn", "Zl", "Zp"}


def clean_filename(raw: str | None) -> str:
    if not raw:
        raise RejectedUpload("file name is missing")
    name = unicodedata.normalize("NFC", raw)
    if "/" in name or "\\" in name:
        raise RejectedUpload("file name must not contain path separators")
    for char in name:
        if unicodedata.category(char) in _FORBIDDEN_CATEGORIES:
            raise RejectedUpload(f"file name contains a control or invisible character (U+{ord(char):04X})")
    if name.strip() in {"", ".", ".."}:
        raise RejectedUpload("file name is empty")
    if len(name) > MAX_NAME_LENGTH:
        raise RejectedUpload(f"file name is longer than {MAX_NAME_LENGTH} characters")
    return name.strip()


def title_from_filename(name: str) -> str:
    # Keep the stem verbatim: staff look files up by exactly these identifiers ("IMG_5195").
    stem = name.rsplit(".", 1)[0] if "." in name.lstrip(".") else name
    return stem.strip() or name
