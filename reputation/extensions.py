"""Extension objects, created unbound; `create_app` binds them."""

from __future__ import annotations

from flask import g, request
from flask_babel import Babel
from flask_limiter import Limiter
from flask_login import LoginManager
from flask_migrate import Migrate
from flask_sqlalchemy import SQLAlchemy
from flask_wtf import CSRFProtect
from sqlalchemy import MetaData
from sqlalchemy.orm import DeclarativeBase


class Base(DeclarativeBase):
    # Stable constraint names, so migrations can name what they change.
    metadata = MetaData(
        naming_convention={
            "ix": "ix_%(column_0_label)s",
            "uq": "uq_%(table_name)s_%(column_0_N_name)s",
            "ck": "ck_%(table_name)s_%(constraint_name)s",
            "fk": "fk_%(table_name)s_%(column_0_N_name)s_%(referred_table_name)s",
            "pk": "pk_%(table_name)s",
        }
    )


def principal_key() -> str:
    """What request limits count by: the API key or staff member, else the client's address.

    The principal is resolved before any limit is checked (api/hooks.py)."""
    principal = g.get("principal")
    return principal.key if principal else f"address:{request.remote_addr}"


db = SQLAlchemy(model_class=Base)
migrate = Migrate()
login_manager = LoginManager()
limiter = Limiter(key_func=principal_key)
# The portal's forms and htmx requests carry its token; the JSON API has its own origin check.
csrf = CSRFProtect()
babel = Babel()
