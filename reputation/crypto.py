"""Secrets the service must read back in clear (webhook signing secrets), encrypted at rest.

A database dump alone gives none of them away: each is stored as a Fernet token (AES-128-CBC with
an HMAC-SHA256, from `cryptography`) under a key the database never sees. `SECRETS_ENCRYPTION_KEYS`
holds one or more keys, comma-separated: the first encrypts, every one decrypts. To rotate, put a
new key first, run `flask --app wsgi secrets rotate` (which re-encrypts every stored secret with
it), then drop the old key.
"""

from __future__ import annotations

import functools
from typing import Any

from cryptography.fernet import Fernet, InvalidToken, MultiFernet
from flask import current_app
from sqlalchemy import String
from sqlalchemy.engine import Dialect
from sqlalchemy.types import TypeDecorator

KEYS_VARIABLE = "SECRETS_ENCRYPTION_KEYS"
# A token of a 100-character secret is 228 characters; the rest leaves room for longer secrets.
TOKEN_LENGTH = 500


class UndecryptableSecret(RuntimeError):
    """A stored secret that no configured key decrypts: a key was dropped too early, or the
    value was not written by this service. Never answered with the stored value instead."""


def parse_keys(raw: str) -> tuple[str, ...]:
    """The keys of `SECRETS_ENCRYPTION_KEYS`, in order; ValueError for an empty list or a value
    that is not a Fernet key. The message says which key, never what it holds."""
    keys = tuple(key.strip() for key in raw.split(",") if key.strip())
    if not keys:
        raise ValueError("it holds no key")
    for position, key in enumerate(keys, start=1):
        try:
            Fernet(key)
        except ValueError:
            raise ValueError(
                f"key {position} of {len(keys)} is not a Fernet key "
                "(32 bytes in URL-safe base64, 44 characters)"
            ) from None
    return keys


def generate_key() -> str:
    """A new key, as `SECRETS_ENCRYPTION_KEYS` takes it."""
    return Fernet.generate_key().decode()


@functools.lru_cache(maxsize=8)
def keyring(keys: tuple[str, ...]) -> MultiFernet:
    """The keys as one MultiFernet, built once per key list rather than once per value."""
    return MultiFernet([Fernet(key) for key in keys])


def current_keyring() -> MultiFernet:
    """The keyring of the app in context (config.load has checked its keys)."""
    return keyring(tuple(current_app.config[KEYS_VARIABLE]))


def encrypt(plaintext: str) -> str:
    """A token of `plaintext` under the first key, as stored."""
    return current_keyring().encrypt(plaintext.encode()).decode()


def decrypt(token: str) -> str:
    """The clear value of a stored token, or UndecryptableSecret: never the token itself."""
    try:
        return current_keyring().decrypt(token.encode()).decode()
    except InvalidToken:
        raise UndecryptableSecret(
            f"A stored secret cannot be decrypted with any key of {KEYS_VARIABLE}: the key it was "
            "encrypted with is missing from the list (keep old keys after the new one until "
            "`flask --app wsgi secrets rotate` has run), or the service did not write it."
        ) from None


def needs_rotation(token: str) -> bool:
    """Whether a stored token is encrypted with another key than the first: then `rotate`
    re-encrypts it. A token no key decrypts raises UndecryptableSecret."""
    decrypt(token)
    first = Fernet(current_app.config[KEYS_VARIABLE][0])
    try:
        first.decrypt(token.encode())
    except InvalidToken:
        return True
    return False


def rotate(token: str) -> str:
    """The same secret, encrypted with the first key."""
    decrypt(token)
    return current_keyring().rotate(token.encode()).decode()


class EncryptedString(TypeDecorator[str]):
    """A string column stored encrypted: written as a Fernet token, read back in clear, so the
    code that uses the value never sees the token."""

    impl = String(TOKEN_LENGTH)
    cache_ok = True

    def process_bind_param(self, value: str | None, dialect: Dialect) -> str | None:
        return None if value is None else encrypt(value)

    def process_result_value(self, value: Any, dialect: Dialect) -> str | None:
        return None if value is None else decrypt(value)
