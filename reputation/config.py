"""Configuration, read from the environment.

`REPUTATION_ENV` is `production` unless said otherwise; only `development` and `test` may run
without a `SECRET_KEY` or a `SECRETS_ENCRYPTION_KEYS`.
"""

from __future__ import annotations

import os
import tempfile
from email.utils import parseaddr
from typing import Any

from reputation.crypto import KEYS_VARIABLE, parse_keys
from reputation.mail.smtp import parse_mail_url


class ConfigurationError(RuntimeError):
    """The environment does not describe a service that can start safely."""


def database_url(raw: str | None) -> str:
    """The SQLAlchemy URL for DATABASE_URL; psycopg 3 for PostgreSQL, a SQLite file by default."""
    if not raw:
        # Relative to the Flask instance folder.
        return "sqlite:///reputation.db"
    for prefix in ("postgres://", "postgresql://"):
        if raw.startswith(prefix):
            return "postgresql+psycopg://" + raw.removeprefix(prefix)
    return raw


def limits_storage_uri(redis_url: str) -> str:
    """Flask-Limiter's name for the same Redis: it spells a Unix socket `redis+unix://`."""
    if redis_url.startswith("unix://"):
        return "redis+unix://" + redis_url.removeprefix("unix://")
    return redis_url


class Config:
    ENV = "production"
    TESTING = False

    # No ping at every checkout (a round trip a request): app.py pings a pooled connection only
    # when it has been idle long enough to have been closed under it.
    SQLALCHEMY_ENGINE_OPTIONS: dict[str, Any] = {}
    SQLALCHEMY_RECORD_QUERIES = False

    # The head of a request, checked before anything reads it (api/security.py): a longer request
    # target (path and query) is a 414, a longer header field (`Name: value`) or more fields a
    # 431, as problem+json. Each lets through at least what gunicorn's defaults did (a 4094-byte
    # request line, 8190-byte fields, 100 of them); deploy/gunicorn.conf.py sets gunicorn's own
    # limits above these, so that it is the app that answers.
    MAX_REQUEST_TARGET = 4096
    MAX_HEADER_FIELD_BYTES = 8192
    MAX_HEADER_FIELDS = 100
    # JSON bodies; the endpoints that take files have their own limit.
    MAX_CONTENT_LENGTH = 1024 * 1024
    IMPORT_MAX_BYTES = 200 * 1024 * 1024
    # Where uploaded imports wait for their job; shared by web and workers (instance/imports).
    IMPORT_DIR: str | None = None
    # Where finished exports wait for their download (instance/exports); shared likewise.
    EXPORT_DIR: str | None = None

    SESSION_COOKIE_HTTPONLY = True
    SESSION_COOKIE_SAMESITE = "Lax"
    SESSION_COOKIE_SECURE = True
    SESSION_COOKIE_NAME = "reputation_session"
    # Sent with every answer over HTTPS (api/security.py): a year, for the service's host and the
    # hosts under it. Not `preload`: that commits the whole domain, the operator's decision.
    STRICT_TRANSPORT_SECURITY = "max-age=31536000; includeSubDomains"

    # The portal checks its own forms' CSRF tokens (portal/blueprint.py); the JSON API is guarded by
    # its origin check (api/hooks.py) and API keys, which no browser sends on its own.
    WTF_CSRF_CHECK_DEFAULT = False
    # A form may stay open for a working day.
    WTF_CSRF_TIME_LIMIT = 8 * 3600
    # The portal speaks English and French (the domain's own language): the staff member's
    # setting, else the browser's Accept-Language.
    LANGUAGES = ("en", "fr")
    BABEL_DEFAULT_LOCALE = "en"
    BABEL_DEFAULT_TIMEZONE = "UTC"

    API_TITLE = "Reputation service"
    API_VERSION = "v1"
    OPENAPI_VERSION = "3.0.3"
    OPENAPI_URL_PREFIX = "/api/v1"
    OPENAPI_JSON_PATH = "openapi.json"
    OPENAPI_SWAGGER_UI_PATH = "docs"
    # Swagger UI's files come from the pinned package and are served here (api/security.py):
    # the docs page, on the session's origin, runs nothing from elsewhere.
    OPENAPI_SWAGGER_UI_URL = f"{OPENAPI_URL_PREFIX}/{OPENAPI_SWAGGER_UI_PATH}/swagger-ui/"
    # No validator badge: it would send the document's address to swagger.io.
    OPENAPI_SWAGGER_UI_CONFIG: dict[str, Any] = {"validatorUrl": "none"}
    API_SPEC_OPTIONS: dict[str, Any] = {"security": [{"apiKey": []}, {"session": []}]}

    IDEMPOTENCY_TTL_SECONDS = 24 * 3600

    # Flask-Limiter: per principal (API key or user), else per address.
    RATELIMIT_DEFAULT = "1200 per minute"
    # Logins: per account and address, so that nobody can lock a person out from elsewhere;
    # per address, whatever the account; and, slower, per account wherever the tries come from,
    # counting only failed logins (tenancy/views.py).
    RATELIMIT_LOGIN = "10 per minute"
    RATELIMIT_LOGIN_ADDRESS = "30 per minute"
    RATELIMIT_LOGIN_ACCOUNT = "100 per hour"
    # Tokens of one-time links that name nothing, or nothing any more, per address.
    RATELIMIT_TOKEN = "20 per minute"
    # X-RateLimit-* headers would cost every request a second Redis round trip; a 429 still
    # says when to retry (problems.py).
    RATELIMIT_HEADERS_ENABLED = False
    # With Redis down, limits are kept in memory rather than failing every request: writes must
    # still be accepted (the outbox holds their jobs until Redis is back).
    RATELIMIT_SWALLOW_ERRORS = True
    RATELIMIT_IN_MEMORY_FALLBACK_ENABLED = True
    RATELIMIT_KEY_PREFIX = "reputation-limits"

    # Mail goes to the SMTP server of MAIL_URL (reputation/mail/smtp.py); with none, the `mail`
    # jobs fail and wait in their retries. `make run` starts a server that prints each message.
    MAIL_URL: str | None = None
    MAIL_FROM = "The reputation service <no-reply@localhost>"

    # Fernet keys, comma-separated, that encrypt stored webhook secrets (reputation/crypto.py);
    # load() checks them and splits them into a tuple, the first key first.
    SECRETS_ENCRYPTION_KEYS: str | tuple[str, ...] | None = None

    # Argon2id parameters (argon2-cffi's defaults, RFC 9106's second recommendation).
    ARGON2_TIME_COST = 3
    ARGON2_MEMORY_COST = 65536

    def __init__(self) -> None:
        env = os.environ
        self.ENV = env.get("REPUTATION_ENV", type(self).ENV) if type(self) is Config else self.ENV
        self.SQLALCHEMY_DATABASE_URI = database_url(env.get("DATABASE_URL"))
        self.REDIS_URL = env.get("REDIS_URL", "redis://127.0.0.1:6379/0")
        self.RATELIMIT_STORAGE_URI = limits_storage_uri(self.REDIS_URL)
        self.SECRET_KEY = env.get("SECRET_KEY") or getattr(type(self), "SECRET_KEY", None)
        self.SECRETS_ENCRYPTION_KEYS = env.get(KEYS_VARIABLE) or None
        self.WEBHOOK_ALLOW_PRIVATE_NETWORKS = env.get("WEBHOOK_ALLOW_PRIVATE_NETWORKS") == "1"
        # Behind a load balancer, how many proxies' X-Forwarded-* headers to trust (ProxyFix).
        self.TRUSTED_PROXIES = int(env.get("TRUSTED_PROXIES", "0"))
        self.IMPORT_DIR = env.get("IMPORT_DIR")
        self.EXPORT_DIR = env.get("EXPORT_DIR") or type(self).EXPORT_DIR
        self.RATELIMIT_DEFAULT = env.get("RATELIMIT_DEFAULT", type(self).RATELIMIT_DEFAULT)
        self.MAIL_URL = env.get("MAIL_URL") or None
        self.MAIL_FROM = env.get("MAIL_FROM") or type(self).MAIL_FROM
        if self.ENV in ("development", "test"):
            self.SESSION_COOKIE_SECURE = False


class TestConfig(Config):
    __test__ = False  # not a pytest class

    ENV = "test"
    TESTING = True
    SECRET_KEY = "test-secret-key"
    # Cheap hashes keep the suite fast; production keeps the defaults above.
    ARGON2_TIME_COST = 1
    ARGON2_MEMORY_COST = 1024
    RATELIMIT_DEFAULT = "100000 per minute"
    RATELIMIT_LOGIN = "1000 per minute"
    RATELIMIT_LOGIN_ADDRESS = "1000 per minute"
    RATELIMIT_LOGIN_ACCOUNT = "1000 per minute"
    # Export files of test runs go to the temporary folder, not to the instance folder.
    EXPORT_DIR = os.path.join(tempfile.gettempdir(), "reputation-test-exports")


def load(config_class: type[Config] = Config, overrides: dict[str, Any] | None = None) -> Config:
    """Build the configuration object and refuse to start with an unsafe one."""
    loaded = config_class()
    for key, value in (overrides or {}).items():
        setattr(loaded, key, value)
    if not loaded.SECRET_KEY:
        if loaded.ENV not in ("development", "test"):
            raise ConfigurationError(
                "SECRET_KEY is not set. Set it to a long random string "
                "(python -c 'import secrets; print(secrets.token_urlsafe(48))'), "
                "or set REPUTATION_ENV=development for a local run."
            )
        loaded.SECRET_KEY = "development-only-secret-key"
    _check_encryption_keys(loaded)
    _check_mail(loaded)
    return loaded


# Known to everyone, like the development SECRET_KEY: only for data that is not real. Tests and
# development share it, so that every process of a run (web, workers, CLI) reads what another wrote.
DEVELOPMENT_ENCRYPTION_KEY = "ZGV2ZWxvcG1lbnQtb25seS1lbmNyeXB0aW9uLWtleSE="


def _check_encryption_keys(loaded: Config) -> None:
    """Split SECRETS_ENCRYPTION_KEYS into its keys, or refuse to start: without a key, stored
    webhook secrets could neither be written nor read, and there is no plaintext fallback."""
    raw = loaded.SECRETS_ENCRYPTION_KEYS
    if isinstance(raw, tuple):
        raw = ",".join(raw)  # overrides may give the keys already split
    if not raw:
        if loaded.ENV not in ("development", "test"):
            raise ConfigurationError(
                f"{KEYS_VARIABLE} is not set. Set it to one or more Fernet keys, comma-separated, "
                "the newest first (python -c 'from cryptography.fernet import Fernet; "
                "print(Fernet.generate_key().decode())'), "
                "or set REPUTATION_ENV=development for a local run."
            )
        raw = DEVELOPMENT_ENCRYPTION_KEY
    try:
        loaded.SECRETS_ENCRYPTION_KEYS = parse_keys(raw)
    except ValueError as error:
        raise ConfigurationError(f"{KEYS_VARIABLE} is malformed: {error}.") from None


def _check_mail(loaded: Config) -> None:
    """Refuse a MAIL_URL or MAIL_FROM that no message could go out with: found at start, not
    by the first job that sends, after the write that caused it was acknowledged."""
    if loaded.MAIL_URL:
        try:
            parse_mail_url(loaded.MAIL_URL)
        except ValueError as error:
            # The URL itself is not repeated: it may hold a password.
            raise ConfigurationError(
                f"MAIL_URL is malformed: {error}. "
                "Write it smtp://[user:password@]host[:port][?starttls=1] or smtps://…"
            ) from None
    if "@" not in parseaddr(loaded.MAIL_FROM)[1]:
        raise ConfigurationError(
            f"MAIL_FROM {loaded.MAIL_FROM!r} is not an address, such as "
            "'The reputation service <no-reply@example.com>'"
        )
