"""The audit entry every action writes: who, what, which object, the fields before and after."""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Iterable, Mapping
from typing import Any

from django.db import models

from assets.models import AuditEntry

SYSTEM = "system"


def _plain(value: Any) -> Any:
    """A JSON-safe picture of a field value: rows by their name and id, times in ISO form."""
    if value is None or isinstance(value, (str, int, float, bool)):
        return value
    if isinstance(value, (dt.datetime, dt.date)):
        return value.isoformat()
    if isinstance(value, uuid.UUID):
        return str(value)
    if isinstance(value, models.Model):
        return {"id": value.pk, "name": str(value)}
    if isinstance(value, Mapping):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, Iterable):
        return [_plain(v) for v in value]
    return str(value)


_EMPTY = (None, "", [], {})


def diff(before: Mapping[str, Any], after: Mapping[str, Any]) -> dict[str, list]:
    """{field: [before, after]} for the fields whose value changed (nothing to nothing is no change)."""
    changes = {}
    for name, value in after.items():
        old, new = _plain(before.get(name)), _plain(value)
        if old != new and not (old in _EMPTY and new in _EMPTY):
            changes[name] = [old, new]
    return changes


def _count(ids: list[int]) -> str:
    return f"{len(ids)} asset{'s' if len(ids) != 1 else ''}" if ids else ""


def record(
    actor,
    action: str,
    obj: models.Model | None = None,
    *,
    object_type: str = "",
    asset_ids: Iterable[int] = (),
    changes: Mapping | None = None,
    detail: Mapping | None = None,
) -> AuditEntry:
    """Write the one entry of an action, in the action's transaction. `actor` None is the system
    (workers, the sweeper, scheduled purges). `obj` None: the action touched many objects."""
    if obj is not None:
        object_type = object_type or obj._meta.model_name
    ids = {int(pk) for pk in asset_ids}
    if obj is not None and object_type == "asset":
        ids.add(obj.pk)
    ids = sorted(ids)
    return AuditEntry.objects.create(
        actor_id=getattr(actor, "pk", None),
        actor_name=actor.get_username() if actor is not None else SYSTEM,
        action=action,
        object_type=object_type,
        object_id=obj.pk if obj is not None else None,
        object_repr=str(obj)[:255] if obj is not None else _count(ids),
        asset_ids=ids,
        changes=_plain(changes or {}),
        detail=_plain(detail or {}),
    )
