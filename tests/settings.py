"""Test settings: the same settings module, with a Redis, test database and media root of the tests' own.

Tests share the embedded PostgreSQL server (Django creates its own test database in it) but
never the broker, so a `make run` worker beside them never picks up a test's tasks.
"""

import os
import tempfile
from pathlib import Path

# Per test run: a broker and a test database of its own, so two runs on one machine never mix.
os.environ.setdefault("MEDIAVAULT_REDIS_NAME", f"redis-test-{os.getpid()}")
os.environ.setdefault("TEST_DATABASE_NAME", f"test_mediavault_{os.getpid()}")
os.environ.setdefault("MEDIA_ROOT", tempfile.mkdtemp(prefix="mediavault-test-media-"))
# Short leases, so the fault tests see a killed worker's claims come back within seconds.
os.environ.setdefault("MEDIAVAULT_LEASE_S", "6")
os.environ.setdefault("MEDIAVAULT_REQUEUE_AFTER_S", "4")

from mediavault.settings import *  # noqa: E402,F403
from mediavault.settings import BASE_DIR  # noqa: E402

PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
SHARED_DATA = Path(os.environ.get("MEDIAVAULT_SHARED_DATA", BASE_DIR.parent / "shared" / "data"))
STORAGES["staticfiles"] = {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"}  # noqa: F405
