"""Keeping a claim's lease alive while a worker (or `reembed`) works on it.

A lease is short (MEDIAVAULT_LEASE_S) so that the claims of a worker that died come back within
a minute; a worker that is still working renews its leases every third of that from a thread of
its own (with its own database connection). Once a renewal finds nothing held under the token
(an edit or a reprocess took the claim), the work is still finished, and its result discarded.
"""

from __future__ import annotations

import logging
import threading
import uuid
from collections.abc import Iterator
from contextlib import contextmanager

from django.conf import settings
from django.db import connection

from assets.actions.pipeline import Stage, renew_lease

log = logging.getLogger(__name__)


@contextmanager
def kept(stage: Stage, token: uuid.UUID, every: float | None = None) -> Iterator[None]:
    every = settings.LEASE_S / 3 if every is None else every
    stop = threading.Event()

    def renew() -> None:
        try:
            while not stop.wait(every):
                try:
                    if renew_lease(stage, token) == 0:
                        return  # nothing is ours any more
                except Exception:  # a database hiccup: try again at the next tick, the lease still runs
                    log.warning("could not renew the %s lease %s", stage.name, token, exc_info=True)
        finally:
            connection.close()

    thread = threading.Thread(target=renew, name=f"lease-{stage.name}", daemon=True)
    thread.start()
    try:
        yield
    finally:
        stop.set()
        thread.join(timeout=10)
