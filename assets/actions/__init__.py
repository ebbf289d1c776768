"""The one writer of MediaVault's state: assets, their files (blobs), collections, team memberships.

Views, serializers, the admin, the bulk tools, management commands and workers validate what
they were given and call these functions; nothing else changes those rows (zulip's
``zerver/actions`` pattern). Each action:

- is one transaction, locking the rows it changes (asset rows in id order, then blob rows, then
  the keyword index lock: one order everywhere, so actions never deadlock each other);
- keeps the keyword index in step inside that transaction (``assets.keyword_index``);
- enqueues follow-up work once it has committed (``assets.queue``), with primitive arguments;
- writes exactly one audit entry (``assets.actions.audit``), never edited afterwards.

Workers report through ``pipeline`` with the claim token they were given: a result is written
only while that token is still the asset's claim (compare-and-set).

Modules: ``uploads``, ``editing``, ``bulk``, ``deletion`` (trash, restore, purge), ``pipeline``
(stages, claims, the sweeper), ``collections``, ``teams``, ``blobs`` (stored files), ``downloads``,
``audit``, ``permissions``.
"""

from assets.actions.deletion import purge, restore, trash
from assets.actions.downloads import record_download
from assets.actions.editing import EditRefused, correct_analysis, update_asset
from assets.actions.permissions import NotAllowed
from assets.actions.pipeline import reprocess, request_embedding
from assets.actions.uploads import AssetOptions, UploadResult, check_options, upload_asset, upload_many

__all__ = [
    "AssetOptions",
    "EditRefused",
    "NotAllowed",
    "UploadResult",
    "check_options",
    "correct_analysis",
    "purge",
    "record_download",
    "reprocess",
    "request_embedding",
    "restore",
    "trash",
    "update_asset",
    "upload_asset",
    "upload_many",
]
