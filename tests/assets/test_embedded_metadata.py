"""Descriptive metadata embedded in files (XMP, IPTC-IIM): read at ingest from JPEG, TIFF and HEIC into
exif["embedded"], cleaned; keywords offered to the tags and the caption to an empty description once per
asset (assets.embedded), merged into the row as it is when ingest finishes, so edits made meanwhile are
kept and a reprocess neither duplicates nor brings back what a person removed. Broken or hostile XMP
(malformed, entity expansion, external entities, oversized, deeply nested) leaves the file without
embedded metadata and the ingest ready."""

from __future__ import annotations

import io
import struct
import time
import uuid

import pytest
from PIL import Image, TiffImagePlugin

from assets import actions
from assets.actions import pipeline
from assets.metadata import MAX_XMP_BYTES, extract_embedded
from assets.models import Asset, AuditEntry, Status
from assets.processing import extract, process_asset
from assets.tags import MAX_TAGS
from search.bm25 import bm25_scores
from tests.conftest import sample

pytestmark = pytest.mark.django_db

RDF = "http://www.w3.org/1999/02/22-rdf-syntax-ns#"


def xmp_packet(description_attrs: str = "", body: str = "", prolog: str = "") -> bytes:
    return (
        f'{prolog}<x:xmpmeta xmlns:x="adobe:ns:meta/"><rdf:RDF xmlns:rdf="{RDF}">'
        f'<rdf:Description rdf:about="" xmlns:dc="http://purl.org/dc/elements/1.1/" '
        f'xmlns:photoshop="http://ns.adobe.com/photoshop/1.0/" '
        f'xmlns:Iptc4xmpCore="http://iptc.org/std/Iptc4xmpCore/1.0/xmlns/" {description_attrs}>{body}'
        f"</rdf:Description></rdf:RDF></x:xmpmeta>"
    ).encode()


SUBJECT = "<dc:subject><rdf:Bag><rdf:li>Kayak</rdf:li><rdf:li>Lake  District</rdf:li></rdf:Bag></dc:subject>"
DESCRIPTION = ('<dc:description><rdf:Alt><rdf:li xml:lang="de">Ein Kajak</rdf:li>'
               '<rdf:li xml:lang="x-default">A red kayak\non a lake</rdf:li></rdf:Alt></dc:description>')
FULL = xmp_packet(
    'photoshop:City="Keswick" photoshop:State="Cumbria" photoshop:Country="United Kingdom" '
    'Iptc4xmpCore:Location="Derwentwater"',
    SUBJECT + DESCRIPTION
    + "<photoshop:Headline>Morning paddle</photoshop:Headline>"
    + "<dc:creator><rdf:Seq><rdf:li>Ann Smith</rdf:li><rdf:li>Bob Jones</rdf:li></rdf:Seq></dc:creator>"
    + '<dc:rights><rdf:Alt><rdf:li xml:lang="x-default">© 2024 Studio</rdf:li></rdf:Alt></dc:rights>',
)
FULL_EMBEDDED = {
    "keywords": ["kayak", "lake district"],
    "headline": "Morning paddle",
    "caption": "A red kayak on a lake",
    "creator": "Ann Smith, Bob Jones",
    "copyright": "© 2024 Studio",
    "city": "Keswick",
    "region": "Cumbria",
    "country": "United Kingdom",
    "location": "Derwentwater",
}


def jpeg(xmp: bytes | None = None, iptc: list | None = None) -> bytes:
    """A small JPEG (unique bytes) with this XMP packet and these IPTC datasets [((record, dataset), bytes)]."""
    buffer = io.BytesIO()
    options = {"xmp": xmp} if xmp is not None else {}
    Image.new("RGB", (64, 48), (200, 40, 40)).save(buffer, "JPEG", comment=uuid.uuid4().hex.encode(), **options)
    data = buffer.getvalue()
    if iptc:
        block = b"".join(bytes([0x1C, rec, ds]) + struct.pack(">H", len(v)) + v for (rec, ds), v in iptc)
        resource = b"8BIM" + struct.pack(">H", 0x0404) + b"\0\0" + struct.pack(">I", len(block))
        resource += block + (b"\0" if len(block) % 2 else b"")
        payload = b"Photoshop 3.0\0" + resource
        data = data[:2] + b"\xff\xed" + struct.pack(">H", len(payload) + 2) + payload + data[2:]
    return data


def tiff(xmp: bytes) -> bytes:
    info = TiffImagePlugin.ImageFileDirectory_v2()
    info[700], info.tagtype[700] = xmp, 1  # XMP, as bytes
    buffer = io.BytesIO()
    Image.new("RGB", (64, 48), (uuid.uuid4().int % 256, 90, 90)).save(buffer, "TIFF", tiffinfo=info)
    return buffer.getvalue()


def heic(xmp: bytes) -> bytes:
    import pillow_heif

    pillow_heif.register_heif_opener()
    buffer = io.BytesIO()
    Image.new("RGB", (64, 48), (uuid.uuid4().int % 256, 90, 90)).save(buffer, "HEIF", xmp=xmp)
    return buffer.getvalue()


def opened(data: bytes) -> Image.Image:
    return Image.open(io.BytesIO(data))


def ingest(user, data: bytes, name: str = "photo.jpg", **options) -> Asset:
    result = actions.upload_asset(user, io.BytesIO(data), name, actions.AssetOptions(**options))
    assert result.status == "created", result.reason
    outcome = process_asset(result.asset.pk)
    assert outcome.startswith("ready"), outcome
    return Asset.objects.get(pk=result.asset.pk)


def ingest_sample(user, relative: str, **options) -> Asset:
    return ingest(user, sample(relative).read_bytes(), sample(relative).name, **options)


# --- What the shared samples carry ------------------------------------------------------------------


def test_the_xmp_samples_keywords_and_caption_become_tags_and_description(alice):
    asset = ingest_sample(alice, "jpg/xmp/BlueSquare.jpg")
    caption = "XMPFiles BlueSquare test file, created in Photoshop CS2, saved as .psd, .jpg, and .tif."
    # XMP dc:subject and IPTC 2:25 name the same five keywords: each once, normalised as tags are.
    assert asset.exif["embedded"] == {"keywords": ["xmp", "blue square", "test file", "photoshop", ".jpg"],
                                      "caption": caption}
    assert asset.tags == ["xmp", "blue square", "test file", "photoshop", ".jpg"]
    assert asset.description == caption

    other = ingest_sample(alice, "jpg/xmp/no_exif.jpg", tags=["goalkeeper"], description="Typed at upload")
    assert other.exif["embedded"] == {"keywords": ["tag"], "caption": "Der Goalie bin ig", "creator": "CREDIT"}
    assert other.tags == ["goalkeeper", "tag"]  # the person's tags first
    assert other.description == "Typed at upload"  # never overwritten
    # The creator is part of the searchable "embedded metadata" field.
    assert other.pk in {pk for pk, _ in bm25_scores("credit", visible=None, limit=5)}


def test_headline_creator_and_place_names_from_a_news_photo(alice):
    asset = ingest_sample(alice, "jpg/long_description.jpg")
    embedded = asset.exif["embedded"]
    assert {key: embedded[key] for key in ("headline", "creator", "city", "region", "country")} == {
        "headline": "Enduring Freedom",  # the trailing newline is gone
        "creator": "SSG KYLE DAVIS",
        "city": "KANDAHAR ARMY AIRFIELD",
        "region": "DAYCHOPAN",  # trailing space trimmed
        "country": "Afghanistan",
    }
    assert "copyright" not in embedded  # its dc:rights is an empty alternative
    assert embedded["caption"].startswith("Operation Mountain Viper put the soldiers")
    assert "  " not in embedded["caption"]
    assert asset.description == embedded["caption"]
    assert asset.tags == []
    for word in ("kandahar", "daychopan", "afghanistan"):
        assert asset.pk in {pk for pk, _ in bm25_scores(word, visible=None, limit=5)}, word


def test_creator_and_copyright_of_a_camera_file_and_none_where_there_is_none(alice):
    pentax = ingest_sample(alice, "jpg/Pentax_K10D.jpg")
    assert pentax.exif["embedded"] == {"creator": "Laitche",
                                       "copyright": "Laitche (This file is in the public domain.)"}
    assert pentax.camera_make == "PENTAX Corporation"  # EXIF is read as before
    nikon = ingest_sample(alice, "jpg/gps/DSCN0010.jpg")  # XMP with nothing descriptive in it
    assert "embedded" not in nikon.exif
    assert nikon.gps_latitude is not None


# --- Formats and precedence -------------------------------------------------------------------------


@pytest.mark.parametrize("make", [jpeg, tiff, heic], ids=["jpeg", "tiff", "heic"])
def test_every_field_is_read_from_jpeg_tiff_and_heic(make):
    assert extract_embedded(opened(make(FULL))) == FULL_EMBEDDED


def test_iptc_fills_what_xmp_lacks_and_adds_its_keywords(alice):
    iptc = [((1, 90), b"\x1b%G"), ((2, 25), "Zürich".encode()), ((2, 25), b"kayak"), ((2, 105), b"IPTC headline"),
            ((2, 90), b"Zurich"), ((2, 101), b"Switzerland"), ((2, 80), b"Ann"), ((2, 80), b"Bob"),
            ((2, 116), b"IPTC rights")]
    both = extract_embedded(opened(jpeg(xmp_packet('photoshop:Headline="XMP headline"', SUBJECT), iptc)))
    assert both == {"keywords": ["kayak", "lake district", "zürich"], "headline": "XMP headline",
                    "creator": "Ann, Bob", "copyright": "IPTC rights", "city": "Zurich", "country": "Switzerland"}
    # Legacy IPTC without a character set: UTF-8 when it decodes as such, else Windows Latin-1.
    legacy = extract_embedded(opened(jpeg(iptc=[((2, 90), "Málaga".encode("cp1252")), ((2, 101), b"Espa\xc3\xb1a")])))
    assert legacy == {"city": "Málaga", "country": "España"}


def test_text_is_cleaned_and_capped(alice):
    body = ("<photoshop:Headline>Line\u202eevil\u200bone \t\n  next</photoshop:Headline>"
            f"<photoshop:City>{'x' * 5000}</photoshop:City>"
            "<dc:subject><rdf:Bag>" + "".join(f"<rdf:li>Key {i}</rdf:li>" for i in range(200))
            + "<rdf:li>   </rdf:li></rdf:Bag></dc:subject>")
    # XML cannot hold NUL or other C0 controls; IPTC is binary and can.
    iptc = [((2, 95), b"Cum\x00bria\x07\x1b"), ((2, 25), b"\x00\x00")]
    embedded = extract_embedded(opened(jpeg(xmp_packet(body=body), iptc)))
    assert embedded["headline"] == "Lineevilone next"  # bidi override and zero-width space gone, spaces one
    assert embedded["region"] == "Cumbria"
    assert embedded["city"] == "x" * 128
    assert embedded["keywords"] == [f"key {i}" for i in range(MAX_TAGS)]
    asset = ingest(alice, jpeg(xmp_packet(body=body)))
    assert len(asset.tags) == MAX_TAGS and asset.status == Status.READY


# --- Hostile and broken XMP -------------------------------------------------------------------------

BILLION_LAUGHS = (
    '<?xml version="1.0"?><!DOCTYPE lolz [<!ENTITY lol "lol">'
    + "".join(f'<!ENTITY lol{i} "{("&lol" + (str(i - 1) if i > 1 else "") + ";") * 10}">' for i in range(1, 10))
    + "]>"
)
EXTERNAL = '<?xml version="1.0"?><!DOCTYPE x [<!ENTITY secret SYSTEM "file:///etc/passwd">]>'


@pytest.mark.parametrize(
    ("make", "packet"),
    [
        (jpeg, xmp_packet('photoshop:Headline="&lol9;"', SUBJECT, prolog=BILLION_LAUGHS)),
        (jpeg, xmp_packet('photoshop:Headline="&secret;"', SUBJECT, prolog=EXTERNAL)),
        (jpeg, xmp_packet('photoshop:Headline="Cut"', SUBJECT)[:-40]),  # cut off: not well-formed
        (jpeg, b"\xff\xfe not XML at all \x00\x01"),
        # 100,000 levels deep, within the size cap (a TIFF tag has no 64 KiB limit): parsed, nothing found.
        (tiff, xmp_packet("", "<photoshop:Headline>" + "<a>" * 100_000 + "</a>" * 100_000 + "</photoshop:Headline>")),
    ],
    ids=["billion-laughs", "external-entity", "malformed", "garbage", "deeply-nested"],
)
def test_hostile_or_broken_xmp_is_survived_without_embedded_metadata(alice, make, packet):
    data = make(packet)
    started = time.monotonic()
    asset = ingest(alice, data, "hostile.tif" if make is tiff else "hostile.jpg")
    assert time.monotonic() - started < 10
    assert asset.status == Status.READY and asset.error == ""
    assert "embedded" not in asset.exif
    assert asset.renditions.count() == 2  # the rest of the ingest happened


def test_an_oversized_xmp_packet_is_not_parsed(alice):
    padding = "<photoshop:Source>" + "x" * (MAX_XMP_BYTES + 10) + "</photoshop:Source>"
    packet = xmp_packet('photoshop:Headline="Too big"', SUBJECT + padding)
    assert len(packet) > MAX_XMP_BYTES
    asset = ingest(alice, tiff(packet), "big.tif")
    assert asset.status == Status.READY and "embedded" not in asset.exif
    # Just under the cap is read.
    small = xmp_packet('photoshop:Headline="Fits"', SUBJECT + "<photoshop:Source>" + "x" * 1000 + "</photoshop:Source>")
    assert extract_embedded(opened(tiff(small)))["headline"] == "Fits"


def test_without_defusedxml_xmp_is_not_read_at_all(monkeypatch):
    import builtins

    real_import = builtins.__import__

    def no_defusedxml(name, *args, **kwargs):
        if name.startswith("defusedxml"):
            raise ImportError("no defusedxml")
        return real_import(name, *args, **kwargs)

    monkeypatch.setattr(builtins, "__import__", no_defusedxml)
    iptc = [((2, 90), b"Zurich")]
    assert extract_embedded(opened(jpeg(FULL, iptc))) == {"city": "Zurich"}  # IPTC still, never unsafe XML


# --- Keywords and caption: offered once -------------------------------------------------------------


def test_a_reprocess_neither_duplicates_nor_brings_back_what_a_person_removed(alice):
    asset = ingest(alice, jpeg(FULL), tags=["mine"])
    assert asset.tags == ["mine", "kayak", "lake district"]
    assert asset.description == "A red kayak on a lake"

    actions.update_asset(alice, asset.pk, {"tags": ["mine", "lake district"], "description": ""})
    actions.reprocess(alice, [asset.pk])
    assert process_asset(asset.pk).startswith("ready")
    asset.refresh_from_db()
    assert asset.tags == ["mine", "lake district"]  # "kayak" stays removed, nothing twice
    assert asset.description == ""  # the cleared description stays cleared
    assert asset.exif["embedded"]["keywords"] == ["kayak", "lake district"]  # still what the file says

    # A person who types a tag the file also has: still once.
    actions.update_asset(alice, asset.pk, {"tags": ["mine", "lake district", "kayak"]})
    actions.reprocess(alice, [asset.pk])
    process_asset(asset.pk)
    asset.refresh_from_db()
    assert asset.tags == ["mine", "lake district", "kayak"]


def test_keywords_a_newer_reading_finds_are_offered_then(alice):
    """Assets ingested before keywords were read (no exif["embedded"]) get them at their next reprocess."""
    asset = ingest(alice, jpeg(FULL))
    Asset.objects.filter(pk=asset.pk).update(exif={}, tags=["old"], description="")  # as an older version left it
    actions.reprocess(alice, [asset.pk])
    process_asset(asset.pk)
    asset.refresh_from_db()
    assert asset.tags == ["old", "kayak", "lake district"]
    assert asset.description == "A red kayak on a lake"


def test_keywords_fill_the_tags_only_up_to_the_limit(alice):
    own = [f"t{i}" for i in range(MAX_TAGS - 1)]
    asset = ingest(alice, jpeg(FULL), tags=own)
    assert asset.tags == [*own, "kayak"]
    assert len(asset.tags) == MAX_TAGS


def test_an_edit_made_while_the_file_is_read_is_kept(alice):
    result = actions.upload_asset(alice, io.BytesIO(jpeg(FULL)), "a.jpg", actions.AssetOptions(tags=["first"]))
    claim = pipeline.claim_ingest(result.asset.pk)
    computed = extract(claim.assets[0])  # the worker reads the file from the row it claimed
    # Meanwhile a person edits the tags and the description (an edit does not take the ingest claim).
    actions.update_asset(alice, result.asset.pk, {"tags": ["harbour"], "description": "Typed by alice"})
    assert claim.assets[0].tags == ["first"]  # the worker's copy is stale now

    assert pipeline.finish_ingest(claim, computed)
    asset = Asset.objects.get(pk=result.asset.pk)
    assert asset.tags == ["harbour", "kayak", "lake district"]  # merged into the edit, not into the stale copy
    assert asset.description == "Typed by alice"
    assert asset.status == Status.READY
    entry = AuditEntry.objects.filter(action="asset.processed", asset_ids__contains=[asset.pk]).get()
    assert entry.changes["tags"] == [["harbour"], ["harbour", "kayak", "lake district"]]
    assert "description" not in entry.changes
