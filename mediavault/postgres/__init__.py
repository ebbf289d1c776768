"""Django's PostgreSQL backend with a cheaper per-request connection check (see ``base``)."""
