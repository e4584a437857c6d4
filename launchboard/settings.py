"""Launchboard settings: one file, every value from the environment.

With nothing set, Launchboard runs embedded: a SQLite file under ``var/``, the in-memory channel
layer and a Celery worker and beat inside the server process. ``DATABASE_URL`` and ``REDIS_URL``
switch to PostgreSQL and Redis (broker and channel layer). A bad value stops the process at start
with a message that names the variable.
"""

from __future__ import annotations

import hashlib
import os
import secrets
from pathlib import Path
from urllib.parse import parse_qs, unquote, urlparse

from django.core.exceptions import ImproperlyConfigured

from launchboard.private import open_private, private_dir, private_file

BASE_DIR = Path(__file__).resolve().parent.parent


# --- env helpers -----------------------------------------------------------------------------
def env_str(name: str, default: str = "") -> str:
    return os.environ.get(name, default).strip()


def env_bool(name: str, default: bool) -> bool:
    raw = os.environ.get(name)
    if raw is None or raw.strip() == "":
        return default
    value = raw.strip().lower()
    if value in {"1", "true", "yes", "on"}:
        return True
    if value in {"0", "false", "no", "off"}:
        return False
    raise ImproperlyConfigured(f"{name}={raw!r} is not a boolean (use true or false).")


def env_int(name: str, default: int, *, minimum: int = 0) -> int:
    raw = os.environ.get(name)
    if raw is None or raw.strip() == "":
        return default
    try:
        value = int(raw.strip())
    except ValueError:
        raise ImproperlyConfigured(f"{name}={raw!r} is not a whole number.") from None
    if value < minimum:
        raise ImproperlyConfigured(f"{name}={raw!r} must be at least {minimum}.")
    return value


def env_list(name: str, default: list[str]) -> list[str]:
    raw = os.environ.get(name)
    if raw is None or raw.strip() == "":
        return default
    return [item.strip() for item in raw.split(",") if item.strip()]


def database_from_url(url: str, *, pool_max: int) -> dict:
    """Django DATABASES entry for a ``postgres://`` or ``sqlite:///`` URL."""
    parsed = urlparse(url)
    if parsed.scheme in {"postgres", "postgresql", "pgsql"}:
        if not parsed.path.strip("/"):
            raise ImproperlyConfigured(f"DATABASE_URL={url!r} names no database.")
        options = {k: v[-1] for k, v in parse_qs(parsed.query).items()}
        if pool_max:
            # Django's psycopg pool; it refuses persistent connections (CONN_MAX_AGE must be 0).
            options["pool"] = {"min_size": 1, "max_size": pool_max, "timeout": 10}
        return {
            "ENGINE": "django.db.backends.postgresql",
            "NAME": unquote(parsed.path.lstrip("/")),
            "USER": unquote(parsed.username or ""),
            "PASSWORD": unquote(parsed.password or ""),
            "HOST": parsed.hostname or "",
            "PORT": str(parsed.port or ""),
            "CONN_MAX_AGE": 0,
            "CONN_HEALTH_CHECKS": True,
            "OPTIONS": options,
        }
    if parsed.scheme == "sqlite":
        path = url[len("sqlite:///") :] if url.startswith("sqlite:///") else ""
        if not path:
            raise ImproperlyConfigured(f"DATABASE_URL={url!r}: use sqlite:///path/to/file.sqlite3.")
        return sqlite_database(Path(path))
    raise ImproperlyConfigured(
        f"DATABASE_URL={url!r} is not supported: use postgres://user:pass@host:5432/name "
        "or sqlite:///path."
    )


def sqlite_database(path: Path) -> dict:
    # WAL lets readers run while one writer writes; IMMEDIATE takes the write lock at BEGIN, so a
    # CLI command and the server never deadlock upgrading a read lock to a write lock.
    return {
        "ENGINE": "django.db.backends.sqlite3",
        "NAME": str(path),
        # Tests use a file too, not shared-cache memory: concurrent writers then queue on the
        # busy timeout exactly as the server and a CLI command do.
        "TEST": {"NAME": str(path.with_name(f"test_{path.name}"))},
        "OPTIONS": {
            "transaction_mode": "IMMEDIATE",
            "timeout": 20,
            "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
        },
    }


def check_redis_url(url: str) -> str:
    if urlparse(url).scheme not in {"redis", "rediss", "unix"}:
        raise ImproperlyConfigured(f"REDIS_URL={url!r} is not a redis:// or rediss:// URL.")
    return url


def load_secret_key(data_dir: Path, production: bool) -> str:
    key = env_str("LAUNCHBOARD_SECRET_KEY") or env_str("DJANGO_SECRET_KEY")
    if key:
        return key
    if production:
        raise ImproperlyConfigured(
            "LAUNCHBOARD_SECRET_KEY is not set: production (DATABASE_URL set) needs a random "
            "secret of 50+ characters."
        )
    # Embedded mode: a key generated once and kept beside the SQLite file, so sessions survive
    # restarts without anyone having to invent a secret.
    key_file = data_dir / "secret_key"
    if not key_file.exists():
        private_dir(data_dir)
        with open_private(key_file, "w") as out:
            out.write(secrets.token_urlsafe(64))
    return key_file.read_text().strip()


# --- deployment mode ---------------------------------------------------------------------------
DATA_DIR = Path(env_str("LAUNCHBOARD_DATA_DIR") or BASE_DIR / "var").resolve()
DATABASE_URL = env_str("DATABASE_URL")
REDIS_URL = check_redis_url(env_str("REDIS_URL")) if env_str("REDIS_URL") else ""
PRODUCTION = bool(DATABASE_URL and REDIS_URL)
# The embedded worker runs Celery tasks and beat inside the web process (make run).
EMBEDDED_WORKER = env_bool("LAUNCHBOARD_EMBEDDED_WORKER", default=not REDIS_URL)

DATABASE_POOL_MAX = env_int("DATABASE_POOL_MAX", 8)
if DATABASE_POOL_MAX in (1, 2, 3):
    raise ImproperlyConfigured(
        f"DATABASE_POOL_MAX={DATABASE_POOL_MAX} is too small: use 0 (no pool) or at least 4 "
        "(one connection for the live pages, one for the readers' hub, one for uploads, one for "
        "everything else)."
    )
if DATABASE_URL:
    DATABASES = {"default": database_from_url(DATABASE_URL, pool_max=DATABASE_POOL_MAX)}
else:
    private_dir(DATA_DIR)
    DATABASES = {"default": sqlite_database(private_file(DATA_DIR / "launchboard.sqlite3"))}

DEBUG = env_bool("DEBUG", default=False)
SECRET_KEY = load_secret_key(DATA_DIR, production=bool(DATABASE_URL))
ALLOWED_HOSTS = env_list("ALLOWED_HOSTS", ["127.0.0.1", "localhost", "[::1]"])


def audit_keys(text: str, secret_key: str) -> dict[str, bytes]:
    """The keys of the audit chain's HMAC, the current one first: ``id:secret,id:secret``.
    Unset: one key derived from SECRET_KEY. To rotate, put the new key first and keep the old
    ones listed: each event names the key it was made with (checklists/core/audit.py)."""
    if not text:
        derived = hashlib.sha256(b"launchboard audit chain\0" + secret_key.encode()).digest()
        return {"sk-" + hashlib.sha256(derived).hexdigest()[:8]: derived}
    keys: dict[str, bytes] = {}
    for item in text.split(","):
        key_id, sep, secret = item.strip().partition(":")
        if not sep or not key_id or len(secret) < 32 or len(key_id) > 40:
            raise ImproperlyConfigured(
                "LAUNCHBOARD_AUDIT_KEYS: give id:secret pairs separated by commas, each secret "
                "at least 32 characters (newest first)."
            )
        keys[key_id] = secret.encode()
    return keys


AUDIT_KEYS = audit_keys(env_str("LAUNCHBOARD_AUDIT_KEYS"), SECRET_KEY)
# Signed checkpoints of every launch's newest event, outside the database (verify_audit).
AUDIT_CHECKPOINTS = Path(
    env_str("LAUNCHBOARD_AUDIT_CHECKPOINTS") or DATA_DIR / "audit" / "checkpoints.jsonl"
)
CSRF_TRUSTED_ORIGINS = env_list("CSRF_TRUSTED_ORIGINS", [])

# daphne is not an app here (it would replace runserver and load Twisted into every command):
# `manage.py serve --server daphne` starts it.
INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "channels",
    "template_partials",
    "django_celery_beat",
    "axes",
    "launchboard",
    "checklists",
    "metrics",
    "notifications",
]

MIDDLEWARE = [
    "launchboard.requestid.request_id_middleware",
    "launchboard.middleware.SecurityHeaders",
    "launchboard.errors.ApiErrors",
    "checklists.core.tokens.TokensInUrls",
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "axes.middleware.AxesMiddleware",
]

AUTHENTICATION_BACKENDS = [
    "axes.backends.AxesStandaloneBackend",  # counts failures; refuses while locked out
    "django.contrib.auth.backends.ModelBackend",
]
# Login throttling (django-axes): 5 failures in 15 minutes lock that username from that address,
# and password spraying from one address locks the address.
AXES_FAILURE_LIMIT = env_int("LAUNCHBOARD_LOGIN_FAILURE_LIMIT", 5, minimum=1)
AXES_COOLOFF_TIME = 0.25  # hours
AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"], "ip_address"]
AXES_RESET_ON_SUCCESS = True
AXES_ENABLE_ACCESS_FAILURE_LOG = True
AXES_VERBOSE = False

ROOT_URLCONF = "launchboard.urls"
ASGI_APPLICATION = "launchboard.asgi.application"
WSGI_APPLICATION = "launchboard.wsgi.application"

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

DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {
        "NAME": "django.contrib.auth.password_validation.MinimumLengthValidator",
        "OPTIONS": {"min_length": 12},
    },
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]

LANGUAGE_CODE = "en-us"
TIME_ZONE = env_str("TIME_ZONE") or "UTC"
USE_I18N = False
USE_TZ = True

STATIC_URL = "/static/"
STATIC_ROOT = BASE_DIR / "staticfiles"
STATIC_ROOT.mkdir(exist_ok=True)  # whitenoise warns on a missing root; collectstatic fills it
STATICFILES_DIRS = [BASE_DIR / "static"]
STATICFILES_FINDERS = [
    "django.contrib.staticfiles.finders.FileSystemFinder",
    "django.contrib.staticfiles.finders.AppDirectoriesFinder",
    "launchboard.staticfiles.PlotlyFinder",
]
# Serve from the finders too, so `make run` needs no collectstatic; production images collect.
WHITENOISE_USE_FINDERS = True
WHITENOISE_AUTOREFRESH = DEBUG

# --- serving: how many requests Django works on at once (launchboard/admission.py) ------------
# Each request in Django may hold a database connection: together with the thread of the live
# pages and the readers' hub (checklists/realtime/hub.py) they never ask for more than the pool
# holds, so the pool is never what fails.
_spare = DATABASE_POOL_MAX - 2 if DATABASE_POOL_MAX else 6
UPLOAD_SLOTS = env_int("LAUNCHBOARD_UPLOAD_CONCURRENCY", 1 if _spare <= 3 else 2, minimum=1)
WEB_SLOTS = env_int("LAUNCHBOARD_WEB_CONCURRENCY", max(1, _spare - UPLOAD_SLOTS), minimum=1)
if DATABASE_POOL_MAX and WEB_SLOTS + UPLOAD_SLOTS + 2 > DATABASE_POOL_MAX:
    raise ImproperlyConfigured(
        f"LAUNCHBOARD_WEB_CONCURRENCY ({WEB_SLOTS}) + LAUNCHBOARD_UPLOAD_CONCURRENCY "
        f"({UPLOAD_SLOTS}) + 2 is more than DATABASE_POOL_MAX ({DATABASE_POOL_MAX}): requests "
        "would wait for connections the pool does not have. Raise DATABASE_POOL_MAX."
    )
WEB_QUEUE = env_int("LAUNCHBOARD_WEB_QUEUE", 1000, minimum=0)
WEB_QUEUE_SECONDS = env_int("LAUNCHBOARD_WEB_QUEUE_SECONDS", 10, minimum=1)

# --- real time ---------------------------------------------------------------------------------
REDIS_MAX_CONNECTIONS = env_int("LAUNCHBOARD_REDIS_MAX_CONNECTIONS", 2000, minimum=10)
if REDIS_URL:
    CHANNEL_LAYERS = {
        "default": {
            "BACKEND": "channels_redis.core.RedisChannelLayer",
            "CONFIG": {
                # redis-py 8 caps a pool at 100 connections and raises beyond; a daphne
                # process with hundreds of pages needs more (performance.md §2b).
                # redis-py 8 also times reads out after 5 s, the very time channels_redis
                # blocks in BZPOPMIN: a quiet channel would raise and drop its pages.
                "hosts": [
                    {
                        "address": REDIS_URL,
                        "max_connections": REDIS_MAX_CONNECTIONS,
                        "socket_timeout": 30,
                    }
                ],
                "capacity": 500,
                "expiry": 30,
            },
        }
    }
else:
    CHANNEL_LAYERS = {"default": {"BACKEND": "channels.layers.InMemoryChannelLayer"}}

# Rendered live sections, shared by every process that serves or changes a launch.
if REDIS_URL:
    CACHES = {
        "default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"},
        "sections": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": REDIS_URL,
            # Short: a hung Redis costs a user's request at most a second per look (T3).
            "OPTIONS": {"socket_timeout": 1, "socket_connect_timeout": 1},
        },
    }
else:
    CACHES = {
        "default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"},
        "sections": {
            "BACKEND": "django.core.cache.backends.filebased.FileBasedCache",
            "LOCATION": str(DATA_DIR / "cache"),
        },
    }

# --- Celery ------------------------------------------------------------------------------------
CELERY_BROKER_URL = REDIS_URL or "memory://"
CELERY_TASK_IGNORE_RESULT = True
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_TASK_TIME_LIMIT = 30 * 60
CELERY_TASK_SOFT_TIME_LIMIT = 28 * 60
CELERY_BROKER_TRANSPORT_OPTIONS = {"visibility_timeout": 2 * 60 * 60, "socket_timeout": 5}
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
CELERY_WORKER_CANCEL_LONG_RUNNING_TASKS_ON_CONNECTION_LOSS = True
CELERY_TIMEZONE = "UTC"
CELERY_BEAT_SCHEDULER = "django_celery_beat.schedulers:DatabaseScheduler"
CELERY_TASK_ALWAYS_EAGER = env_bool("CELERY_TASK_ALWAYS_EAGER", default=False)
READINESS_SWEEP_SECONDS = env_int("LAUNCHBOARD_SWEEP_SECONDS", 15, minimum=1)
# An uploaded run whose worker died (or whose queue was lost: an embedded server restarted)
# is queued again once its heartbeat is this old.
RUN_STALL_SECONDS = env_int("LAUNCHBOARD_RUN_STALL_SECONDS", 120, minimum=1)
CELERY_BEAT_SCHEDULE = {
    "sweep-readiness": {
        "task": "checklists.tasks.sweep_readiness",
        "schedule": float(READINESS_SWEEP_SECONDS),
    },
    "requeue-stalled-runs": {
        "task": "metrics.tasks.requeue_stalled_runs",
        "schedule": float(READINESS_SWEEP_SECONDS),
    },
    "heartbeat": {"task": "launchboard.tasks.heartbeat", "schedule": 15.0},  # GET /readyz
}

# Notifications (notifications/, docs/notifications.md): changes within this many seconds go out
# as one message; a failing state is repeated every LAUNCHBOARD_NOTIFY_REMIND_MINUTES (0: never);
# webhooks to private or loopback addresses are refused unless allowed (default: outside
# production, so `make run` and the tests can post to 127.0.0.1).
NOTIFY_COALESCE_SECONDS = env_int("LAUNCHBOARD_NOTIFY_COALESCE_SECONDS", 5, minimum=0)
NOTIFY_REMIND_MINUTES = env_int("LAUNCHBOARD_NOTIFY_REMIND_MINUTES", 30, minimum=0)
NOTIFY_ALLOW_PRIVATE_TARGETS = env_bool("LAUNCHBOARD_NOTIFY_ALLOW_PRIVATE", default=not PRODUCTION)
NOTIFY_TIMEOUT_SECONDS = 5
CELERY_BEAT_SCHEDULE["notifications-sweep"] = {
    "task": "notifications.tasks.sweep",
    "schedule": 10.0,  # flushes a coalesced change whose countdown task was lost; reminders
}

# --- Launchboard -------------------------------------------------------------------------------
UPLOAD_DIR = DATA_DIR / "uploads"
UPLOAD_MAX_BYTES = env_int("LAUNCHBOARD_UPLOAD_MAX_BYTES", 1024**3, minimum=1024)
TOKEN_UPLOADS_PER_MINUTE = env_int("LAUNCHBOARD_TOKEN_UPLOADS_PER_MINUTE", 30, minimum=1)
# Any request body but a result upload (sign-in, forms, JSON): refused past this at the ASGI edge.
FORM_MAX_BYTES = env_int("LAUNCHBOARD_FORM_MAX_BYTES", 256 * 1024, minimum=16 * 1024)
USER_UPLOADS_PER_MINUTE = env_int("LAUNCHBOARD_USER_UPLOADS_PER_MINUTE", 10, minimum=1)
TOKEN_UPLOAD_BYTES_PER_DAY = env_int(
    "LAUNCHBOARD_TOKEN_UPLOAD_BYTES_PER_DAY", 50 * 1024**3, minimum=1024
)
DEMO_PLAN = BASE_DIR / "checklists" / "plans" / "whatsapp-saas.yaml"
# `make run` replays the seed's launch day on an empty database (launchboard/demo/); this
# stretches its k6 runs (1: about 12 minutes, the endurance test needing 10 of them).
DEMO_SCALE = float(env_str("LAUNCHBOARD_DEMO_SCALE", "1") or 1)
FILE_UPLOAD_MAX_MEMORY_SIZE = 1024 * 1024

LOGIN_URL = "/accounts/login/"
LOGIN_REDIRECT_URL = "/"
LOGOUT_REDIRECT_URL = "/"  # unless the sign-out form says which page to go back to
PASSWORD_RESET_TIMEOUT = env_int("LAUNCHBOARD_INVITE_DAYS", 3, minimum=1) * 24 * 60 * 60
# Where people reach this server: the links the CLI prints (invitations) start with it.
PUBLIC_URL = env_str(
    "LAUNCHBOARD_PUBLIC_URL", f"http://127.0.0.1:{env_str('PORT', '8000')}"
).rstrip("/")

# --- email: invitations are sent when a host is set, else their link is shown once -------------
EMAIL_HOST = env_str("LAUNCHBOARD_EMAIL_HOST")
EMAIL_PORT = env_int("LAUNCHBOARD_EMAIL_PORT", 587, minimum=1)
EMAIL_HOST_USER = env_str("LAUNCHBOARD_EMAIL_USER")
EMAIL_HOST_PASSWORD = env_str("LAUNCHBOARD_EMAIL_PASSWORD")
EMAIL_USE_TLS = env_bool("LAUNCHBOARD_EMAIL_TLS", default=EMAIL_PORT == 587)
EMAIL_TIMEOUT = 10
DEFAULT_FROM_EMAIL = env_str("LAUNCHBOARD_EMAIL_FROM", "launchboard@localhost")
EMAIL_CONFIGURED = bool(EMAIL_HOST)
SESSION_COOKIE_AGE = 12 * 60 * 60  # signers re-authenticate at least twice a day
X_FRAME_OPTIONS = "DENY"
CSRF_FAILURE_VIEW = "launchboard.errors.csrf_failure"  # JSON under /api/

# --- HTTPS (behind a TLS-terminating proxy or not) ----------------------------------------------
HTTPS = env_bool("LAUNCHBOARD_HTTPS", default=False)
if HTTPS:
    SECURE_SSL_REDIRECT = env_bool("LAUNCHBOARD_SSL_REDIRECT", default=True)
    SECURE_HSTS_SECONDS = 31536000
    SECURE_HSTS_INCLUDE_SUBDOMAINS = True
    SECURE_HSTS_PRELOAD = True
    SESSION_COOKIE_SECURE = CSRF_COOKIE_SECURE = True
    SESSION_COOKIE_NAME, CSRF_COOKIE_NAME = "__Host-sessionid", "__Host-csrftoken"
if env_bool("LAUNCHBOARD_TRUST_PROXY", default=False):
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")

LOG_LEVEL = env_str("LOG_LEVEL") or "INFO"
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "filters": {
        "request": {"()": "launchboard.requestid.RequestContextFilter"},
        "redact": {"()": "launchboard.redact.RedactSecrets"},  # tokens and share secrets
        "forbidden": {"()": "launchboard.errors.OneLineForbidden"},
    },
    "formatters": {
        "plain": {
            "()": "launchboard.requestid.UTCFormatter",
            "format": "%(asctime)s %(levelname)s %(name)s "
            "[req %(request_id)s user %(user_id)s] %(message)s",
        }
    },
    "handlers": {
        "console": {
            "class": "logging.StreamHandler",
            "formatter": "plain",
            "filters": ["request", "redact", "forbidden"],
        }
    },
    "root": {"handlers": ["console"], "level": LOG_LEVEL},
    "loggers": {
        "daphne": {"level": "WARNING"},
        "celery": {"level": "WARNING"},
        "axes": {"level": "WARNING"},
        # the report's PDF and charts: their progress is not news
        "weasyprint": {"level": "WARNING"},
        "fontTools": {"level": "WARNING"},
        "choreographer": {"level": "WARNING"},
        "kaleido": {"level": "WARNING"},
        "logistro": {"level": "WARNING"},
        # who signed in, what was refused, who signed off: never passwords or tokens
        "launchboard.security": {"level": "INFO"},
    },
}
