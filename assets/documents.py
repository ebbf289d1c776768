"""An asset's searchable document: its fields, what each says, and how much each counts.

One definition for every reader: the keyword index (each field's words repeated by its weight,
so BM25 over the token list is BM25F with per-field weights and one length normalisation), the
text vectors and the reranker's document (the fields once each, in this order), and the
explanations (which field matched).

People's own words count most, then what came embedded in the file and its name, then what the
machine found in the picture.
"""

from __future__ import annotations

from dataclasses import dataclass

from assets.filenames import name_words
from assets.representation import shown


@dataclass(frozen=True)
class Field:
    name: str
    label: str  # as explanations name it
    weight: int
    # The field's words are a machine's singular nouns (ImageNet classes and their general terms,
    # "person"): the keyword index holds their plurals too, since people ask for "mountains".
    nouns: bool = False
    # The field's words may run together: text recognition drops the spaces between words
    # ("QUARTERLYHARBOURREPORT"), so the keyword index holds the words of such runs too.
    joined: bool = False


FIELDS = (
    Field("title", "title", 3),
    Field("tags", "tags", 3),
    Field("description", "description", 2),
    Field("caption", "caption", 2),
    Field("metadata", "embedded metadata", 2),
    Field("filename", "file name", 2),
    Field("camera", "camera", 1),
    Field("pages", "document text", 1),
    Field("text_in_image", "text in the picture", 1, joined=True),
    Field("labels", "what it shows", 1, nouns=True),
    Field("faces", "people", 1, nouns=True),
    Field("colours", "colours", 1),
    Field("place", "place", 1),
    Field("dates", "date", 1),
)
BY_NAME = {field.name: field for field in FIELDS}
# Fields an analyser fills, each from its Analysis row of the same name ("pages", a PDF's text, is
# written at ingest: the file's own words, read like its metadata). "caption" is the asset's own
# caption when a person wrote one, else the caption analyser's.
ANALYSED = frozenset({"caption", "text_in_image", "labels", "faces", "colours", "place", "dates", "pages"})
# Asset columns the document reads (besides its analyses): a write that touches none of them
# leaves the document as it was.
ASSET_COLUMNS = frozenset(
    {"title", "description", "caption", "tags", "original_filename", "camera_make", "camera_model", "exif"}
)


def _metadata_text(exif: dict) -> str:
    embedded = (exif or {}).get("embedded") or {}
    parts = []
    for key in ("headline", "creator", "album", "copyright", "city", "region", "country", "location"):
        value = embedded.get(key)
        if isinstance(value, str) and value:
            parts.append(value)
    return "\n".join(parts)


def field_texts(asset) -> dict[str, str]:
    """{field: text} of the non-empty fields. Reads the asset's analyses (prefetch them for many:
    `assets.representation.represented`, or prefetch_related("analyses"))."""
    texts = {
        "title": asset.title,
        "tags": "\n".join(asset.tags or []),
        "description": asset.description,
        "caption": asset.caption,
        "metadata": _metadata_text(asset.exif),
        "filename": asset.original_filename,
        "camera": " ".join(part for part in (asset.camera_make, asset.camera_model) if part),
    }
    if asset.pk is not None:
        for analysis in shown(asset, "analyses"):
            if analysis.analyser in ANALYSED and not (analysis.analyser == "caption" and texts["caption"]):
                texts[analysis.analyser] = analysis.searchable_text
    return {name: text for name, text in texts.items() if text}


def document_text(asset) -> str:
    """The document as text models and the reranker read it: every field once, in order; of the
    file name only its words (assets.filenames.name_words)."""
    texts = field_texts(asset)
    if "filename" in texts:
        texts["filename"] = name_words(texts["filename"])
    return "\n".join(texts[field.name] for field in FIELDS if texts.get(field.name))
