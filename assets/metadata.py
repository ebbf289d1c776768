"""EXIF, and the descriptive metadata embedded as XMP or IPTC, as structured, JSON-safe data.

Camera files are often broken and any file may be hostile: every field is optional, and what cannot
be read is left out rather than failing the ingest."""

from __future__ import annotations

import datetime as dt
import logging
import math
from fractions import Fraction
from typing import Any

from PIL import ExifTags, Image, IptcImagePlugin

from assets.tags import MAX_TAGS, normalise_tags

log = logging.getLogger(__name__)

_BASE = ExifTags.Base
_GPS = ExifTags.GPS
_MAX_TEXT = 256


def _text(value: Any) -> str | None:
    if isinstance(value, bytes):
        value = value.decode("utf-8", "replace")
    if not isinstance(value, str):
        return None
    # PostgreSQL text and JSON cannot hold NUL; cameras pad fields with it.
    cleaned = "".join(ch for ch in value.replace("\x00", "") if ch.isprintable()).strip()
    return cleaned[:_MAX_TEXT] or None


def _number(value: Any) -> float | None:
    try:
        if isinstance(value, tuple) and len(value) == 2:
            value = Fraction(value[0], value[1])
        number = float(value)
    except (TypeError, ValueError, ZeroDivisionError, OverflowError):
        return None
    return number if math.isfinite(number) else None


def _datetime(value: Any, offset: Any = None) -> dt.datetime | None:
    text = _text(value)
    if not text:
        return None
    try:
        parsed = dt.datetime.strptime(text[:19], "%Y:%m:%d %H:%M:%S")
    except ValueError:
        return None
    offset_text = _text(offset)
    tz = dt.UTC  # EXIF without an offset is camera-local time; UTC is the honest default
    if offset_text and len(offset_text) == 6 and offset_text[0] in "+-":
        try:
            sign = 1 if offset_text[0] == "+" else -1
            hours, minutes = int(offset_text[1:3]), int(offset_text[4:6])
            tz = dt.timezone(sign * dt.timedelta(hours=hours, minutes=minutes))
        except ValueError:
            pass
    return parsed.replace(tzinfo=tz)


def _gps_coordinate(values: Any, ref: Any) -> float | None:
    if not isinstance(values, (tuple, list)) or len(values) != 3:
        return None
    parts = [_number(v) for v in values]
    if any(p is None for p in parts):
        return None
    degrees = parts[0] + parts[1] / 60 + parts[2] / 3600
    if (_text(ref) or "").upper() in {"S", "W"}:
        degrees = -degrees
    return round(degrees, 7)


def _ifd(exif: Image.Exif, tag: int) -> dict:
    try:
        return dict(exif.get_ifd(tag))
    except Exception:  # a malformed sub-IFD must not lose the rest of the metadata
        return {}


def extract_exif(image: Image.Image) -> dict[str, Any]:
    """Return the fields people search and filter by, all JSON-serialisable, missing ones omitted;
    the file's descriptive metadata (XMP, IPTC) under "embedded" when it has any."""
    data = _exif_fields(image)
    embedded = extract_embedded(image)
    if embedded:
        data["embedded"] = embedded
    return data


def _exif_fields(image: Image.Image) -> dict[str, Any]:
    try:
        exif = image.getexif()
    except Exception as exc:
        log.info("unreadable EXIF block: %s", exc)
        return {}
    detail = _ifd(exif, ExifTags.IFD.Exif)
    gps = _ifd(exif, ExifTags.IFD.GPSInfo)

    orientation = exif.get(_BASE.Orientation)
    data: dict[str, Any] = {
        "make": _text(exif.get(_BASE.Make)),
        "model": _text(exif.get(_BASE.Model)),
        "software": _text(exif.get(_BASE.Software)),
        "lens": _text(detail.get(_BASE.LensModel)) or _text(detail.get(_BASE.LensMake)),
        "exposure_time": _number(detail.get(_BASE.ExposureTime)),
        "f_number": _number(detail.get(_BASE.FNumber)),
        "iso": _number(detail.get(_BASE.ISOSpeedRatings)),
        "focal_length": _number(detail.get(_BASE.FocalLength)),
        "orientation": orientation if isinstance(orientation, int) and 1 <= orientation <= 8 else None,
    }
    taken = _datetime(detail.get(_BASE.DateTimeOriginal), detail.get(_BASE.OffsetTimeOriginal)) or _datetime(
        exif.get(_BASE.DateTime)
    )
    data["taken_at"] = taken.isoformat() if taken else None
    latitude = _gps_coordinate(gps.get(_GPS.GPSLatitude), gps.get(_GPS.GPSLatitudeRef))
    longitude = _gps_coordinate(gps.get(_GPS.GPSLongitude), gps.get(_GPS.GPSLongitudeRef))
    if latitude is not None and longitude is not None and abs(latitude) <= 90 and abs(longitude) <= 180:
        data["gps"] = {"latitude": latitude, "longitude": longitude, "altitude": _number(gps.get(_GPS.GPSAltitude))}
    return {key: value for key, value in data.items() if value is not None}


# --- Embedded descriptive metadata: XMP and IPTC ------------------------------------------------

# A JPEG holds its XMP in one segment of at most 64 KiB (Pillow reads no extended XMP); a TIFF tag or
# a HEIF box has no such limit. Real packets are a few KiB; anything past this is not parsed at all.
MAX_XMP_BYTES = 1 << 20
MAX_RAW_KEYWORDS = 1000  # entries looked at, before normalising and keeping at most MAX_TAGS
EMBEDDED_LIMITS = {
    "headline": 256, "caption": 2000, "creator": 256, "copyright": 512,
    "city": 128, "region": 128, "country": 128, "location": 256,
}
EMBEDDED_FIELDS = ("keywords", *EMBEDDED_LIMITS)
# The fields that name where the photo was taken, most precise first (as a place is read out).
PLACE_FIELDS = ("location", "city", "region", "country")

_RDF = "http://www.w3.org/1999/02/22-rdf-syntax-ns#"
_XML_LANG = "{http://www.w3.org/XML/1998/namespace}lang"
_DC = "http://purl.org/dc/elements/1.1/"
_PHOTOSHOP = "http://ns.adobe.com/photoshop/1.0/"
_IPTC_CORE = "http://iptc.org/std/Iptc4xmpCore/1.0/xmlns/"
# XMP property (namespace-qualified, as ElementTree names it) -> our field; first listed wins.
_XMP_PROPERTIES = {
    f"{{{_DC}}}subject": "keywords",
    f"{{{_PHOTOSHOP}}}Headline": "headline",
    f"{{{_DC}}}description": "caption",
    f"{{{_DC}}}creator": "creator",
    f"{{{_DC}}}rights": "copyright",
    f"{{{_PHOTOSHOP}}}City": "city",
    f"{{{_PHOTOSHOP}}}State": "region",
    f"{{{_PHOTOSHOP}}}Country": "country",
    f"{{{_IPTC_CORE}}}Location": "location",
}
# IPTC-IIM datasets (record 2) -> our field.
_IPTC_DATASETS = {
    (2, 25): "keywords", (2, 105): "headline", (2, 120): "caption", (2, 80): "creator", (2, 116): "copyright",
    (2, 90): "city", (2, 95): "region", (2, 101): "country", (2, 92): "location",
}
_IPTC_UTF8 = b"\x1b%G"  # dataset 1:90, the coded character set: ESC % G is UTF-8


def clean_text(value: Any, limit: int) -> str | None:
    """One line of readable text: any whitespace (a caption's newlines) becomes one space; NUL, other
    control and invisible format characters (bidi overrides, zero-width) go; at most `limit` characters."""
    if isinstance(value, bytes):
        value = value.decode("utf-8", "replace")
    if not isinstance(value, str):
        return None
    kept = "".join(ch if ch.isprintable() else " " if ch.isspace() else "" for ch in value[: limit * 4])
    return " ".join(kept.split())[:limit].rstrip() or None


def normalised_keywords(values: list[str]) -> list[str]:
    """Normalised as tags are (trimmed, lower case, unique), at most MAX_TAGS of them."""
    keywords: list[str] = []
    for value in values[:MAX_RAW_KEYWORDS]:
        cleaned = clean_text(value, 256)
        for tag in normalise_tags([cleaned] if cleaned else []):
            if tag not in keywords:
                keywords.append(tag)
        if len(keywords) >= MAX_TAGS:
            break
    return keywords


def _xmp_packet(image: Image.Image) -> bytes | None:
    packet = image.info.get("xmp")
    if isinstance(packet, str):
        packet = packet.encode("utf-8", "replace")
    if not isinstance(packet, bytes) or not packet:
        return None
    if len(packet) > MAX_XMP_BYTES:
        log.info("XMP packet of %d bytes ignored (more than %d)", len(packet), MAX_XMP_BYTES)
        return None
    return packet.rstrip(b"\x00 \t\r\n")


def _property_values(element) -> tuple[list[str], bool]:
    """The text values of one XMP property element: its rdf:li items (an Alt's x-default first), or its
    own text; and whether it was a language alternative."""
    items = list(element.iter(f"{{{_RDF}}}li"))
    if not items:
        return ([element.text] if element.text else []), False
    alternatives = element.find(f"{{{_RDF}}}Alt") is not None
    if alternatives:
        items.sort(key=lambda li: li.get(_XML_LANG) != "x-default")
    return [li.text for li in items if li.text], alternatives


def _xmp_values(image: Image.Image) -> dict[str, list[str]]:
    """{field: [values]} from the XMP packet; {} when there is none or it cannot be read safely."""
    packet = _xmp_packet(image)
    if not packet:
        return {}
    try:
        from defusedxml import ElementTree
    except ImportError:  # never fall back to an XML parser that expands entities
        log.warning("defusedxml is not installed: XMP metadata is not read")
        return {}
    try:
        # No DTD at all (so no entity expansion: billion laughs, external entities), no network.
        root = ElementTree.fromstring(packet, forbid_dtd=True)
    except Exception as exc:  # malformed or hostile XML: the file simply has no readable XMP
        log.info("unreadable XMP packet: %s: %s", type(exc).__name__, exc)
        return {}
    found: dict[str, list[str]] = {}
    for element in root.iter(f"{{{_RDF}}}Description"):
        # Simple properties may be written as attributes of rdf:Description ...
        for name, value in element.attrib.items():
            field = _XMP_PROPERTIES.get(name)
            if field and field not in found and value:
                found[field] = [value]
        # ... or as child elements, with rdf:Bag / rdf:Seq / rdf:Alt items.
        for child in element:
            field = _XMP_PROPERTIES.get(child.tag)
            if field and field not in found:
                values, alternatives = _property_values(child)
                if values:
                    found[field] = values[:1] if alternatives else values
    return found


def _iptc_values(image: Image.Image) -> dict[str, list[str]]:
    try:
        info = IptcImagePlugin.getiptcinfo(image)
    except Exception as exc:  # a damaged IPTC block: the file simply has no readable IPTC
        log.info("unreadable IPTC block: %s: %s", type(exc).__name__, exc)
        return {}
    if not info:
        return {}
    charset = info.get((1, 90))
    utf8 = isinstance(charset, bytes) and _IPTC_UTF8 in charset

    def decode(raw: bytes) -> str:
        if utf8:
            return raw.decode("utf-8", "replace")
        try:
            return raw.decode("utf-8")
        except UnicodeDecodeError:
            return raw.decode("cp1252", "replace")  # legacy IPTC: most often Windows Latin-1

    found: dict[str, list[str]] = {}
    for dataset, field in _IPTC_DATASETS.items():
        raw = info.get(dataset)
        items = raw if isinstance(raw, list) else [raw]
        values = [decode(item) for item in items if isinstance(item, bytes) and item]
        if values:
            found[field] = values
    return found


def extract_embedded(image: Image.Image) -> dict[str, Any]:
    """Keywords, headline, caption, creator, copyright and place names the file carries (XMP first,
    IPTC-IIM for what XMP lacks; keywords from both), cleaned; missing fields omitted."""
    xmp, iptc = _xmp_values(image), _iptc_values(image)
    embedded: dict[str, Any] = {}
    keywords = normalised_keywords([*xmp.get("keywords", []), *iptc.get("keywords", [])])
    if keywords:
        embedded["keywords"] = keywords
    for field, limit in EMBEDDED_LIMITS.items():
        values = xmp.get(field) or iptc.get(field) or []
        # Several creators are one credit line; other fields keep their first value.
        text = clean_text(", ".join(values) if field == "creator" else (values[0] if values else None), limit)
        if text:
            embedded[field] = text
    return embedded
