"""Fields that several schemas share."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import marshmallow as ma
from marshmallow import validate

from reputation import clock

EARLIEST = datetime(1970, 1, 1, tzinfo=UTC)
# A client's clock may run a little ahead of ours.
CLOCK_SKEW = timedelta(minutes=5)
MAX_URLS = 20


class Timestamp(ma.fields.AwareDateTime):
    """An ISO 8601 time with a zone, given back in UTC; times UTC cannot hold are refused."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(default_timezone=None, **kwargs)

    def _deserialize(self, value: Any, attr: str | None, data: Any, **kwargs: Any) -> datetime:
        parsed = super()._deserialize(value, attr, data, **kwargs)
        try:
            return parsed.astimezone(UTC)
        except OverflowError as error:
            raise ma.ValidationError("Not a time that can be expressed in UTC.") from error


def check_period(data: dict[str, Any], start: str, end: str, names: tuple[str, str]) -> None:
    """A period's start may not come after its end; the error names the start as sent."""
    if data.get(start) is not None and data.get(end) is not None and data[start] > data[end]:
        raise ma.ValidationError(f"{names[0]} is after {names[1]}.", names[0])


def not_in_the_future(value: datetime) -> None:
    if value < EARLIEST:
        raise ma.ValidationError("Must not be before 1970-01-01T00:00:00Z.")
    if value > clock.now() + CLOCK_SKEW:
        raise ma.ValidationError("Must not be in the future.")


def occurred_at(**kwargs: Any) -> ma.fields.AwareDateTime:
    """When something happened: ISO 8601 with a zone, not in the future, not before 1970."""
    return Timestamp(
        validate=not_in_the_future,
        metadata={"description": "ISO 8601 with a time zone; not in the future nor before 1970"},
        **kwargs,
    )


def evidence_urls(**kwargs: Any) -> ma.fields.List:
    return ma.fields.List(
        ma.fields.Url(schemes={"http", "https"}, validate=validate.Length(max=2000)),
        validate=validate.Length(max=MAX_URLS),
        **kwargs,
    )


def one_of(choices: list[str] | tuple[str, ...], what: str, **kwargs: Any) -> ma.fields.String:
    """A string among `choices`; the error lists them."""
    listed = ", ".join(choices)
    return ma.fields.String(
        validate=validate.OneOf(choices, error=f"Unknown {what}: {{input}}. Allowed: {listed}."),
        **kwargs,
    )


def text(max_length: int, **kwargs: Any) -> ma.fields.String:
    return ma.fields.String(validate=validate.Length(max=max_length), **kwargs)


def required_text(max_length: int, **kwargs: Any) -> ma.fields.String:
    return ma.fields.String(
        required=True, validate=validate.Length(min=1, max=max_length), **kwargs
    )
