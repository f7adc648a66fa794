"""T4 Platform settings: one module, driven by environment variables.

Without any configuration the service runs on the embedded default (SQLite under ``var/``,
an in-process cache, Celery tasks executed eagerly). Production points ``DATABASE_URL`` at
PostgreSQL and ``REDIS_URL`` (or ``T4_RATE_REDIS``) at Redis. See README.md.
"""

from __future__ import annotations

import os
from decimal import Decimal
from pathlib import Path

import dj_database_url

BASE_DIR = Path(__file__).resolve().parent.parent
VAR_DIR = Path(os.environ.get("T4_VAR_DIR", BASE_DIR / "var"))
VAR_DIR.mkdir(parents=True, exist_ok=True)


def env_bool(name: str, default: bool = False) -> bool:
    value = os.environ.get(name)
    if value is None or value.strip() == "":
        return default
    return value.strip().lower() in {"1", "true", "yes", "on"}


def env_int(name: str, default: int) -> int:
    value = os.environ.get(name, "").strip()
    return int(value) if value else default


def env_list(name: str, default: str = "") -> list[str]:
    return [item.strip() for item in os.environ.get(name, default).split(",") if item.strip()]


DEBUG = env_bool("DEBUG", False)
# A development-only fallback; the ``t4site.E001`` system check refuses it outside DEBUG.
SECRET_KEY = os.environ.get("SECRET_KEY", "") or "insecure-development-key-change-me"
ALLOWED_HOSTS = env_list("ALLOWED_HOSTS", "127.0.0.1,localhost,testserver")
CSRF_TRUSTED_ORIGINS = env_list("CSRF_TRUSTED_ORIGINS")

# --- T4 ---------------------------------------------------------------------------------
T4_VERSION = "2.1.0"
T4_ADMIN_TOKEN = os.environ.get("T4_ADMIN_TOKEN", "")
# Keyed hash for API keys. Defaults to SECRET_KEY; set it explicitly so that rotating
# SECRET_KEY does not invalidate every agent's key.
T4_API_KEY_HMAC_SECRET = os.environ.get("T4_API_KEY_HMAC_SECRET", "") or SECRET_KEY
T4_DEFAULT_RATE_PER_MINUTE = env_int("T4_DEFAULT_RATE_PER_MINUTE", 120)
T4_DEFAULT_DAILY_LIMIT = Decimal(os.environ.get("T4_DEFAULT_DAILY_LIMIT", "100.00"))
# Client addresses are taken from X-Forwarded-For only when the direct peer is one of these.
T4_TRUSTED_PROXIES = env_list("T4_TRUSTED_PROXIES")
T4_AUDIT_BODY_MAX_BYTES = env_int("T4_AUDIT_BODY_MAX_BYTES", 8 * 1024)
T4_AUDIT_RETENTION_DAYS = env_int("T4_AUDIT_RETENTION_DAYS", 90)
T4_STALE_DAYS = env_int("T4_STALE_DAYS", 30)
T4_METRICS_TOKEN = os.environ.get("T4_METRICS_TOKEN", "")
# Largest request body the API accepts (validator reports can be large).
T4_MAX_BODY_BYTES = env_int("T4_MAX_BODY_BYTES", 2 * 1024 * 1024)

# --- OpenAI (the LLM gate) ----------------------------------------------------------------
OPENAI_API_KEY = os.environ.get("OPENAI_API_KEY", "")
OPENAI_BASE_URL = os.environ.get("OPENAI_BASE_URL", "")
OPENAI_TIMEOUT_SECONDS = float(os.environ.get("OPENAI_TIMEOUT_SECONDS", "60"))
OPENAI_MAX_RETRIES = env_int("OPENAI_MAX_RETRIES", 2)

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "rest_framework",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "auditlog",
    "django_celery_beat",
    "t4site",
    "apikeys",
    "audit",
    "intents",
    "llmgate",
    "dashboard",
]

MIDDLEWARE = [
    # Outermost, so every response — including 404/429/500 — is logged with its duration.
    "audit.middleware.RequestLogMiddleware",
    # Prometheus request counters and latency histograms (GET /metrics).
    "dashboard.metrics.PrometheusMetricsMiddleware",
    "apikeys.middleware.RateLimitHeadersMiddleware",
    "django.middleware.security.SecurityMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "audit.middleware.AuditlogMiddleware",
]

ROOT_URLCONF = "t4site.urls"
WSGI_APPLICATION = "t4site.wsgi.application"
ASGI_APPLICATION = "t4site.asgi.application"

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
            ]
        },
    }
]

# --- Database ---------------------------------------------------------------------------
SQLITE_PATH = Path(os.environ.get("T4_SQLITE_PATH", VAR_DIR / "t4.sqlite3"))
DATABASE_URL = os.environ.get("DATABASE_URL", "")
if DATABASE_URL:
    DATABASES = {
        "default": dj_database_url.parse(
            DATABASE_URL, conn_max_age=env_int("CONN_MAX_AGE", 60), conn_health_checks=True
        )
    }
else:
    DATABASES = {
        "default": {
            "ENGINE": "django.db.backends.sqlite3",
            "NAME": SQLITE_PATH,
            # WAL + a busy timeout let several local processes share the file.
            # Reusing the connection saves opening the file on every request.
            "CONN_MAX_AGE": env_int("CONN_MAX_AGE", 60),
            "CONN_HEALTH_CHECKS": True,
            "OPTIONS": {
                "timeout": 20,
                "transaction_mode": "IMMEDIATE",
                "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
            },
        }
    }
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# --- Cache (rate-limit counters) -------------------------------------------------------
REDIS_URL = os.environ.get("T4_RATE_REDIS", "") or os.environ.get("REDIS_URL", "")
CACHE_KEY_PREFIX = os.environ.get("T4_CACHE_PREFIX", "t4")
if REDIS_URL:
    CACHES = {
        "default": {
            "BACKEND": "django_redis.cache.RedisCache",
            "LOCATION": REDIS_URL,
            "KEY_PREFIX": CACHE_KEY_PREFIX,
            "OPTIONS": {"SOCKET_CONNECT_TIMEOUT": 2, "SOCKET_TIMEOUT": 2},
        }
    }
else:
    CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.locmem.LocMemCache",
            "LOCATION": "t4-default",
            "KEY_PREFIX": CACHE_KEY_PREFIX,
        }
    }

RATELIMIT_USE_CACHE = "default"
RATELIMIT_CACHE_PREFIX = "rl:"
# The embedded default deliberately uses a per-process cache (documented in README).
SILENCED_SYSTEM_CHECKS = [] if REDIS_URL else ["django_ratelimit.E003", "django_ratelimit.W001"]

# --- Celery -----------------------------------------------------------------------------
CELERY_BROKER_URL = os.environ.get("CELERY_BROKER_URL", "") or REDIS_URL
CELERY_RESULT_BACKEND = os.environ.get("CELERY_RESULT_BACKEND", "") or CELERY_BROKER_URL or None
# No broker: run tasks in-process so the embedded default needs nothing else.
CELERY_TASK_ALWAYS_EAGER = env_bool("CELERY_TASK_ALWAYS_EAGER", not CELERY_BROKER_URL)
CELERY_TASK_EAGER_PROPAGATES = True
CELERY_TASK_SERIALIZER = "json"
CELERY_RESULT_SERIALIZER = "json"
CELERY_ACCEPT_CONTENT = ["json"]
CELERY_TIMEZONE = "UTC"
CELERY_ENABLE_UTC = True
CELERY_TASK_TIME_LIMIT = env_int("CELERY_TASK_TIME_LIMIT", 30 * 60)
CELERY_TASK_SOFT_TIME_LIMIT = env_int("CELERY_TASK_SOFT_TIME_LIMIT", 25 * 60)
CELERY_BEAT_SCHEDULER = "django_celery_beat.schedulers:DatabaseScheduler"
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True

# --- Auth, i18n, static -----------------------------------------------------------------
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
]
# Team leads need not be staff: they sign in on the plain login page, not the admin's.
LOGIN_URL = "/accounts/login/"
LOGIN_REDIRECT_URL = "/dashboard/"
LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True
STATIC_URL = "static/"
STATIC_ROOT = VAR_DIR / "static"
# Messages never go to the session table: a one-time secret must not land in the database.
MESSAGE_STORAGE = "django.contrib.messages.storage.cookie.CookieStorage"
DATA_UPLOAD_MAX_MEMORY_SIZE = T4_MAX_BODY_BYTES
DEFAULT_EXCEPTION_REPORTER_FILTER = "t4site.redaction.SecretSafeExceptionReporterFilter"

if not DEBUG:
    SESSION_COOKIE_SECURE = env_bool("SESSION_COOKIE_SECURE", True)
    CSRF_COOKIE_SECURE = env_bool("CSRF_COOKIE_SECURE", True)
SECURE_CONTENT_TYPE_NOSNIFF = True

# --- DRF / OpenAPI ----------------------------------------------------------------------
REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": ["apikeys.authentication.APIKeyAuthentication"],
    "DEFAULT_PERMISSION_CLASSES": ["apikeys.permissions.HasRequiredScope"],
    "DEFAULT_RENDERER_CLASSES": ["rest_framework.renderers.JSONRenderer"],
    "DEFAULT_PARSER_CLASSES": ["t4site.parsers.BoundedJSONParser"],
    "EXCEPTION_HANDLER": "t4site.errors.exception_handler",
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "UNAUTHENTICATED_USER": None,
    "COERCE_DECIMAL_TO_STRING": True,
    "DEFAULT_THROTTLE_CLASSES": [],
}
SPECTACULAR_SETTINGS = {
    "TITLE": "T4 Platform API",
    "DESCRIPTION": "Intents, API keys and the LLM gate. Authenticate with X-T4-API-KEY.",
    "VERSION": T4_VERSION,
    "SERVE_INCLUDE_SCHEMA": False,
    "APPEND_COMPONENTS": {
        "securitySchemes": {
            "T4ApiKey": {"type": "apiKey", "in": "header", "name": "X-T4-API-KEY"},
            "T4AdminToken": {"type": "apiKey", "in": "header", "name": "X-T4-ADMIN-TOKEN"},
        }
    },
    "SECURITY": [{"T4ApiKey": []}],
    # Served from the sidecar package: the docs page makes no request to a CDN.
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
}

# --- Logging: every handler redacts API keys and the admin token ------------------------
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "filters": {"redact_secrets": {"()": "t4site.redaction.RedactSecretsFilter"}},
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s %(message)s"}},
    "handlers": {
        "console": {
            "class": "logging.StreamHandler",
            "formatter": "plain",
            "filters": ["redact_secrets"],
        }
    },
    "root": {"handlers": ["console"], "level": os.environ.get("LOG_LEVEL", "INFO")},
    "loggers": {
        "django.server": {"handlers": ["console"], "level": "INFO", "propagate": False},
        # The OpenAI SDK's HTTP client logs every upstream call at INFO.
        "httpx": {"level": "WARNING"},
        "httpx2": {"level": "WARNING"},
    },
}
