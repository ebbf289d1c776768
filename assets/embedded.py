"""What a file's embedded metadata (XMP, IPTC: read by ``assets.metadata`` into ``exif["embedded"]``)
gives the fields people edit: its keywords become tags, its caption fills an empty description.

The rule: **the file offers each keyword, and its caption, once per asset.** A keyword is added to the
tags the first time an ingest reads it from the file, unless the asset has it already (no duplicates)
or has no room left (at most ``MAX_TAGS``); the caption fills the description only while the
description is empty, and only the first time the file is read with that caption. What the file
offered is remembered as ``exif["embedded"]`` itself (the keywords normalised as tags), so a reprocess
offers nothing that an earlier ingest offered already: a tag a person removed, or a description they
cleared, is not brought back, and nothing is added twice. A keyword that found no room is not offered
again either: the person's tag list wins.

Edits are never lost to an ingest that ran meanwhile: ``offered_changes`` is computed inside
``assets.actions.pipeline.finish_ingest`` from the row it has just locked (not from the row the worker
claimed), so whatever a person saved while the file was being read is what the keywords are merged
into. Tags that came from the file are those also in ``exif["embedded"]["keywords"]``.
"""

from __future__ import annotations

from assets.tags import MAX_TAGS


def embedded_of(exif: dict | None) -> dict:
    embedded = (exif or {}).get("embedded")
    return embedded if isinstance(embedded, dict) else {}


def offered_changes(asset, new_exif: dict | None) -> dict:
    """{"tags": [...], "description": "..."} for what the file offers `asset` now (only the fields that
    change). `asset` is the stored row, locked, whose exif is what the previous ingest read."""
    new, previous = embedded_of(new_exif), embedded_of(asset.exif)
    changes: dict = {}
    tags = list(asset.tags or [])
    offered_before = set(previous.get("keywords") or [])
    fresh = [k for k in new.get("keywords") or [] if k not in offered_before and k not in tags]
    room = MAX_TAGS - len(tags)
    if fresh and room > 0:
        changes["tags"] = tags + fresh[:room]
    caption = new.get("caption")
    if caption and not (asset.description or "").strip() and caption != previous.get("caption"):
        changes["description"] = caption
    return changes


def from_file(asset) -> list[str]:
    """The asset's tags that its file's keywords brought (or that the file also names), in tag order."""
    keywords = set(embedded_of(asset.exif).get("keywords") or [])
    return [tag for tag in asset.tags or [] if tag in keywords]
