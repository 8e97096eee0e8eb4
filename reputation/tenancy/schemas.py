from __future__ import annotations

import marshmallow as ma
from marshmallow import validate

from reputation.api.fields import StrictBoolean, email_address
from reputation.roles import Role, Scope

ROLES = [r.value for r in Role]
SCOPES = [s.value for s in Scope]


class LoginSchema(ma.Schema):
    agency = ma.fields.String(required=True, validate=validate.Length(min=1, max=63))
    email = ma.fields.String(required=True, validate=validate.Length(min=1, max=254))
    password = ma.fields.String(
        required=True, load_only=True, validate=validate.Length(min=1, max=1024)
    )


class PasswordChangeSchema(ma.Schema):
    current_password = ma.fields.String(
        required=True, load_only=True, validate=validate.Length(min=1, max=1024)
    )
    new_password = ma.fields.String(
        required=True, load_only=True, validate=validate.Length(min=12, max=1024)
    )


class PrincipalSchema(ma.Schema):
    kind = ma.fields.String(metadata={"description": "`user` or `api_key`"})
    id = ma.fields.String()
    agency_id = ma.fields.String()
    label = ma.fields.String()
    role = ma.fields.String(allow_none=True)
    scopes = ma.fields.List(ma.fields.String())


class UserSchema(ma.Schema):
    id = ma.fields.String(dump_only=True)
    email = ma.fields.String(dump_only=True)
    name = ma.fields.String(dump_only=True)
    role = ma.fields.String(dump_only=True)
    active = ma.fields.Boolean(dump_only=True)
    created_at = ma.fields.DateTime(dump_only=True)
    last_login_at = ma.fields.DateTime(dump_only=True, allow_none=True)


class UserCreateSchema(ma.Schema):
    email = email_address(required=True)
    name = ma.fields.String(load_default="", validate=validate.Length(max=200))
    role = ma.fields.String(required=True, validate=validate.OneOf(ROLES))
    password = ma.fields.String(
        required=True, load_only=True, validate=validate.Length(min=12, max=1024)
    )


class UserUpdateSchema(ma.Schema):
    name = ma.fields.String(validate=validate.Length(max=200))
    role = ma.fields.String(validate=validate.OneOf(ROLES))
    active = StrictBoolean()
    password = ma.fields.String(load_only=True, validate=validate.Length(min=12, max=1024))


class ApiKeySchema(ma.Schema):
    id = ma.fields.String(dump_only=True)
    name = ma.fields.String(dump_only=True)
    prefix = ma.fields.String(
        dump_only=True, metadata={"description": "The key's first characters"}
    )
    scopes = ma.fields.List(ma.fields.String(), dump_only=True)
    created_at = ma.fields.DateTime(dump_only=True)
    last_used_at = ma.fields.DateTime(dump_only=True, allow_none=True)
    revoked_at = ma.fields.DateTime(dump_only=True, allow_none=True)


class ApiKeyCreateSchema(ma.Schema):
    name = ma.fields.String(required=True, validate=validate.Length(min=1, max=200))
    scopes = ma.fields.List(
        ma.fields.String(validate=validate.OneOf(SCOPES)),
        required=True,
        validate=validate.Length(min=1, max=len(SCOPES)),
    )


class IssuedApiKeySchema(ApiKeySchema):
    key = ma.fields.String(
        dump_only=True, metadata={"description": "The secret, shown this once and never again"}
    )
