"""Ingest of video, audio and PDF assets: what each kind gets from its file, computed and not written
(``assets.processing`` reports it through ``assets.actions.pipeline.finish_ingest``).

- video: the probe's facts, a strip of frames spread over its length, a poster chosen among them
  (the thumbnails are made from it; analysers and image vectors read the poster), and a
  web-playable H.264/AAC copy when the original does not play in browsers.
- audio: the probe's facts and tags, a waveform as its thumbnail.
- PDF: the document's info, page thumbnails (the first is the asset's), and every page's text as the
  ``pages`` finding that search reads.

Descriptive tags (a song's title and artist, a PDF's author and keywords) go where a photo's XMP
goes, ``exif["embedded"]``, so the same rules offer them to tags and description
(``assets.embedded``) and the search document reads them as embedded metadata.
"""

from __future__ import annotations

import os
import re
import tempfile
from collections.abc import Callable

from django.conf import settings

from assets import filetypes
from assets.actions.pipeline import Finding, IngestResult, RenditionData
from assets.imaging import jpeg_thumbnail
from assets.models import Asset, MediaType
from assets.playback import PROXY_SPEC
from assets.processing import thumbnails

PAGES_ANALYSER = "pages"
PAGE_SIDE = 1024
MAX_PAGES_TEXT = 100_000  # characters of a document that search reads


def _embedded(pairs: dict[str, str | None], keywords: list[str] = ()) -> dict:
    from assets.metadata import clean_text, normalised_keywords

    embedded: dict = {}
    found = normalised_keywords(list(keywords))
    if found:
        embedded["keywords"] = found
    for key, value in pairs.items():
        text = clean_text(value, 500)
        if text:
            embedded[key] = text
    return embedded


def _demuxer(handle) -> str:
    handle.seek(0)
    demuxer = filetypes.check(handle.read(filetypes.SIGNATURE_BYTES)).demuxer
    handle.seek(0)
    return demuxer


# --- Video and audio ---------------------------------------------------------------------------


def _av_fields(info, embedded: dict) -> dict:
    fields = {
        "duration": info.duration,
        "media_info": info.as_json(),
        "exif": {"embedded": embedded} if embedded else {},
        "taken_at": info.created_at,
        "gps_latitude": info.latitude,
        "gps_longitude": info.longitude,
    }
    if info.width and info.height:
        fields["width"], fields["height"] = info.width, info.height
    return fields


def extract_video(asset: Asset, progress: Callable[[float], None]) -> IngestResult:
    from assets import av_frames, av_probe, av_proxy

    with asset.blob.open() as handle:
        info = av_probe.probe(handle, _demuxer(handle))
        frames = av_frames.sample_frames(handle, info, settings.VIDEO_STRIP_FRAMES, max(settings.RENDITION_SIZES))
        if not frames:
            raise ValueError("no frame of the video could be decoded")
        poster = av_frames.pick_poster(frames)
        tags = info.tags
        fields = _av_fields(info, _embedded(
            {"headline": tags.get("title"), "creator": tags.get("artist") or tags.get("author"),
             "caption": tags.get("comment") or tags.get("description"), "copyright": tags.get("copyright")},
        ))
        renditions = thumbnails(frames[poster][1])
        strip = []
        for index, (seconds, image) in enumerate(frames):
            # As large as the thumbnails: the analysers read frames (text in a frame needs the pixels).
            data, width, height = jpeg_thumbnail(image, max(settings.RENDITION_SIZES))
            renditions.append(RenditionData(f"frame{index}", data, width, height))
            strip.append({"spec": f"frame{index}", "seconds": round(seconds, 3)})
        playable = av_proxy.plays_in_browsers(info)
        fields["media_info"].update(plays_in_browsers=playable, frames=strip,
                                    poster_seconds=round(frames[poster][0], 3))
        if not playable:
            renditions.append(_proxy(handle, info, progress))
    return IngestResult(fields, renditions)


def _proxy(handle, info, progress) -> RenditionData:
    from assets import av_proxy

    spool = tempfile.NamedTemporaryFile(prefix="mediavault-proxy-", suffix=".mp4", delete=False)  # noqa: SIM115
    spool.close()
    try:
        width, height = av_proxy.make_proxy(handle, info, spool.name, progress=progress)
    except BaseException:
        os.unlink(spool.name)
        raise
    return RenditionData(PROXY_SPEC, b"", width, height, "video/mp4", path=spool.name)


def extract_audio(asset: Asset, progress: Callable[[float], None]) -> IngestResult:
    from assets import av_frames, av_probe, av_proxy

    with asset.blob.open() as handle:
        info = av_probe.probe(handle, _demuxer(handle))
        picture = av_frames.waveform(handle, info)
    tags = info.tags
    genres = [part for part in re.split(r"[;,/]", tags.get("genre", "")) if part.strip()]
    fields = _av_fields(info, _embedded(
        {"headline": tags.get("title"), "creator": tags.get("artist"), "album": tags.get("album"),
         "caption": tags.get("comment"), "copyright": tags.get("copyright")},
        genres,
    ))
    if tags.get("year"):  # four digits (assets.av_tags)
        fields["media_info"]["year"] = int(tags["year"])
    fields["media_info"]["plays_in_browsers"] = av_proxy.plays_in_browsers(info)
    return IngestResult(fields, thumbnails(picture))


# --- PDF ---------------------------------------------------------------------------------------


def extract_document(asset: Asset, progress: Callable[[float], None]) -> IngestResult:
    from assets import pdf

    with asset.blob.open() as handle:
        info = pdf.inspect_pdf(handle)
        pages = pdf.render_pages(handle, PAGE_SIDE, settings.PDF_PREVIEW_PAGES)
        texts = pdf.page_texts(handle, limit_chars=MAX_PAGES_TEXT)
    keywords = [part for part in re.split(r"[;,]", info.keywords) if part.strip()]
    details = info.as_json()
    fields = {
        "media_info": details,
        "exif": {"embedded": embedded} if (embedded := _embedded(
            {"headline": info.title, "creator": info.author, "caption": info.subject}, keywords)) else {},
        "taken_at": info.created_at,
    }
    renditions = thumbnails(pages[0])
    for number, image in enumerate(pages[1:], start=2):
        data, width, height = jpeg_thumbnail(image, PAGE_SIDE)
        renditions.append(RenditionData(f"page{number}", data, width, height))
    details["previews"] = len(pages)
    return IngestResult(fields, renditions, findings=[_pages_finding(asset, texts)])


PAGE_BREAK = "\n\f\n"  # between pages in the finding's text: a match can name its page (search.explain)


def _pages_finding(asset: Asset, texts: list[str]) -> Finding:
    """Every page's text as one finding, pages apart by a form feed (which no page's text holds)."""
    import pypdfium2

    texts = [text.replace("\f", " ") for text in texts]
    scanned = [number for number, text in enumerate(texts, start=1) if not text.strip()]
    model_id = f"pypdfium2-{pypdfium2.PYPDFIUM_INFO}/pdfium-{pypdfium2.PDFIUM_INFO.build}"
    return Finding(asset.pk, PAGES_ANALYSER, model_id, text=PAGE_BREAK.join(texts),
                   data={"pages": len(texts), "without_text": scanned})

EXTRACTORS = {MediaType.VIDEO: extract_video, MediaType.AUDIO: extract_audio, MediaType.DOCUMENT: extract_document}
