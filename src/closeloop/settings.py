"""Closeloop settings: everything that differs between machines comes from the environment."""

import os
from datetime import timedelta
from pathlib import Path

import dj_database_url
from django.utils.csp import CSP
from django.utils.translation import gettext_lazy as _

BASE_DIR = Path(__file__).resolve().parent
PROJECT_DIR = BASE_DIR.parent.parent


def env_bool(name: str, default: bool) -> bool:
    value = os.environ.get(name)
    if value is None:
        return default
    return value.strip().lower() in {"1", "true", "yes", "on"}


def env_list(name: str, default: str) -> list[str]:
    return [item.strip() for item in os.environ.get(name, default).split(",") if item.strip()]


DATA_DIR = Path(os.environ.get("CLOSELOOP_DATA_DIR", PROJECT_DIR / "var")).resolve()

DEBUG = env_bool("DEBUG", False)
# DEV is the local quick start (`make run`, tests): plain HTTP on localhost. Production leaves it off,
# must set SECRET_KEY, and gets HTTPS-only cookies and HSTS.
DEV = DEBUG or env_bool("CLOSELOOP_DEV", False)


def local_secret_key(path: Path, *, create: bool) -> str:
    """The key a local install keeps in its data directory: made on its first start (`make run`), then
    read by every `closeloop` command run against that directory, so they work without any flag."""
    if not path.is_file() and create:
        import secrets

        path.parent.mkdir(parents=True, exist_ok=True)
        try:
            # O_EXCL: of several processes starting at once, one writes the key and the others read it.
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        except FileExistsError:
            pass
        else:
            with os.fdopen(fd, "w") as handle:
                handle.write(secrets.token_urlsafe(64) + "\n")
    try:
        return path.read_text().strip()
    except FileNotFoundError:
        return ""


SECRET_KEY_FILE = DATA_DIR / "secret_key"
SECRET_KEY = os.environ.get("SECRET_KEY") or local_secret_key(SECRET_KEY_FILE, create=DEV)
if not SECRET_KEY:
    from django.core.exceptions import ImproperlyConfigured

    raise ImproperlyConfigured(
        f"Set SECRET_KEY in the environment (or run `make run` once, which keeps a key in {SECRET_KEY_FILE})."
    )

ALLOWED_HOSTS = env_list("ALLOWED_HOSTS", "localhost,127.0.0.1,[::1]")
CSRF_TRUSTED_ORIGINS = env_list("CSRF_TRUSTED_ORIGINS", "")

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "django.contrib.humanize",
    "django_htmx",
    "django_tasks_db",
    "axes",
    # The API's docs page (/api/docs) from ninja's own static files: the CDN copy breaks the policy.
    "ninja",
    "closeloop.core",
    "closeloop.followup",
    "closeloop.leads",
    "closeloop.deals",
    "closeloop.quotes",
    "closeloop.contracts",
    "closeloop.service",
    "closeloop.insights",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "django.middleware.csp.ContentSecurityPolicyMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.locale.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "django_htmx.middleware.HtmxMiddleware",
    # Last, as django-axes asks: it turns a login its backend refused into the lockout page.
    "axes.middleware.AxesMiddleware",
]

ROOT_URLCONF = "closeloop.urls"
WSGI_APPLICATION = "closeloop.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.template.context_processors.i18n",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "closeloop.core.context_processors.navigation",
            ],
        },
    },
]

# Embedded SQLite in WAL mode by default; PostgreSQL through DATABASE_URL.
_sqlite_path = DATA_DIR / "closeloop.sqlite3"
DATABASES = {
    "default": dj_database_url.parse(
        os.environ.get("DATABASE_URL", f"sqlite:///{_sqlite_path}"), conn_max_age=60, conn_health_checks=True
    )
}
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    Path(DATABASES["default"]["NAME"]).parent.mkdir(parents=True, exist_ok=True)
    # Django's SQLite backend, with writers queued on a file lock (see core/sqlite/base.py);
    # CLOSELOOP_SQLITE_WRITER_QUEUE=0 leaves Django's own backend (the bench compares the two).
    if env_bool("CLOSELOOP_SQLITE_WRITER_QUEUE", True):
        DATABASES["default"]["ENGINE"] = "closeloop.core.sqlite"
    DATABASES["default"]["OPTIONS"] = {
        # IMMEDIATE takes the write lock when a transaction starts, so two writers queue instead of
        # one failing with "database is locked" when it upgrades its lock.
        "transaction_mode": "IMMEDIATE",
        "timeout": 30,
        "init_command": (
            "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL; PRAGMA busy_timeout=30000; "
            "PRAGMA foreign_keys=ON; PRAGMA cache_size=-64000; PRAGMA temp_store=MEMORY;"
        ),
    }

AUTH_USER_MODEL = "core.User"
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
# django-axes' backend first: it refuses a locked-out login before any password is checked.
AUTHENTICATION_BACKENDS = ["axes.backends.AxesStandaloneBackend", "django.contrib.auth.backends.ModelBackend"]
LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "home"
LOGOUT_REDIRECT_URL = "login"

LANGUAGE_CODE = "zh-hans"
LANGUAGES = [("zh-hans", _("Simplified Chinese")), ("en", _("English"))]
LOCALE_PATHS = [BASE_DIR / "locale"]
TIME_ZONE = os.environ.get("TIME_ZONE", "Asia/Shanghai")
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATIC_ROOT = DATA_DIR / "static"
# `closeloop serve` writes its job worker's per-task log here (`closeloop worker` alone logs to the terminal).
LOG_DIR = DATA_DIR / "logs"
STATICFILES_DIRS = [BASE_DIR / "static"]
STATICFILES_FINDERS = [
    "django.contrib.staticfiles.finders.FileSystemFinder",
    "django.contrib.staticfiles.finders.AppDirectoriesFinder",
    "closeloop.core.staticfinders.NodeModulesFinder",
]
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": "whitenoise.storage.CompressedManifestStaticFilesStorage"
        if not DEV
        else "django.contrib.staticfiles.storage.StaticFilesStorage"
    },
}
# In development the files are served straight from the finders, so no collectstatic is needed;
# the empty STATIC_ROOT only stops WhiteNoise warning "No directory at" on every start.
WHITENOISE_USE_FINDERS = DEV
# ...and looked up at each request: indexed once at start-up, a file edited while `make run` serves was sent
# with its old length, cut short (a broken app.js on every page).
WHITENOISE_AUTOREFRESH = DEV
if DEV:
    STATIC_ROOT.mkdir(parents=True, exist_ok=True)
MEDIA_ROOT = DATA_DIR / "media"
MEDIA_URL = "media/"

DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

TASKS = {"default": {"BACKEND": os.environ.get("CLOSELOOP_TASKS_BACKEND", "django_tasks_db.DatabaseBackend")}}

# Email goes through Django's MAILERS (the EMAIL_* settings are deprecated since Django 6.1); the
# environment keeps the familiar EMAIL_* names. Development without EMAIL_HOST writes each mail to a
# file under the data directory (the terminal stays readable; `closeloop serve` says where);
# production always uses SMTP (a local MTA on localhost:25 unless EMAIL_HOST says otherwise).
DEV_MAIL_DIR = DATA_DIR / "mail" if DEV and not os.environ.get("EMAIL_HOST") else None
if DEV_MAIL_DIR:
    _mailer = {"BACKEND": "django.core.mail.backends.filebased.EmailBackend", "OPTIONS": {"file_path": str(DEV_MAIL_DIR)}}
else:
    _email_port = os.environ.get("EMAIL_PORT")
    _mailer = {
        "BACKEND": "django.core.mail.backends.smtp.EmailBackend",
        "OPTIONS": {
            "host": os.environ.get("EMAIL_HOST", "localhost"),
            # None lets the backend pick 25, 465 (SSL) or 587 (STARTTLS).
            "port": int(_email_port) if _email_port else None,
            "username": os.environ.get("EMAIL_HOST_USER", ""),
            "password": os.environ.get("EMAIL_HOST_PASSWORD", ""),
            "use_tls": env_bool("EMAIL_USE_TLS", False),
            "use_ssl": env_bool("EMAIL_USE_SSL", False),
            # A dead mail server must not hold a job worker for minutes.
            "timeout": int(os.environ.get("EMAIL_TIMEOUT", "10")),
        },
    }
MAILERS = {"default": _mailer}
# Links in emails and robot messages point here (the address people open Closeloop at).
# Local runs (`make run PORT=8765`) link to the port they serve on.
CLOSELOOP_BASE_URL = os.environ.get("CLOSELOOP_BASE_URL", f"http://localhost:{os.environ.get('PORT', '8000')}")
DEFAULT_FROM_EMAIL = os.environ.get("DEFAULT_FROM_EMAIL", "closeloop@localhost")

# Uploads: imports are streamed to disk, never held whole in memory.
FILE_UPLOAD_MAX_MEMORY_SIZE = 2 * 1024 * 1024
# The largest request body (files aside) any page or API route reads: more is a 400 before it is parsed.
DATA_UPLOAD_MAX_MEMORY_SIZE = int(os.environ.get("CLOSELOOP_MAX_BODY_BYTES", str(5 * 1024 * 1024)))
CLOSELOOP_IMPORT_MAX_BYTES = int(os.environ.get("CLOSELOOP_IMPORT_MAX_BYTES", str(100 * 1024 * 1024)))
CLOSELOOP_IMPORT_MAX_ROWS = int(os.environ.get("CLOSELOOP_IMPORT_MAX_ROWS", "1000000"))
# A list export of more rows than this is written by the job worker (a web worker would spend a minute of CPU on
# 200k rows); the requester follows it on a page and is told when the file is ready. Kept that many days.
CLOSELOOP_EXPORT_BACKGROUND_ROWS = int(os.environ.get("CLOSELOOP_EXPORT_BACKGROUND_ROWS", "20000"))
CLOSELOOP_EXPORT_KEEP_DAYS = int(os.environ.get("CLOSELOOP_EXPORT_KEEP_DAYS", "7"))
CLOSELOOP_PUBLIC_FORM_RATE = os.environ.get("CLOSELOOP_PUBLIC_FORM_RATE", "20/h")
# The public form's largest body: every field is bounded (the need, the longest, is 5,000 characters, at most
# ~45 KB percent-encoded), so anything bigger is refused before it is read.
CLOSELOOP_PUBLIC_FORM_MAX_BYTES = int(os.environ.get("CLOSELOOP_PUBLIC_FORM_MAX_BYTES", str(128 * 1024)))
# Requests per visitor IP to customers' quote links (/q/<key>/): reading, the PDF, accepting or declining.
CLOSELOOP_PUBLIC_QUOTE_RATE = os.environ.get("CLOSELOOP_PUBLIC_QUOTE_RATE", "60/h")
# Hours an approver has to decide a step before the reminder sweep reminds them (and, after the escalation
# grace period, their manager); the Today page marks the step overdue from then.
CLOSELOOP_APPROVAL_DUE_HOURS = int(os.environ.get("CLOSELOOP_APPROVAL_DUE_HOURS", "24"))
# How many reverse proxies in front of the app append to X-Forwarded-For; 0 trusts only REMOTE_ADDR.
# The public form's per-IP rate limit needs this behind a proxy, or every visitor shares one address.
CLOSELOOP_TRUSTED_PROXIES = int(os.environ.get("CLOSELOOP_TRUSTED_PROXIES", "0"))

# Guessing brakes (core/throttle.py). Logins: an account is locked after N failures, an address after
# M (an office behind one NAT address shares it), for the lock-out period; each lockout is audited on
# the account. API tokens: unknown tokens are counted per address and per account (when the token's
# prefix is someone's); past the rate the address gets 429 until the period ends.
AXES_HANDLER = "closeloop.core.throttle.LoginThrottle"
AXES_FAILURE_LIMIT = int(os.environ.get("CLOSELOOP_LOGIN_FAILURES_PER_ACCOUNT", "10"))
CLOSELOOP_LOGIN_FAILURES_PER_ADDRESS = int(os.environ.get("CLOSELOOP_LOGIN_FAILURES_PER_ADDRESS", "50"))
AXES_COOLOFF_TIME = timedelta(minutes=int(os.environ.get("CLOSELOOP_LOGIN_LOCKOUT_MINUTES", "15")))
AXES_LOCKOUT_PARAMETERS = ["username", "ip_address"]
AXES_CLIENT_IP_CALLABLE = "closeloop.core.throttle.client_ip"
AXES_LOCKOUT_CALLABLE = "closeloop.core.throttle.login_locked_out"
AXES_HTTP_RESPONSE_CODE = 429
# Axes would otherwise log every successful login in a table of its own; the trail is ours.
AXES_DISABLE_ACCESS_LOG = True
AXES_VERBOSE = False
CLOSELOOP_API_TOKEN_FAILURE_RATE = os.environ.get("CLOSELOOP_API_TOKEN_FAILURE_RATE", "20/10m")

CACHES = {"default": {"BACKEND": "django.core.cache.backends.db.DatabaseCache", "LOCATION": "closeloop_cache"}}

# Content-Security-Policy (Django's own): scripts and styles only from our files, no inline code, no
# eval (Alpine's CSP build, htmx with allowEval off), nothing framing us. Behaviours are bound by data
# attributes in static/closeloop/app.js. The one inline <style> is the 500 page's (it must work with
# nothing else up), allowed by its hash; core/tests/test_csp.py keeps the hash true. The public web
# form overrides frame-ancestors: customers frame it on their own sites.
ERROR_PAGE_STYLE_HASH = "'sha256-fTp2HpxsnG656pFvXRmLoIvaqSiE5VNM3uMC7/8lWEs='"
SECURE_CSP = {
    "default-src": [CSP.SELF],
    "script-src": [CSP.SELF],
    "style-src": [CSP.SELF, ERROR_PAGE_STYLE_HASH],
    "img-src": [CSP.SELF, "data:"],
    "font-src": [CSP.SELF, "data:"],
    "connect-src": [CSP.SELF],
    "object-src": [CSP.NONE],
    "base-uri": [CSP.NONE],
    "form-action": [CSP.SELF],
    "frame-ancestors": [CSP.NONE],
}

SESSION_COOKIE_HTTPONLY = True
CSRF_COOKIE_HTTPONLY = False
X_FRAME_OPTIONS = "DENY"
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
if not DEV:
    SECURE_SSL_REDIRECT = env_bool("SECURE_SSL_REDIRECT", True)
    SESSION_COOKIE_SECURE = env_bool("SESSION_COOKIE_SECURE", True)
    CSRF_COOKIE_SECURE = env_bool("CSRF_COOKIE_SECURE", True)
    SECURE_HSTS_SECONDS = int(os.environ.get("SECURE_HSTS_SECONDS", "31536000"))
    SECURE_HSTS_INCLUDE_SUBDOMAINS = True
    # The preload directive only makes the site eligible for browsers' preload lists; nothing is
    # submitted unless the operator does so. SECURE_HSTS_PRELOAD=0 drops it.
    SECURE_HSTS_PRELOAD = env_bool("SECURE_HSTS_PRELOAD", True)
    SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "root": {"handlers": ["console"], "level": os.environ.get("LOG_LEVEL", "WARNING")},
    # django-axes warns on every failed login; lockouts are in the audit trail (core/throttle.py).
    "loggers": {"axes": {"level": "ERROR"}},
}
# How long another server process may go on using configuration (scoring and assignment rules,
# channel policies, sources, robots) after an admin changed it; the process that made the change
# sees it at once. See core/configcache.py.
CLOSELOOP_CONFIG_CACHE_SECONDS = float(os.environ.get("CLOSELOOP_CONFIG_CACHE_SECONDS", "5"))
# PostgreSQL: the hot paths' fixed statements (core.fastsql) prepared once per connection. Off behind a pooler
# that hands one session's statements to another (PgBouncer in transaction mode).
CLOSELOOP_PG_PREPARED_STATEMENTS = env_bool("CLOSELOOP_PG_PREPARED_STATEMENTS", True)
# API lists synced by `updated_since`/`cursor` hold back rows changed in the last this many seconds, so a change
# whose transaction commits late (or whose process's clock runs behind) is not passed by a client's cursor before it
# is visible. See core/pagination.py.
CLOSELOOP_API_SYNC_SETTLE_SECONDS = float(os.environ.get("CLOSELOOP_API_SYNC_SETTLE_SECONDS", "5"))
# The API's deletions (`GET /api/deleted/{kind}`) are kept this many days (0: for ever); a nightly sweep deletes older
# ones in batches, and a sync from before what is kept is answered 410 `sync_expired` (core/sync.py).
CLOSELOOP_API_DELETIONS_DAYS = int(os.environ.get("CLOSELOOP_API_DELETIONS_DAYS", "90"))
# The breakpoint radar keeps its weekly counts (the trend) this many weeks, the current one included (0: for ever;
# never fewer than the weeks the trend shows); the recount prunes older ones (insights/radar.py).
CLOSELOOP_RADAR_WEEKS_KEPT = int(os.environ.get("CLOSELOOP_RADAR_WEEKS_KEPT", "26"))
# Outbound webhooks: a subscription pauses after this many failed attempts in a row (and the admins are told).
CLOSELOOP_WEBHOOK_PAUSE_AFTER = int(os.environ.get("CLOSELOOP_WEBHOOK_PAUSE_AFTER", "10"))
# The webhook delivery log keeps delivered and given-up deliveries this many days (0: for ever); a nightly sweep
# deletes older ones in batches (core/webhooks/sending.deliveries_prune).
CLOSELOOP_WEBHOOK_LOG_DAYS = int(os.environ.get("CLOSELOOP_WEBHOOK_LOG_DAYS", "30"))
# Hosts besides the platforms' own (qyapi.weixin.qq.com, oapi.dingtalk.com, open.feishu.cn,
# open.larksuite.com) that group robots may post to, e.g. a company relay, and that webhooks may post
# to whatever their address (an intranet system; outside this list only https to public addresses,
# core/outbound.py); comma-separated.
CLOSELOOP_ROBOT_EXTRA_HOSTS = [h.strip() for h in os.environ.get("CLOSELOOP_ROBOT_EXTRA_HOSTS", "").split(",") if h.strip()]
