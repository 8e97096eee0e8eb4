"""Fields that several schemas share, and how the OpenAPI document states the rules they keep.

The document is generated from the schemas, so a rule a field enforces must reach it: either
through a validator apispec understands (Length, Range, OneOf, Regexp) or through the attribute
functions at the end of this module, which `Api` registers on apispec's converter. What JSON
Schema cannot state (a relation between two values, the clock, stored data) is said in the
field's description instead.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import UTC, date, datetime, timedelta
from typing import Any

import marshmallow as ma
from marshmallow import validate

from reputation import clock

EARLIEST = datetime(1970, 1, 1, tzinfo=UTC)
# A client's clock may run a little ahead of ours.
CLOCK_SKEW = timedelta(minutes=5)
MAX_URLS = 20
MAX_URL_LENGTH = 2000

# The text rule (reputation/text.py) as a `pattern` on every string of the document: no U+0000,
# no lone surrogate (U+D800 to U+DFFF). The obvious `[^\u0000\uD800-\uDFFF]` is no regex at all
# to engines over Unicode scalar values (Rust's, which schemathesis validates with), so the class
# takes out U+D7FF to U+E000 and puts back the two of them that are characters. Read over code
# points, as Python does and ECMA-262 does with the `u` flag, it means exactly the text rule.
TEXT_PATTERN = r"^(?:[^\u0000\uD7FF-\uE000]|[\uD7FF\uE000])*$"

# An evidence link: http:// or https://, a host (with a port, credentials, as the link has them),
# then anything; printable ASCII only, without spaces, as RFC 3986 writes URLs (percent-encode
# the rest). The rule is the pattern itself: what the document promises is what is accepted.
URL_PATTERN = r'^https?://[!"$-.0->@-~]+[!-~]*$'

# An email address, by a rule the service states and keeps exactly (JSON Schema's `format:
# email`, RFC 5321's grammar, and marshmallow's Email disagree on many addresses): one @, something
# before it, a domain of dot-separated labels after it, and no space or control character of
# ASCII or Latin-1. Beyond those, any character of the BMP (from U+00A1, surrogates and
# U+FFFE/F aside), for international addresses.
_LOCAL = r"\x21-\x3F\x41-\x7E\u00A1-\uD7FF\uE000-\uFFFD"  # printable but @, and beyond ASCII
_LABEL = r"\x21-\x2D\x2F-\x3F\x41-\x7E\u00A1-\uD7FF\uE000-\uFFFD"  # nor a dot
EMAIL_PATTERN = rf"^[{_LOCAL}]+@[{_LABEL}]+(?:\.[{_LABEL}]+)+$"
MAX_EMAIL_LENGTH = 254

# A Timestamp's written date is neither the calendar's first day nor its last.
CALENDAR_EDGES = r"^(?!0001-01-01|9999-12-31)"


class FullMatch(validate.Regexp):
    """A Regexp matched against the whole value, as JSON Schema reads an anchored `pattern`:
    `re.match` lets `$` stop before a final line break, which the document's `$` does not."""

    def __call__(self, value: Any) -> Any:
        if not isinstance(value, str) or self.regex.fullmatch(value) is None:
            raise ma.ValidationError(self._format_error(value))
        return value


class StrictBoolean(ma.fields.Boolean):
    """`true` or `false` as JSON writes them. marshmallow's Boolean also takes 0, 1, "yes"…,
    which the document's `boolean` does not allow. For JSON bodies; a query string's booleans
    are text, and keep marshmallow's Boolean."""

    def _deserialize(self, value: Any, attr: str | None, data: Any, **kwargs: Any) -> bool:
        if not isinstance(value, bool):
            raise self.make_error("invalid", input=value)
        return value


class StrictInteger(ma.fields.Integer):
    """A JSON integer: not `true`, `3.0` or `"3"`. For JSON bodies."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(strict=True, **kwargs)


class StrictNumber(ma.fields.Float):
    """A JSON number: not `true` or `"0.5"`. For JSON bodies."""

    def _validated(self, value: Any) -> float:
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise self.make_error("invalid", input=value)
        return super()._validated(value)


class Timestamp(ma.fields.AwareDateTime):
    """An ISO 8601 time with a zone, given back in UTC. Its zone could carry a time on the first
    or the last day of the calendar (0001-01-01, 9999-12-31) outside what UTC times hold, so
    those two days are refused whatever the zone, and the document's `pattern` says so."""

    def __init__(self, **kwargs: Any) -> None:
        metadata = {"pattern": CALENDAR_EDGES, **kwargs.pop("metadata", {})}
        super().__init__(default_timezone=None, metadata=metadata, **kwargs)

    def _deserialize(self, value: Any, attr: str | None, data: Any, **kwargs: Any) -> datetime:
        parsed = super()._deserialize(value, attr, data, **kwargs)
        if parsed.date() in (date.min, date.max):
            raise ma.ValidationError("Not a time of 0001-01-01 or 9999-12-31, in any zone.")
        return parsed.astimezone(UTC)


def check_period(data: dict[str, Any], start: str, end: str, names: tuple[str, str]) -> None:
    """A period's start may not come after its end; the error names the start as sent."""
    if data.get(start) is not None and data.get(end) is not None and data[start] > data[end]:
        raise ma.ValidationError(f"{names[0]} is after {names[1]}.", names[0])


def period_start(end: str, **kwargs: Any) -> Timestamp:
    """A period's start, which check_period keeps at or before `end`: the rule is in its
    description, since JSON Schema constrains one value at a time."""
    return Timestamp(
        metadata={"description": f"ISO 8601 with a time zone; not after `{end}`"}, **kwargs
    )


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
        ma.fields.String(
            validate=[
                validate.Length(max=MAX_URL_LENGTH),
                FullMatch(URL_PATTERN, error="Not an http:// or https:// URL of printable ASCII."),
            ],
            metadata={
                "description": "An http:// or https:// URL with a host: printable ASCII without "
                "spaces (percent-encode the rest)"
            },
        ),
        validate=validate.Length(max=MAX_URLS),
        **kwargs,
    )


def email_address(**kwargs: Any) -> ma.fields.String:
    """An email address as EMAIL_PATTERN reads one, at most 254 characters."""
    return ma.fields.String(
        validate=[
            validate.Length(max=MAX_EMAIL_LENGTH),
            FullMatch(EMAIL_PATTERN, error="Not a valid email address."),
        ],
        metadata={"description": "An email address: name@domain.example"},
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


class KeyedDict(ma.fields.Dict):
    """An object whose keys are a fixed set, each optional. Validated as a Dict (an error names
    `field.key` or `field.value…`); documented with one property per key and no others, since
    OpenAPI 3.0 has no `propertyNames`. `documented` gives a key a narrower value schema than
    `values`, for a rule the schema checks as a whole."""

    def __init__(
        self,
        names: Sequence[str],
        values: ma.fields.Field,
        *,
        error: str,
        documented: Mapping[str, ma.fields.Field] | None = None,
        **kwargs: Any,
    ) -> None:
        super().__init__(
            keys=ma.fields.String(validate=validate.OneOf(names, error=error)),
            values=values,
            **kwargs,
        )
        self.names = tuple(names)
        self.documented = dict(documented or {})


# What the document says of each field, beyond what apispec derives. Each function is bound to
# apispec's OpenAPIConverter and merged, in order, after apispec's own (`ret` holds theirs).


def _text_rule(self: Any, field: ma.fields.Field, ret: dict[str, Any], **kwargs: Any) -> dict:
    """Every free string carries the text rule; a string with a pattern or a list of values of
    its own says something narrower already."""
    if isinstance(field, ma.fields.String) and "pattern" not in ret and "enum" not in ret:
        return {"pattern": TEXT_PATTERN}
    return {}


def _exclusive_bounds(self: Any, field: ma.fields.Field, **kwargs: Any) -> dict:
    """A Range that leaves out its bound (apispec drops `min_inclusive`), as OpenAPI 3.0 says it."""
    bounds: dict[str, Any] = {}
    for validator in field.validators:
        if isinstance(validator, validate.Range):
            if validator.min is not None and not validator.min_inclusive:
                bounds["exclusiveMinimum"] = True
            if validator.max is not None and not validator.max_inclusive:
                bounds["exclusiveMaximum"] = True
    return bounds


def _object_size(self: Any, field: ma.fields.Field, ret: dict[str, Any], **kwargs: Any) -> dict:
    """A Length on a Dict counts its keys: min/maxProperties, not apispec's min/maxLength."""
    if not isinstance(field, ma.fields.Dict):
        return {}
    sizes = {}
    for length, size in (("minLength", "minProperties"), ("maxLength", "maxProperties")):
        if length in ret:
            sizes[size] = ret.pop(length)
    return sizes


def _fixed_keys(self: Any, field: ma.fields.Field, ret: dict[str, Any], **kwargs: Any) -> dict:
    if not isinstance(field, KeyedDict):
        return {}
    return {
        "properties": {
            name: self.field2property(field.documented.get(name, field.value_field))
            for name in field.names
        },
        "additionalProperties": False,
    }


def document_rules(converter: Any) -> None:
    """Teach apispec's converter (flask-smorest's MarshmallowPlugin's) the rules above."""
    for attribute_function in (_text_rule, _exclusive_bounds, _object_size, _fixed_keys):
        converter.add_attribute_function(attribute_function)
