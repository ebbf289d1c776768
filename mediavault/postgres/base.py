"""Django's PostgreSQL backend, with the health check that runs at the start of each request
made cheap for a connection that is plainly alive.

``CONN_HEALTH_CHECKS`` keeps persistent connections safe across a database restart, but Django
checks with a ``SELECT 1`` round trip before the first query of every request: under load that
was a tenth of the web threads' time. A session the server has ended (a restart, a terminated
backend, an idle timeout) leaves its socket readable: at end of file, or with the termination
notice waiting, since an idle connection has nothing else in flight (the web processes never
LISTEN). So an idle, unbroken connection whose socket has nothing to read is taken as alive
without a query; anything else gets Django's own check. A connection lost without the server
saying so (a cut network) looks alive to both checks until a query times out, as before.
"""

from __future__ import annotations

import select

from django.db.backends.postgresql import base
from psycopg import pq


class DatabaseWrapper(base.DatabaseWrapper):
    def close_if_health_check_failed(self) -> None:
        if (self.connection is not None and self.health_check_enabled and not self.health_check_done
                and _plainly_alive(self.connection)):
            self.health_check_done = True
            return
        super().close_if_health_check_failed()


def _plainly_alive(connection) -> bool:
    if connection.closed or connection.broken or connection.pgconn.transaction_status != pq.TransactionStatus.IDLE:
        return False
    try:
        readable, _, _ = select.select([connection.fileno()], [], [], 0)
    except (OSError, ValueError):  # the socket is already gone
        return False
    return not readable
