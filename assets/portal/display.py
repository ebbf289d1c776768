"""Turning asset rows into what the portal shows: which rendition to use, readable EXIF values.

Kept apart from the views so later pages (collections, search results, live card updates) reuse it.
All helpers read prefetched renditions (``assets.representation.shown``) and never query per asset.
"""

from __future__ import annotations

from dataclasses import dataclass
from fractions import Fraction

from django.urls import reverse

from assets import documents, embedded
from assets.metadata import PLACE_FIELDS
from assets.models import Analysis, AnalysisStatus, Asset, Rendition, Status
from assets.portal.media_display import badge
from assets.representation import shown

THUMBNAIL_SPEC = "max256"
PREVIEW_SPEC = "max1024"
SEASONS = ("winter", "spring", "summer", "autumn")  # the date analyser's words (workers/ml/analysers/dates.py)
PARTS_OF_DAY = ("morning", "afternoon", "evening", "night")  # and its parts of the day


def _renditions(asset: Asset) -> list[Rendition]:
    """The asset's pictures (not a video's playable copy), smallest first."""
    pictures = [r for r in shown(asset, "renditions") if r.mime_type.startswith("image/")]
    return sorted(pictures, key=lambda r: (r.width * r.height, r.spec))


def pick_rendition(asset: Asset, spec: str) -> Rendition | None:
    """The rendition with this spec, else the closest one that exists (smallest for thumbnails)."""
    renditions = _renditions(asset)
    for rendition in renditions:
        if rendition.spec == spec:
            return rendition
    if not renditions:
        return None
    return renditions[-1] if spec == PREVIEW_SPEC else renditions[0]


def rendition_url(asset: Asset, rendition: Rendition) -> str:
    return reverse("api:asset-rendition", args=[asset.pk, rendition.spec])


@dataclass(frozen=True)
class Picture:
    url: str
    width: int
    height: int


def picture(asset: Asset, spec: str) -> Picture | None:
    rendition = pick_rendition(asset, spec)
    if rendition is None:
        return None
    return Picture(rendition_url(asset, rendition), rendition.width, rendition.height)


def decorate(asset: Asset) -> Asset:
    """Attach what a card needs (``asset.thumb``, ``asset.is_busy``) without further queries."""
    asset.thumb = picture(asset, THUMBNAIL_SPEC)
    asset.media_badge = badge(asset)
    asset.is_busy = asset.status in (Status.PENDING, Status.PROCESSING)
    return asset


# --- EXIF ---------------------------------------------------------------------------------


def _trim(number: float, places: int = 1) -> str:
    text = f"{number:.{places}f}".rstrip("0").rstrip(".")
    return text or "0"


def format_exposure(seconds: float | None) -> str:
    if not seconds or seconds <= 0:
        return ""
    if seconds >= 1:
        return f"{_trim(seconds)} s"
    fraction = Fraction(seconds).limit_denominator(100_000)
    if fraction.numerator == 1:
        return f"1/{fraction.denominator} s"
    return f"1/{_trim(1 / seconds, 0)} s"


def exif_rows(asset: Asset) -> list[tuple[str, str]]:
    """Label/value pairs for the EXIF table; rows without a value are left out."""
    exif = asset.exif or {}
    f_number = exif.get("f_number")
    iso = exif.get("iso")
    focal = exif.get("focal_length")
    rows = [
        ("Camera make", asset.camera_make or exif.get("make", "")),
        ("Camera model", asset.camera_model or exif.get("model", "")),
        ("Lens", asset.lens or exif.get("lens", "")),
        ("Exposure time", format_exposure(exif.get("exposure_time"))),
        ("Aperture", f"f/{_trim(f_number)}" if f_number else ""),
        ("ISO", _trim(iso, 0) if iso else ""),
        ("Focal length", f"{_trim(focal)} mm" if focal else ""),
        ("Software", exif.get("software", "")),
    ]
    return [(label, value) for label, value in rows if value]


@dataclass(frozen=True)
class Location:
    latitude: float
    longitude: float
    altitude: float | None

    @property
    def map_url(self) -> str:
        lat, lon = f"{self.latitude:.6f}", f"{self.longitude:.6f}"
        return f"https://www.openstreetmap.org/?mlat={lat}&mlon={lon}#map=15/{lat}/{lon}"


def location(asset: Asset) -> Location | None:
    if asset.gps_latitude is None or asset.gps_longitude is None:
        return None
    altitude = (asset.exif or {}).get("gps", {}).get("altitude")
    return Location(asset.gps_latitude, asset.gps_longitude, altitude)


# --- Embedded metadata (XMP, IPTC) ---------------------------------------------------------------


def embedded_rows(asset: Asset) -> list[tuple[str, str]]:
    """Label/value pairs of what the file says about itself; rows without a value are left out, and so
    is the caption where it is the description already (the file filled it)."""
    data = embedded.embedded_of(asset.exif)
    caption = data.get("caption", "")
    rows = [
        ("Headline", data.get("headline", "")),
        ("Caption", "" if caption == asset.description else caption),
        ("Creator", data.get("creator", "")),
        ("Album", data.get("album", "")),
        ("Copyright", data.get("copyright", "")),
    ]
    return [(label, value) for label, value in rows if value]


def embedded_place(asset: Asset) -> str:
    """The place the file names (sublocation, city, region, country), as one line."""
    data = embedded.embedded_of(asset.exif)
    return ", ".join(data[key] for key in PLACE_FIELDS if data.get(key))


def embedded_keywords(asset: Asset) -> list[tuple[str, bool]]:
    """The file's keywords, each with whether it is (still) one of the asset's tags."""
    tags = set(asset.tags or [])
    return [(keyword, keyword in tags) for keyword in embedded.embedded_of(asset.exif).get("keywords") or []]


# --- What the analysers found --------------------------------------------------------------------

ANALYSER_ORDER = [field.name for field in documents.FIELDS if field.name in documents.ANALYSED]


def analyser_label(name: str) -> str:
    field = documents.BY_NAME.get(name)
    return (field.label if field else name.replace("_", " ")).capitalize()


@dataclass(frozen=True)
class FindingRow:
    analyser: str
    label: str
    text: str  # what search reads: the person's correction, else the machine's text
    machine_text: str
    corrected: bool
    model_id: str
    error: str
    details: list[str]  # a few structured facts worth showing beside the text (colour shares, how sure)

    @property
    def empty(self) -> bool:
        return not self.text and not self.error


def _details(finding: Analysis) -> list[str]:
    data = finding.data if isinstance(finding.data, dict) else {}
    if finding.analyser == "pages":
        pages, without = data.get("pages"), data.get("without_text") or []
        facts = [f"{pages} page{'' if pages == 1 else 's'}"] if isinstance(pages, int) else []
        if without and isinstance(without, list):
            shown_pages = ", ".join(str(n) for n in without[:20]) + (" …" if len(without) > 20 else "")
            facts.append(f"no text layer on page{'' if len(without) == 1 else 's'} {shown_pages}")
        return facts
    if finding.analyser == "colours":
        return [f"{name} {_percent(share)}" for name, share in _named(data.get("colours"), "name", "share")]
    if finding.corrected_text is not None:
        return []  # how sure the machine was of what a person has since replaced says nothing of it
    if finding.analyser == "labels":
        least = data.get("min_label")
        labels = [(name, p) for name, p in _named(data.get("labels"), "label", "probability")
                  if _is_number(least) and p >= least]
        return [f"{name} {_percent(p)}" for name, p in labels + _named(data.get("terms"), "term", "probability")]
    if finding.analyser == "faces":
        return _confidences(data.get("faces"), "probability", data.get("min_probability"), ("face", "faces"))
    if finding.analyser == "text_in_image":
        return _confidences(data.get("lines"), "confidence", data.get("min_confidence"), ("line", "lines"))
    if finding.analyser == "dates":
        return _date_details(data)
    if finding.analyser == "place" and data.get("source") == "file":
        return ["as the file names it: no GPS position"]  # why a place with no map
    return []


def _date_details(data: dict) -> list[str]:
    details = []
    if data.get("season") in SEASONS and data.get("hemisphere") == "southern":
        # Why a July photo says "winter": its GPS position is south of the equator (without one, the
        # analyser takes the north, which needs no saying).
        details.append(f"{data['season']} in the southern hemisphere")
    hour = data.get("hour")
    if data.get("part_of_day") in PARTS_OF_DAY and isinstance(hour, int) and not isinstance(hour, bool):
        # Why "night" for a photo whose time reads as morning in UTC: the camera's own clock.
        details.append(f"{data['part_of_day']}: {hour:02d}:00-{hour:02d}:59 by the camera's clock")
    return details


def _percent(share: float) -> str:
    return f"{round(share * 100)}%"


def _named(items, name_key: str, share_key: str) -> list[tuple[str, float]]:
    """(name, share) of the well-formed entries of an analyser's list: analysis data is JSON that
    older analysers wrote, so nothing in it is taken for granted."""
    if not isinstance(items, list):
        return []
    return [(item[name_key], float(item[share_key])) for item in items
            if isinstance(item, dict) and isinstance(item.get(name_key), str) and _is_number(item.get(share_key))]


def _is_number(value) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def _confidences(items, key: str, least, nouns: tuple[str, str]) -> list[str]:
    """How sure the analyser was of the detections its text counts ("3 faces, 99-100% sure"), and
    how many it left out as too unsure."""
    if not isinstance(items, list):
        return []
    scores = [(float(item[key]), bool(item.get("kept"))) for item in items
              if isinstance(item, dict) and _is_number(item.get(key))]
    kept = sorted(score for score, counted in scores if counted)
    facts = []
    if kept:
        low, high = _percent(kept[0]), _percent(kept[-1])
        sure = high if low == high else f"{low[:-1]}–{high}"
        facts.append(f"{len(kept)} {nouns[len(kept) != 1]}, {sure} sure")
    left_out = len(scores) - len(kept)
    if left_out and _is_number(least):
        facts.append(f"{left_out} more under {_percent(least)}, not counted")
    return facts


def _readable(text: str) -> str:
    return text.replace("\f", "")  # a document's page breaks (assets.media_ingest.PAGE_BREAK)


def finding_rows(asset: Asset) -> list[FindingRow]:
    """One row per analyser that reported on the asset, in the document's field order. Reads the
    asset's analyses (prefetch them for many assets)."""
    order = {name: index for index, name in enumerate(ANALYSER_ORDER)}
    findings = sorted(asset.analyses.all(), key=lambda a: (order.get(a.analyser, len(order)), a.analyser))
    return [
        FindingRow(
            analyser=finding.analyser,
            label=analyser_label(finding.analyser),
            text=_readable(finding.searchable_text),
            machine_text=_readable(finding.text),
            corrected=finding.corrected_text is not None,
            model_id=finding.model_id,
            error=finding.error,
            details=_details(finding),
        )
        for finding in findings
    ]


ANALYSIS_BUSY = (AnalysisStatus.PENDING, AnalysisStatus.ANALYSING)


# --- Live status ----------------------------------------------------------------------------


def status_json(asset: Asset) -> dict:
    """What a card needs to follow an asset's processing (expects a decorated asset)."""
    return {
        "id": asset.pk,
        "title": str(asset),
        "status": asset.status,
        "status_label": asset.get_status_display(),
        "error": asset.error if asset.status == Status.FAILED else "",
        "url": reverse("portal:asset-detail", args=[asset.pk]),
        "thumb": asset.thumb.url if asset.thumb else None,
    }


# --- History ----------------------------------------------------------------------------------

ACTION_LABELS = {
    "asset.uploaded": "uploaded it",
    "asset.updated": "edited it",
    "asset.tags_added": "added tags",
    "asset.tags_removed": "removed tags",
    "asset.visibility_changed": "changed its visibility",
    "asset.moved_to_team": "moved it to a team",
    "asset.trashed": "moved it to the trash",
    "asset.restored": "restored it from the trash",
    "asset.reprocess_requested": "asked for reprocessing",
    "asset.embedding_requested": "asked for new vectors",
    "asset.analysis_requested": "asked for it to be analysed again",
    "asset.analysed": "looked at what the picture shows",
    "asset.finding_corrected": "corrected what was detected",
    "asset.processed": "read its metadata and made thumbnails",
    "asset.processing_failed": "could not process it",
    "asset.embedded": "computed its search vectors",
    "asset.downloaded": "downloaded the original",
    "assets.swept": "sent it back to the queue (a worker had stopped, or a message was lost)",
    "collection.assets_added": "added it to a collection",
    "collection.assets_removed": "took it out of a collection",
    "collection.deleted": "deleted a collection that held it",
}


def _shown(value, limit: int = 120) -> str:
    if value is None or value == "" or value == [] or value == {}:
        return "—"
    if isinstance(value, dict):
        text = str(value["name"]) if "name" in value else ", ".join(f"{k} {_shown(v)}" for k, v in value.items())
    elif isinstance(value, list):
        text = ", ".join(_shown(v) for v in value)
    else:
        text = str(value)
    return text if len(text) <= limit else text[: limit - 1] + "…"


@dataclass(frozen=True)
class HistoryRow:
    actor: str
    at: object
    label: str
    where: str  # the collection, for collection entries
    changes: list[tuple[str, str, str]]


def history_rows(entries, asset_id: int) -> list[HistoryRow]:
    rows = []
    for entry in entries:
        changes = [
            (name.replace("_", " "), _shown(before), _shown(after))
            for name, (before, after) in sorted(entry.changes_for(asset_id).items())
        ]
        where = entry.object_repr if entry.object_type == "collection" else ""
        label = ACTION_LABELS.get(entry.action, entry.action)
        rows.append(HistoryRow(entry.actor_name, entry.at, label, where, changes))
    return rows
