"""Editing assets' metadata: locked rows, one transaction, keyword index and vectors kept in step."""

from __future__ import annotations

from django.db import IntegrityError, transaction
from django.utils import timezone

from assets import keyword_index, queue
from assets.actions import audit
from assets.actions.permissions import NotAllowed, check_editable, filing_refusal
from assets.actions.pipeline import EMBEDDING
from assets.models import Analysis, Asset, Status, Visibility

# What people may change; everything else is the pipeline's (metadata, status) or fixed at upload.
EDITABLE_FIELDS = frozenset({"title", "description", "tags", "caption", "team", "visibility", "owner"})
# What the text vectors read, of those; the keyword index also files each document under its
# visibility scope (whose statistics count it), which the other three decide.
TEXT = frozenset({"title", "description", "tags", "caption"})
INDEXED = TEXT | {"team", "visibility", "owner"}


class EditRefused(ValueError):
    """The change cannot be made as asked (the message says why); nothing was changed."""


def lock_editable(actor, asset_ids) -> list[Asset]:
    """The assets `actor` may edit among `asset_ids`, locked in id order (None: the system, any live one)."""
    rows = Asset.objects.alive() if actor is None else Asset.objects.editable_by(actor)
    rows = rows.filter(pk__in=list(asset_ids)).select_related("team")
    return list(rows.select_for_update(of=("self",)).order_by("pk"))


def write_changes(actor, rows: list[Asset], changes: dict[int, dict]) -> dict[int, dict]:
    """Write each row's changes (rows locked by the caller); returns {id: {field: [before, after]}}
    for what really changed. The caller records the audit entry: one per action."""
    diffs: dict[int, dict] = {}
    text_changed: list[int] = []
    for row in rows:
        wanted = changes.get(row.pk) or {}
        unknown = set(wanted) - EDITABLE_FIELDS
        if unknown:
            raise EditRefused(f"these fields cannot be edited: {', '.join(sorted(unknown))}")
        before = {name: getattr(row, name) for name in wanted}
        changed = {name: value for name, value in wanted.items() if before[name] != value}
        if not changed:
            continue
        _check_rules(actor, row, changed)
        for name, value in changed.items():
            setattr(row, name, value)
        fields = [*changed, "updated_at"]
        if changed.keys() & TEXT:
            # New text, new text vectors: a worker embedding the old text loses its claim.
            for name, value in EMBEDDING.reset().items():
                setattr(row, name, value)
            row.queued_at = row.embedding_changed_at = timezone.now()
            fields += [*EMBEDDING.reset(), "queued_at", "embedding_changed_at"]
            if row.status == Status.READY:
                text_changed.append(row.pk)
        try:
            with transaction.atomic():
                row.save(update_fields=fields)
        except IntegrityError:
            raise EditRefused("the new owner already has an asset with the same file") from None
        diffs[row.pk] = audit.diff(before, changed)
    keyword_index.reindex([pk for pk, diff in diffs.items() if diff.keys() & INDEXED])
    if text_changed:
        queue.embed_on_commit(text_changed)
    return diffs


def update_asset(actor, asset: Asset | int, changes: dict) -> Asset:
    """Apply `changes` to one asset as `actor` (None: the system) and return the fresh row.

    Only the changed columns are written, so a worker writing metadata meanwhile is not
    overwritten; when searchable text changed, the keyword index is updated in this
    transaction and the asset queued for new text vectors."""
    pk = asset if isinstance(asset, int) else asset.pk
    with transaction.atomic():
        rows = lock_editable(None, [pk])
        if not rows:
            raise NotAllowed("This asset no longer exists (or is in the trash).")
        row = rows[0]
        check_editable(actor, row)
        diffs = write_changes(actor, rows, {pk: changes})
        if diffs:
            audit.record(actor, "asset.updated", row, changes=diffs[pk])
    return row


def _check_rules(actor, row: Asset, changed: dict) -> None:
    if "owner" in changed and actor is not None and not actor.is_superuser:
        raise NotAllowed("Only an administrator can give an asset to someone else.")
    team = changed.get("team", row.team)
    visibility = changed.get("visibility", row.visibility)
    if visibility not in Visibility.values:
        raise EditRefused(f"visibility must be one of {', '.join(Visibility.values)}")
    if "team" in changed and actor is not None:
        reason = filing_refusal(actor, team, visibility)
        if reason:
            raise EditRefused(reason)
    if visibility == Visibility.TEAM and team is None:
        raise EditRefused("team visibility needs a team")


def correct_analysis(actor, asset: Asset | int, analyser: str, text: str | None) -> Analysis:
    """A person's correction of what an analyser found (None: back to the machine's text). It wins
    over the machine's result from now on, later analyses included, in search and text vectors."""
    pk = asset if isinstance(asset, int) else asset.pk
    with transaction.atomic():
        rows = lock_editable(None, [pk])
        if not rows:
            raise NotAllowed("This asset no longer exists (or is in the trash).")
        check_editable(actor, rows[0])
        finding = Analysis.objects.select_for_update().filter(asset_id=pk, analyser=analyser).first()
        if finding is None:
            raise EditRefused(f"nothing was detected for {analyser} yet")
        text = None if text is None else " ".join(text.split())[:10_000]
        before = finding.corrected_text
        if before == text:
            return finding
        finding.corrected_text = text
        finding.save(update_fields=["corrected_text", "updated_at"])
        keyword_index.reindex([pk])
        row = rows[0]
        if row.status == Status.READY:
            Asset.objects.filter(pk=pk).update(**EMBEDDING.reset(), queued_at=timezone.now())
            queue.embed_on_commit([pk])
        audit.record(actor, "asset.finding_corrected", row,
                     changes={analyser: [before if before is not None else finding.text, finding.searchable_text]})
    return finding
