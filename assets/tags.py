from collections.abc import Iterable

MAX_TAGS = 50
MAX_TAG_LENGTH = 64


def normalise_tags(raw: str | Iterable[str] | None) -> list[str]:
    """Comma-separated text or a list -> unique, trimmed, lower-cased tags in first-seen order."""
    if raw is None:
        return []
    items = raw.split(",") if isinstance(raw, str) else raw
    tags: list[str] = []
    for item in items:
        if not isinstance(item, str):
            raise ValueError("tags must be text")
        if "\x00" in item:
            # PostgreSQL cannot store it (the database would refuse the row: a 500, not a 400).
            raise ValueError("tags may not contain null characters")
        tag = " ".join(item.split()).lower()[:MAX_TAG_LENGTH]
        if tag and tag not in tags:
            tags.append(tag)
    if len(tags) > MAX_TAGS:
        raise ValueError(f"at most {MAX_TAGS} tags")
    return tags
