"""Configuration read from the environment."""

from __future__ import annotations

import pytest

from reputation.config import Config, ConfigurationError, database_url, limits_storage_uri, load


def test_database_url_defaults_to_a_sqlite_file_and_uses_psycopg_3():
    assert database_url(None) == "sqlite:///reputation.db"
    assert database_url("postgres://u@h/db") == "postgresql+psycopg://u@h/db"
    assert database_url("postgresql://u@h/db") == "postgresql+psycopg://u@h/db"


def test_rate_limits_share_the_redis_of_the_queues_even_over_a_unix_socket():
    assert limits_storage_uri("redis://127.0.0.1:6379/0") == "redis://127.0.0.1:6379/0"
    assert limits_storage_uri("unix:///tmp/redis.socket") == "redis+unix:///tmp/redis.socket"


def test_missing_secret_key_is_an_error_outside_development(monkeypatch):
    monkeypatch.delenv("SECRET_KEY", raising=False)
    monkeypatch.setenv("REPUTATION_ENV", "production")
    with pytest.raises(ConfigurationError, match="SECRET_KEY"):
        load(Config)
    monkeypatch.setenv("REPUTATION_ENV", "development")
    assert load(Config).SECRET_KEY
