"""EXIF as structured, JSON-safe data. Camera files are often broken: every field is optional."""

from __future__ import annotations

import datetime as dt
import logging
import math
from fractions import Fraction
from typing import Any

from PIL import ExifTags, Image

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
    """Return the fields people search and filter by, all JSON-serialisable, missing ones omitted."""
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
