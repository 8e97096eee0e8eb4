"""`create_app`: the Flask app, its extensions, blueprints, listeners and commands."""

from __future__ import annotations

import os
import sqlite3
import time
from collections.abc import Callable
from typing import Any

from flask import Flask
from sqlalchemy import Dialect, event, exc
from werkzeug.middleware.proxy_fix import ProxyFix

# Every model module, so the metadata (and Alembic) sees every table.
import reputation.api.idempotency
import reputation.audit.models
import reputation.conduct.models
import reputation.contractors.models
import reputation.decisions.models
import reputation.disputes.models
import reputation.erasure.models
import reputation.exports.models
import reputation.imports.models
import reputation.outbox.models
import reputation.persons.models
import reputation.policy.models
import reputation.references.models
import reputation.rehabilitation.models
import reputation.scoring.models
import reputation.tenancy.models
import reputation.webhooks.models  # noqa: F401
from reputation.api.blueprint import Api, spec_security
from reputation.api.hooks import register_request_hooks, register_text_rule
from reputation.api.problems import register_error_handlers
from reputation.api.security import register_security
from reputation.audit.views import audit
from reputation.conduct.views import conduct, taxonomy
from reputation.config import Config, load
from reputation.contractors.views import contractors
from reputation.db import render_item
from reputation.decisions.views import decisions
from reputation.demo import demo_cli
from reputation.disputes.views import answers, disputes
from reputation.erasure.views import erasure_requests, my_data
from reputation.exports.views import exports
from reputation.extensions import babel, csrf, db, limiter, login_manager, migrate
from reputation.health import metrics
from reputation.health.views import health
from reputation.imports.views import imports
from reputation.persons.views import invitations, me
from reputation.policy.views import policy
from reputation.portal.views import register_portal, select_locale
from reputation.references.views import my_evidence, references
from reputation.rehabilitation.views import rehabilitation
from reputation.scoring.cli import trust_cli
from reputation.scoring.views import scoring
from reputation.tenancy import scope
from reputation.tenancy.cli import agencies_cli, api_keys_cli, users_cli
from reputation.tenancy.views import api_keys, auth, users
from reputation.webhooks.cli import secrets_cli
from reputation.webhooks.views import webhooks

# How long a pooled connection may sit idle before it is pinged on its next use.
IDLE_BEFORE_PING = 10.0


def create_app(
    config_class: type[Config] = Config, overrides: dict[str, Any] | None = None
) -> Flask:
    """Build the app; configuration from the environment, then `overrides`."""
    app = Flask(__name__)
    app.config.from_object(load(config_class, overrides))
    os.makedirs(app.instance_path, exist_ok=True)
    if app.config["TRUSTED_PROXIES"]:
        hops = app.config["TRUSTED_PROXIES"]
        app.wsgi_app = ProxyFix(  # type: ignore[method-assign]
            app.wsgi_app, x_for=hops, x_proto=hops, x_host=hops
        )
    register_extensions(app)
    register_listeners(app)
    register_blueprints(app)
    register_commands(app)
    return app


def register_extensions(app: Flask) -> None:
    db.init_app(app)
    migrate.init_app(
        app,
        db,
        directory=os.path.join(os.path.dirname(app.root_path), "migrations"),
        render_item=render_item,
        compare_type=True,
    )
    login_manager.init_app(app)
    csrf.init_app(app)
    babel.init_app(
        app,
        locale_selector=select_locale,
        default_translation_directories=os.path.join(app.root_path, "translations"),
    )
    metrics.init_app(app)
    register_security(app)
    register_request_hooks(app)
    limiter.init_app(app)
    register_text_rule(app)
    api = Api(app)
    spec_security(api, app)
    app.extensions["api"] = api
    register_error_handlers(app)


def register_listeners(app: Flask) -> None:
    """Database events, bound to this app's engines and to the session, not to every Engine of
    the process."""
    with app.app_context():
        for engine in db.engines.values():
            if engine.dialect.name == "sqlite" and not event.contains(
                engine, "connect", _sqlite_pragmas
            ):
                event.listen(engine, "connect", _sqlite_pragmas)
            if engine.dialect.name == "postgresql" and not event.contains(
                engine, "checkin", _note_checkin
            ):
                event.listen(engine, "checkin", _note_checkin)
                event.listen(engine, "checkout", _ping_if_idle(engine.dialect))
    scope.register_listeners(db.session)


def register_blueprints(app: Flask) -> None:
    api = app.extensions["api"]
    for blueprint in (
        auth,
        users,
        api_keys,
        audit,
        contractors,
        conduct,
        rehabilitation,
        decisions,
        taxonomy,
        imports,
        exports,
        scoring,
        policy,
        webhooks,
        invitations,
        me,
        disputes,
        answers,
        references,
        my_evidence,
        my_data,
        erasure_requests,
    ):
        api.register_blueprint(blueprint)
    app.register_blueprint(health)
    register_portal(app)
    # Probes and scrapes come often and from one address; they are not API traffic.
    limiter.exempt(health)


def register_commands(app: Flask) -> None:
    for group in (agencies_cli, users_cli, api_keys_cli, demo_cli, trust_cli, secrets_cli):
        app.cli.add_command(group)


def _note_checkin(dbapi_connection: Any, connection_record: Any) -> None:
    connection_record.info["checked_in_at"] = time.monotonic()


def _ping_if_idle(dialect: Dialect) -> Callable[[Any, Any, Any], None]:
    """A checkout listener that pings a pooled connection idle for IDLE_BEFORE_PING seconds or
    more before it is used (PostgreSQL, a proxy or a firewall may have closed it meanwhile), and
    has a dead one replaced by a new connection, as `pool_pre_ping` would. A connection in steady
    use is not pinged: that ping would be a round trip of every request. Should the database
    restart under busy connections, the first request on one fails and the pool drops every
    connection older than the failure."""

    def ping(dbapi_connection: Any, connection_record: Any, proxy: Any) -> None:
        idle_since = connection_record.info.get("checked_in_at")
        if idle_since is None or time.monotonic() - idle_since < IDLE_BEFORE_PING:
            return
        try:
            dialect.do_ping(dbapi_connection)
        except Exception as error:
            raise exc.DisconnectionError("a pooled connection did not answer its ping") from error

    return ping


def _sqlite_pragmas(dbapi_connection: Any, connection_record: Any) -> None:
    if isinstance(dbapi_connection, sqlite3.Connection):
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA foreign_keys=ON")
        # WAL lets the web processes read while a worker writes; wait rather than fail on a lock.
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA busy_timeout=10000")
        cursor.close()
