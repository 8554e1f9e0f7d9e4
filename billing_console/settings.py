"""Settings for the Billing Console, all read from the environment.

One module serves the demo (`make run`), the tests and production. What differs
between them is only the environment: see README.md for the variables.
"""

import os
from datetime import timedelta
from pathlib import Path

import dj_database_url
from csp.constants import NONE, SELF
from django.core.exceptions import ImproperlyConfigured

BASE_DIR = Path(__file__).resolve().parent.parent


def env(name, default=""):
    """The variable's value; unset and empty both mean the default."""
    return os.environ.get(name) or default


def env_bool(name, default=False):
    value = os.environ.get(name)
    if value is None or value == "":
        return default
    return value.strip().lower() in {"1", "true", "yes", "on"}


def env_int(name, default):
    value = os.environ.get(name)
    return int(value) if value else default


def env_list(name, default=""):
    return [item.strip() for item in env(name, default).split(",") if item.strip()]


DEBUG = env_bool("DEBUG")

SECRET_KEY = env("SECRET_KEY")
if not SECRET_KEY:
    if not DEBUG:
        raise ImproperlyConfigured("SECRET_KEY must be set when DEBUG is off.")
    # Only for a developer's own machine; production refuses to start without one.
    SECRET_KEY = "insecure-development-key-never-used-with-DEBUG-off"  # noqa: S105

ALLOWED_HOSTS = env_list("ALLOWED_HOSTS", "localhost,127.0.0.1,[::1]" if DEBUG else "")
CSRF_TRUSTED_ORIGINS = env_list("CSRF_TRUSTED_ORIGINS")

# Runtime files of the embedded default: SQLite, the filesystem broker, beat's schedule.
VAR_DIR = Path(env("VAR_DIR", str(BASE_DIR / "var")))
VAR_DIR.mkdir(parents=True, exist_ok=True)

INSTALLED_APPS = [
    "billing_console.apps.ConsoleAdminConfig",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "rest_framework",
    "rest_framework.authtoken",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "django_htmx",
    "axes",
    "django_otp",
    "django_otp.plugins.otp_totp",
    "django_otp.plugins.otp_static",
    "billing_console",
    "billing_console.integrations",
    "money_actions",
    "audit",
    "cases",
    "refunds",
    "credit_memos",
    "guidance",
    "finance",
    "handover",
    "administration",
    "oidc",
    "second_factor",
]

MIDDLEWARE = [
    # Outermost, so that its one line per request covers every answer (request_log.py).
    "billing_console.request_log.LogEachRequest",
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    # Inside CommonMiddleware, whose redirect to the address with a slash comes first.
    "billing_console.exceptions.ConsoleNotFound",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    # Marks the user verified when the session holds a second factor they gave
    # (`user.is_verified()`); the pages that need one are named in access.py.
    "django_otp.middleware.OTPMiddleware",
    # The identity provider vouches again for a single sign-on session every
    # OIDC_RENEW_ID_TOKEN_EXPIRY_SECONDS, with the person's groups as they are then.
    "oidc.middleware.RenewSingleSignOn",
    # Pushes an idle session's end back, writing it at most once a minute.
    "billing_console.sessions.RenewIdleSessions",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "csp.middleware.CSPMiddleware",
    "django_htmx.middleware.HtmxMiddleware",
    # Axes wants to be last, so that it sees the outcome of authentication.
    "axes.middleware.AxesMiddleware",
    # Right around the view, below Axes (which still sees the final outcome): a request
    # whose transaction lost a lock conflict runs again instead of answering 500.
    "billing_console.locks.RetryLockConflictsMiddleware",
    # A query or form value PostgreSQL would refuse (a NUL) is a 400 before the view runs.
    # It reads the form after the retry above has kept the body, as CSRF's check would.
    "billing_console.text.RefuseUnstorableInput",
]

ROOT_URLCONF = "billing_console.urls"
WSGI_APPLICATION = "billing_console.wsgi.application"

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
                "billing_console.context_processors.navigation",
                "audit.context_processors.chain_alert",
            ],
        },
    },
]

# --- Database -----------------------------------------------------------------------------

# How soon billing answers a Tier 2 question (the specialists' queue shows the target).
QUESTION_ANSWER_TARGET_MINUTES = int(env("QUESTION_ANSWER_TARGET_MINUTES", "120"))

# The role the console (web, worker, beat) connects as. In production on PostgreSQL, an
# application role that owns no table and may only read and append to the audit trail;
# MIGRATION_DATABASE_URL names the role that owns the tables, which `manage.py migrate`
# connects as before granting the application role its rights (billing_console/db/roles.py).
DATABASE_URL = env("DATABASE_URL", f"sqlite:///{VAR_DIR / 'billing_console.sqlite3'}")
MIGRATION_DATABASE_URL = env("MIGRATION_DATABASE_URL")
DATABASES = {"default": dj_database_url.parse(DATABASE_URL, conn_max_age=60)}
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # IMMEDIATE takes the write lock when a transaction starts, so the web process and
    # the worker queue up instead of failing with "database is locked" halfway through.
    DATABASES["default"]["OPTIONS"] = {
        "transaction_mode": "IMMEDIATE",
        "timeout": 20,
        "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;",
    }
    DATABASES["default"]["CONN_MAX_AGE"] = 0
# The same backends with a hook that runs just before COMMIT, where the audit trail joins
# its hash chain after all of a transaction's row locks (billing_console/db/hooks.py).
_CONSOLE_ENGINES = {
    "django.db.backends.postgresql": "billing_console.db.postgresql",
    "django.db.backends.sqlite3": "billing_console.db.sqlite3",
}
DATABASES["default"]["ENGINE"] = _CONSOLE_ENGINES.get(DATABASES["default"]["ENGINE"],
                                                      DATABASES["default"]["ENGINE"])
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# --- Authentication, sessions, login throttling ------------------------------------------

AUTHENTICATION_BACKENDS = [
    "axes.backends.AxesStandaloneBackend",
    # While single sign-on is on, a password sign-in by anyone but a break-glass admin
    # stops here, before a password is checked.
    "oidc.backends.PasswordOnlyForBreakGlass",
    # ModelBackend, its per-request load of the signed-in user in plain SQL.
    "billing_console.sessions.SessionUserBackend",
    # The same load for sessions signed in through the identity provider, which it marks.
    "oidc.backends.ProviderSessionBackend",
]
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "billing_console.passwords.MaximumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator",
     "OPTIONS": {"min_length": 12}},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]
LOGIN_URL = "login"
# Where a signed-in user goes to give the second factor a page needs (access.py says which).
SECOND_FACTOR_URL = "second_factor:verify"
# How authenticator apps name the console's entry.
OTP_TOTP_ISSUER = env("OTP_TOTP_ISSUER", "Billing Console")
LOGIN_REDIRECT_URL = "home"
LOGOUT_REDIRECT_URL = "login"

# Idle sessions end after one shift plus handover; every request pushes the end back
# (billing_console.sessions, which writes the session at most once a minute).
SESSION_ENGINE = "billing_console.sessions"  # Django's database sessions, read in plain SQL
SESSION_COOKIE_AGE = int(timedelta(hours=env_int("SESSION_IDLE_HOURS", 12)).total_seconds())
SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_SAMESITE = "Lax"

AXES_FAILURE_LIMIT = env_int("LOGIN_FAILURE_LIMIT", 5)
AXES_COOLOFF_TIME = timedelta(minutes=env_int("LOGIN_COOLOFF_MINUTES", 30))
# A username is locked at the address the wrong passwords came from (REMOTE_ADDR, as the
# audit trail records it): locking the username alone would let anyone lock a person out,
# the break-glass admin too; locking an address alone would lock out a whole support floor
# behind one NAT address.
AXES_LOCKOUT_PARAMETERS = [["username", "ip_address"]]
AXES_LOCKOUT_TEMPLATE = "registration/locked_out.html"
AXES_RESET_ON_SUCCESS = True
AXES_VERBOSE = False

# --- Single sign-on (OpenID Connect; oidc/, README "Single sign-on") -----------------------

# On when OIDC_ISSUER is set. Endpoints are discovered at
# {OIDC_ISSUER}/.well-known/openid-configuration unless all three are given.
OIDC_ISSUER = env("OIDC_ISSUER").rstrip("/")
OIDC_CLIENT_ID = env("OIDC_CLIENT_ID")
OIDC_CLIENT_SECRET = env("OIDC_CLIENT_SECRET")
OIDC_SCOPES = env("OIDC_SCOPES", "openid email profile")
OIDC_GROUPS_CLAIM = env("OIDC_GROUPS_CLAIM", "groups")
OIDC_USERNAME_CLAIM = env("OIDC_USERNAME_CLAIM", "preferred_username")
# "provider group=console role,…" (oidc/config.py).
OIDC_ROLE_GROUPS = env("OIDC_ROLE_GROUPS")
OIDC_AUTHORIZATION_ENDPOINT = env("OIDC_AUTHORIZATION_ENDPOINT")
OIDC_TOKEN_ENDPOINT = env("OIDC_TOKEN_ENDPOINT")
OIDC_JWKS_URI = env("OIDC_JWKS_URI")
# How often the provider vouches again for a signed-in person, with their groups as then.
OIDC_RENEW_ID_TOKEN_EXPIRY_SECONDS = env_int("OIDC_RENEW_ID_TOKEN_EXPIRY_SECONDS", 15 * 60)
OIDC_TIMEOUT_SECONDS = env_int("OIDC_TIMEOUT_SECONDS", 10)
# Admins who may still sign in with a password while single sign-on is on.
OIDC_BREAK_GLASS_ADMINS = env_list("OIDC_BREAK_GLASS_ADMINS")
# The sign-in button's words: "Sign in with …".
OIDC_PROVIDER_NAME = env("OIDC_PROVIDER_NAME", "your company account")

# --- Security headers ---------------------------------------------------------------------

HTTPS = not DEBUG
SECURE_SSL_REDIRECT = HTTPS
# Health checks come from inside the deployment (compose, the load balancer) over plain HTTP.
SECURE_REDIRECT_EXEMPT = [r"^healthz$", r"^readyz$"]
SESSION_COOKIE_SECURE = HTTPS
CSRF_COOKIE_SECURE = HTTPS
SECURE_HSTS_SECONDS = 31_536_000 if HTTPS else 0
SECURE_HSTS_INCLUDE_SUBDOMAINS = HTTPS
SECURE_HSTS_PRELOAD = HTTPS
# The app runs behind a TLS-terminating proxy, which tells it the original scheme.
SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
X_FRAME_OPTIONS = "DENY"
CSRF_FAILURE_VIEW = "billing_console.views.csrf_failure"
CONTENT_SECURITY_POLICY = {
    "DIRECTIVES": {
        "default-src": [SELF],
        "script-src": [SELF],
        "style-src": [SELF],
        "img-src": [SELF, "data:"],
        "font-src": [SELF],
        "connect-src": [SELF],
        "object-src": [NONE],
        "base-uri": [SELF],
        "form-action": [SELF],
        "frame-ancestors": [NONE],
    },
}

# --- Internationalisation and static files ------------------------------------------------

LANGUAGE_CODE = "en-us"
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

STATIC_URL = "static/"
STATICFILES_DIRS = [BASE_DIR / "static"]
STATIC_ROOT = VAR_DIR / "static"
STATIC_ROOT.mkdir(exist_ok=True)
WHITENOISE_USE_FINDERS = DEBUG

# --- API ----------------------------------------------------------------------------------

REST_FRAMEWORK = {
    # Token first: DRF answers an unauthenticated call with the first class's challenge,
    # so programs get 401 + WWW-Authenticate rather than a bare 403. DRF's tokens, but
    # while single sign-on is on only a local service user's (oidc/authentication.py).
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "oidc.authentication.TokenOfServiceUsers",
        "rest_framework.authentication.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["billing_console.access.CapabilityPermission"],
    "DEFAULT_SCHEMA_CLASS": "billing_console.api.ApiSchema",
    # Request bodies are JSON, typed as the schema says; a form cannot say 0 from "0".
    # DRF's parser, but a body nested past any sense is a 400, not a RecursionError.
    "DEFAULT_PARSER_CLASSES": ["billing_console.parsing.JsonParser"],
    "TEST_REQUEST_DEFAULT_FORMAT": "json",
    "EXCEPTION_HANDLER": "billing_console.exceptions.api_exception_handler",
    "UNAUTHENTICATED_USER": "django.contrib.auth.models.AnonymousUser",
}
SPECTACULAR_SETTINGS = {
    "TITLE": "Billing Console API",
    "DESCRIPTION": "The console's operations for other programs. Amounts are integers in "
    "minor units with an ISO 4217 currency; errors are {\"message\", \"code\"}.",
    "VERSION": "1",
    "SERVE_INCLUDE_SCHEMA": False,
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
}

# --- Celery ---------------------------------------------------------------------------------

REDIS_URL = env("REDIS_URL")
# The longest delay any task may wait before a retry. Redis redelivers a task that is not
# acknowledged within the visibility timeout, so that timeout must stay well above it.
CELERY_MAX_RETRY_DELAY_SECONDS = 600
CELERY_VISIBILITY_TIMEOUT_SECONDS = 3600
if REDIS_URL:
    CELERY_BROKER_URL = REDIS_URL
    CELERY_BROKER_TRANSPORT_OPTIONS = {"visibility_timeout": CELERY_VISIBILITY_TIMEOUT_SECONDS}
else:
    # A broker that needs no server, for one machine: messages are files under var/.
    CELERY_BROKER_DIR = VAR_DIR / "celery" / "queue"
    CELERY_BROKER_PROCESSED_DIR = VAR_DIR / "celery" / "processed"
    CELERY_BROKER_DIR.mkdir(parents=True, exist_ok=True)
    CELERY_BROKER_PROCESSED_DIR.mkdir(parents=True, exist_ok=True)
    # The host is a placeholder the transport ignores: without one kombu warns at every
    # connection that it reverts to "localhost".
    CELERY_BROKER_URL = "filesystem://localhost/"
    # kombu's transport, writing each message whole before a worker can take it.
    CELERY_BROKER_TRANSPORT = "billing_console.broker:Transport"
    CELERY_BROKER_TRANSPORT_OPTIONS = {
        "data_folder_in": str(CELERY_BROKER_DIR),
        "data_folder_out": str(CELERY_BROKER_DIR),
        "processed_folder": str(CELERY_BROKER_PROCESSED_DIR),
        # Broadcast (control) messages, which kombu otherwise writes into ./control.
        "control_folder": str(VAR_DIR / "celery" / "control"),
        "store_processed": False,
        "visibility_timeout": CELERY_VISIBILITY_TIMEOUT_SECONDS,
        # The folder is polled, and a poll takes one message: at kombu's default of once a
        # second the demo's first webhooks would queue for minutes, at 50 ms for 40 s. Every
        # 10 ms drains the seed in half that, for 2% of a core while the worker is idle.
        "polling_interval": 0.01,
    }
# Money tasks must survive a worker that dies mid-task: acknowledge only after the task
# ran, requeue when the worker is lost, and take one task at a time.
CELERY_TASK_ACKS_LATE = True
CELERY_TASK_REJECT_ON_WORKER_LOST = True
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_TASK_IGNORE_RESULT = True
CELERY_TASK_SERIALIZER = "json"
CELERY_ACCEPT_CONTENT = ["json"]
CELERY_TIMEZONE = TIME_ZONE
CELERY_BEAT_SCHEDULE_FILENAME = str(VAR_DIR / "celerybeat-schedule")
CELERY_WORKER_HIJACK_ROOT_LOGGER = False

# --- Integrations ---------------------------------------------------------------------------

STRIPE_API_KEY = env("STRIPE_API_KEY")
STRIPE_API_BASE = env("STRIPE_API_BASE", "https://api.stripe.com")
STRIPE_WEBHOOK_SECRET = env("STRIPE_WEBHOOK_SECRET")
STRIPE_MAX_NETWORK_RETRIES = env_int("STRIPE_MAX_NETWORK_RETRIES", 2)
STRIPE_TIMEOUT_SECONDS = env_int("STRIPE_TIMEOUT_SECONDS", 20)
# A money action on its way to Stripe (approved, or sent with no answer recorded) for
# longer than this is stuck: the approvals page, the handover and its case show it, the log
# warns once, and the reconciler looks for it in Stripe and, once no worker has tried it for
# as long, sends it again with the same key. Five minutes: a healthy action is in Stripe
# within seconds, and a task retrying an error Stripe calls passing tries again at most
# 128 s after its last try, which takes at most a minute (3 tries of 20 s), so a row no
# worker has touched for five minutes has lost its worker; waiting longer only keeps a
# customer's money, and the people who promised it, waiting unseen.
MONEY_ACTION_STUCK_MINUTES = env_int("MONEY_ACTION_STUCK_MINUTES", 5)
if MONEY_ACTION_STUCK_MINUTES < 1:
    raise ImproperlyConfigured("MONEY_ACTION_STUCK_MINUTES must be a whole number of minutes, "
                               "1 or more (5 unless set).")
# Unset: the live Dashboard, or its test mode for a test key (billing_console.sandbox_viewer).
STRIPE_DASHBOARD_URL = env("STRIPE_DASHBOARD_URL")
# The demo's: links to Stripe and Zendesk open the console's read-only page of the
# sandboxes' copy, as neither sandbox has a Dashboard or an agent UI.
SANDBOX_VIEWER = env_bool("SANDBOX_VIEWER")

ZENDESK_SUBDOMAIN = env("ZENDESK_SUBDOMAIN")
ZENDESK_EMAIL = env("ZENDESK_EMAIL")
ZENDESK_API_TOKEN = env("ZENDESK_API_TOKEN")
ZENDESK_API_URL = env("ZENDESK_API_URL")
ZENDESK_WEBHOOK_SECRET = env("ZENDESK_WEBHOOK_SECRET")
# Where an agent opens a ticket (ticket id appended); empty when Zendesk is not configured.
_ZENDESK_ORIGIN = ZENDESK_API_URL.rstrip("/") or (
    f"https://{ZENDESK_SUBDOMAIN}.zendesk.com" if ZENDESK_SUBDOMAIN else "")
ZENDESK_AGENT_URL = env("ZENDESK_AGENT_URL",
                        f"{_ZENDESK_ORIGIN}/agent/tickets/" if _ZENDESK_ORIGIN else "")

# --- Logging --------------------------------------------------------------------------------

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"plain": {"format": "%(asctime)s %(levelname)s %(name)s %(message)s"}},
    "filters": {"short_task_line": {"()": "billing_console.request_log.ShortTaskLine"},
                "on_the_request_line": {"()": "billing_console.request_log.OnTheRequestLine"}},
    "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "plain",
                             "filters": ["on_the_request_line"]}},
    "root": {"handlers": ["console"], "level": env("LOG_LEVEL", "INFO")},
    # At INFO the log is one line per request (billing_console.request_log) and one short
    # line per task (Celery's outcome line, without the task's return value). The lines
    # that would repeat them are kept for errors: runserver's request line,
    # django.request's 4xx warning and its traceback, the worker's "received" line and
    # beat's "sending" line, and Axes' lines for each failed sign-in and lockout (the
    # request's line says "sign-in refused" or "account locked"). What Django's loggers
    # say of a request they answered (a CSRF refusal, too many fields, a 503) goes on its
    # line (`OnTheRequestLine`), but for a 500's traceback. The HTTP clients' chatter (a
    # line or two per call to Stripe or Zendesk) starts at WARNING.
    "loggers": {
        name: {"level": level} for name, level in (
            ("django.server", "ERROR"), ("django.request", "ERROR"),
            ("celery.worker.strategy", "WARNING"), ("celery.beat", "WARNING"),
            ("stripe", "WARNING"), ("zenpy", "WARNING"), ("urllib3", "WARNING"),
            ("axes", "ERROR"),
            # Authlib would log a sign-in's PKCE verifier at DEBUG.
            ("authlib", "WARNING"),
        )
    } | {"celery.app.trace": {"filters": ["short_task_line"]}},
}
