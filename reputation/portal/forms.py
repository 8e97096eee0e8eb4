"""The portal's forms: Flask-WTF (a CSRF token in each), and the service's one text rule."""

from __future__ import annotations

import functools
import re
import uuid
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

from flask_babel import format_date, get_locale, to_user_timezone, to_utc
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import (
    BooleanField,
    DateTimeLocalField,
    EmailField,
    Field,
    HiddenField,
    PasswordField,
    RadioField,
    SelectField,
    StringField,
    TextAreaField,
)
from wtforms.fields.choices import SelectChoice
from wtforms.validators import (
    AnyOf,
    DataRequired,
    InputRequired,
    Length,
    Optional,
    ValidationError,
)

from reputation import clock, text
from reputation.api.fields import (
    CLOCK_SKEW,
    EARLIEST,
    EMAIL_PATTERN,
    MAX_URL_LENGTH,
    MAX_URLS,
    URL_PATTERN,
)
from reputation.contractors.models import STATUSES as CONTRACTOR_STATUSES
from reputation.decisions.models import DECISIONS
from reputation.evidence import SOURCES as EVENT_SOURCES
from reputation.portal import labels
from reputation.rehabilitation.models import REJECTED, VERIFIED
from reputation.rehabilitation.models import SOURCES as STEP_SOURCES
from reputation.trust.policy import BANDS
from reputation.trust.taxonomy import (
    CONDUCT_KINDS,
    MAX_SEVERITY,
    MIN_SEVERITY,
    REHABILITATION_KINDS,
    Valence,
)

STEP_VERDICTS = (VERIFIED, REJECTED)


class PortalForm(FlaskForm):
    """A form whose text obeys the text rule (reputation/text.py) like every API body."""

    def validate(self, extra_validators: Any = None) -> bool:
        valid = super().validate(extra_validators)
        for field in self:
            if isinstance(field.data, str) and (why := text.fault(field.data)):
                field.errors = [*field.errors, why]
                valid = False
        return valid


class FilterForm(PortalForm):
    """A list's filters, read from the query string: a GET changes nothing, so no CSRF token."""

    class Meta:
        csrf = False


class SignInForm(PortalForm):
    agency = StringField(_l("Agency"), validators=[DataRequired(), Length(max=63)])
    email = EmailField(_l("Email"), validators=[DataRequired(), Length(max=254)])
    password = PasswordField(_l("Password"), validators=[DataRequired(), Length(max=1024)])


class PersonSignInForm(PortalForm):
    email = EmailField(_l("Email"), validators=[DataRequired(), Length(max=254)])
    password = PasswordField(_l("Password"), validators=[DataRequired(), Length(max=1024)])


class AccountCreationForm(PortalForm):
    password = PasswordField(
        _l("Choose a password"),
        description=_l("At least 12 characters."),
        validators=[DataRequired(), Length(min=12, max=1024)],
    )
    confirmation = PasswordField(_l("The same password again"), validators=[DataRequired()])

    def validate_confirmation(self, field: Field) -> None:
        if field.data != self.password.data:
            raise ValidationError(_("The two passwords differ."))


class PasswordForm(PortalForm):
    current_password = PasswordField(
        _l("Current password"), validators=[DataRequired(), Length(max=1024)]
    )
    new_password = PasswordField(
        _l("New password"), validators=[DataRequired(), Length(min=12, max=1024)]
    )


class LanguageForm(PortalForm):
    locale = SelectField(
        _l("Language"),
        choices=[
            SelectChoice("", _l("As my browser asks")),
            SelectChoice("en", "English"),
            SelectChoice("fr", "Français"),
        ],
        validators=[Optional()],
    )


class ContractorSearchForm(FilterForm):
    """The contractors page's filters."""

    q = StringField(_l("Search"), validators=[Optional(), Length(max=200)])
    band = SelectField(
        _l("Band"),
        choices=[SelectChoice("", _l("Any band")), *(SelectChoice(band) for band in BANDS)],
        validators=[Optional()],
    )
    eligible = SelectField(
        _l("Eligibility"),
        choices=[
            SelectChoice("", _l("Anyone")),
            SelectChoice("yes", _l("Eligible")),
            SelectChoice("no", _l("Not yet eligible")),
        ],
        validators=[Optional()],
    )
    tag = StringField(_l("Tag"), validators=[Optional(), Length(max=50)])
    status = SelectField(
        _l("Status"),
        choices=[
            SelectChoice("", _l("Any status")),
            *(SelectChoice(s, labels.CONTRACTOR_STATUSES[s]) for s in CONTRACTOR_STATUSES),
        ],
        validators=[Optional()],
    )
    order = SelectField(
        _l("Sort by"),
        choices=[
            SelectChoice("name", _l("Name, A to Z")),
            SelectChoice("-name", _l("Name, Z to A")),
            SelectChoice("-updated_at", _l("Last changed first")),
        ],
        default="name",
        validators=[Optional()],
    )


# Contractors and their evidence. The rules are the API's (its schemas' limits, the text rule);
# the services keep the rest (an event a step may address, an external reference once only).


def happened(form: Any, field: Field) -> None:
    """When something happened: not in the future (a clock a little ahead is forgiven), not
    before 1970, as the API's `occurred_at` (reputation/api/fields.py)."""
    if field.data is None:
        return
    moment = in_utc(field.data)
    if moment > clock.now() + CLOCK_SKEW:
        raise ValidationError(_l("This is in the future."))
    if moment < EARLIEST:
        raise ValidationError(_l("This is before 1970."))


def in_utc(local: datetime) -> datetime:
    """A time typed in the reader's zone (a `datetime-local` input has none), in UTC."""
    return to_utc(local).replace(tzinfo=UTC)


def as_typed(moment: datetime) -> datetime:
    """A stored time as a `datetime-local` input shows it, in the reader's zone."""
    return to_user_timezone(moment).replace(tzinfo=None)


def typed_now() -> datetime:
    """Now, to the minute, as a `datetime-local` input shows it: a form's default time."""
    return as_typed(clock.now()).replace(second=0, microsecond=0)


def _lines(text_value: str | None) -> list[str]:
    return [line.strip() for line in (text_value or "").splitlines() if line.strip()]


def _text(value: str | None) -> str:
    """A textarea's text with the line breaks stored as the API's: a browser sends CRLF."""
    return (value or "").replace("\r\n", "\n")


def _tags(text_value: str | None) -> list[str]:
    return [tag.strip() for tag in (text_value or "").split(",") if tag.strip()]


def evidence_links(form: Any, field: Field) -> None:
    """Links to the evidence, one a line: each an http:// or https:// URL as the API takes it."""
    links = _lines(field.data)
    if len(links) > MAX_URLS:
        raise ValidationError(_("At most %(max)d links.", max=MAX_URLS))
    for link in links:
        if len(link) > MAX_URL_LENGTH or not re.fullmatch(URL_PATTERN, link):
            raise ValidationError(
                _("Not an http:// or https:// address of printable ASCII: %(link)s", link=link)
            )


def email_address(form: Any, field: Field) -> None:
    """An email address by the API's one rule (EMAIL_PATTERN), on the address the services keep
    (stripped)."""
    if field.data and not re.fullmatch(EMAIL_PATTERN, field.data.strip()):
        raise ValidationError(_l("Not a valid email address."))


def tag_list(form: Any, field: Field) -> None:
    """Tags separated by commas, as many and as long as the API's `tag_list` takes."""
    tags = _tags(field.data)
    if len(tags) > 50:
        raise ValidationError(_l("At most 50 tags."))
    if any(len(tag) > 50 for tag in tags):
        raise ValidationError(_l("A tag has at most 50 characters."))


def _strip(value: Any) -> Any:
    return value.strip() if isinstance(value, str) else value


class ContractorForm(PortalForm):
    """A new contractor: who they are, and how the agency finds them."""

    name = StringField(_l("Name"), filters=[_strip], validators=[DataRequired(), Length(max=200)])
    email = EmailField(
        _l("Email"), filters=[_strip], validators=[Optional(), Length(max=254), email_address]
    )
    external_ref = StringField(
        _l("External reference"),
        filters=[_strip],
        description=_l("The contractor's id in your own systems, if any."),
        validators=[Optional(), Length(max=100)],
    )
    tags = StringField(
        _l("Tags"),
        description=_l("Skills or groups, separated by commas."),
        validators=[Optional(), tag_list],
    )

    def facts(self) -> dict[str, Any]:
        """The contractor as the service takes it."""
        return {
            "name": self.name.data,
            "email": self.email.data or None,
            "external_ref": self.external_ref.data or None,
            "tags": _tags(self.tags.data),
        }


class ContractorEditForm(ContractorForm):
    """A contractor's details and status, changed only if nobody changed them meanwhile."""

    status = SelectField(
        _l("Status"),
        choices=[SelectChoice(s, labels.CONTRACTOR_STATUSES[s]) for s in CONTRACTOR_STATUSES],
    )
    # The version read, sent back: a change made meanwhile is not overwritten unseen.
    version = HiddenField()

    def facts(self) -> dict[str, Any]:
        return {**super().facts(), "status": self.status.data}


# The kinds' and severities' words change with the language only: each list of them is made
# once for each language, not on every request (a kind's label is three lookups in the catalog).


def _severity_choices() -> list[SelectChoice]:
    return _severities(str(get_locale()))


@functools.cache
def _severities(locale: str) -> list[SelectChoice]:
    return [
        SelectChoice("", _("Default for the kind")),
        *(
            SelectChoice(str(level), f"{level} — {labels.severity_label(level)}")
            for level in range(MIN_SEVERITY, MAX_SEVERITY + 1)
        ),
    ]


def conduct_kind_choices(valence: Valence | None = None) -> dict[str, list[SelectChoice]]:
    """Each kind with what it records and its default severity, incidents apart from good
    conduct (or only those of one valence)."""
    return _conduct_kinds(str(get_locale()), valence)


@functools.cache
def _conduct_kinds(locale: str, valence: Valence | None) -> dict[str, list[SelectChoice]]:
    groups = {Valence.NEGATIVE: _("Incidents"), Valence.POSITIVE: _("Good conduct")}
    choices: dict[str, list[SelectChoice]] = {}
    for kind in CONDUCT_KINDS.values():
        if valence is not None and kind.valence is not valence:
            continue
        label = _(
            "%(kind)s — %(description)s (%(severity)s by default)",
            kind=labels.kind_label(kind.name),
            description=labels.kind_description(kind.name),
            severity=labels.severity_label(kind.default_severity),
        )
        choices.setdefault(groups[kind.valence], []).append(SelectChoice(kind.name, label))
    return choices


def step_kind_choices() -> list[SelectChoice]:
    """Each kind of step with what it records."""
    return _step_kinds(str(get_locale()))


@functools.cache
def _step_kinds(locale: str) -> list[SelectChoice]:
    return [
        SelectChoice(
            kind,
            _(
                "%(kind)s — %(description)s",
                kind=labels.kind_label(kind),
                description=labels.kind_description(kind),
            ),
        )
        for kind in REHABILITATION_KINDS
    ]


def _sources(names: tuple[str, ...]) -> list[SelectChoice]:
    # An import records its own source; a person recording by hand names who told them.
    return [SelectChoice(name, labels.SOURCES[name]) for name in names if name != "import"]


class EventForm(PortalForm):
    """A conduct event, as recorded or as amended."""

    kind = RadioField(_l("Kind"), validators=[InputRequired()])
    severity = SelectField(
        _l("Severity"), description=_l("1 is minor, 5 is critical."), validators=[Optional()]
    )
    occurred_at = DateTimeLocalField(
        _l("When it happened"), format="%Y-%m-%dT%H:%M", validators=[InputRequired(), happened]
    )
    summary = StringField(
        _l("Summary"), filters=[_strip], validators=[DataRequired(), Length(max=500)]
    )
    details = TextAreaField(_l("Details"), validators=[Optional(), Length(max=10_000)])
    source = SelectField(_l("Source"), choices=_sources(EVENT_SOURCES))
    evidence_urls = TextAreaField(
        _l("Links to the evidence"),
        description=_l("One http:// or https:// address a line."),
        validators=[evidence_links],
    )

    def __init__(self, *args: Any, valence: Valence | None = None, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.kind.choices = conduct_kind_choices(valence)
        self.severity.choices = _severity_choices()

    def facts(self) -> dict[str, Any]:
        """The event as the service takes it; no severity: the kind's default."""
        facts: dict[str, Any] = {
            "kind": self.kind.data,
            "occurred_at": in_utc(self.occurred_at.data),
            "summary": self.summary.data,
            "details": _text(self.details.data),
            "source": self.source.data,
            "evidence_urls": _lines(self.evidence_urls.data),
        }
        if self.severity.data:
            facts["severity"] = int(self.severity.data)
        return facts


def incident_choices(incidents: Sequence[Any]) -> list[SelectChoice]:
    """The incidents a step or a reference may speak to, as a form offers them."""
    return [
        SelectChoice("", _("None in particular")),
        *(
            SelectChoice(
                str(event.id),
                _(
                    "%(date)s — %(kind)s (%(severity)s): %(summary)s",
                    date=format_date(event.occurred_at),
                    kind=labels.kind_label(event.kind),
                    severity=labels.severity_label(event.severity),
                    summary=event.summary,
                ),
            )
            for event in incidents
        ),
    ]


class AmendForm(EventForm):
    """A new version of an event: its facts, changed, and why."""

    reason = TextAreaField(_l("Why it is amended"), validators=[Optional(), Length(max=2000)])

    @classmethod
    def of(cls, event: Any) -> AmendForm:
        """The form filled with the event as recorded."""
        return cls(
            valence=Valence(event.valence),
            data={
                "kind": event.kind,
                "severity": str(event.severity),
                "occurred_at": as_typed(event.occurred_at).replace(second=0, microsecond=0),
                "summary": event.summary,
                "details": event.details,
                "source": event.source,
                "evidence_urls": "\n".join(event.evidence_urls),
            },
        )

    def changes(self, event: Any) -> dict[str, Any]:
        """What differs from the event as recorded: the service's amendment. A time shown to
        the minute and sent back unchanged keeps its seconds."""
        facts = self.facts()
        shown = as_typed(event.occurred_at).replace(second=0, microsecond=0)
        if self.occurred_at.data == shown:
            facts["occurred_at"] = event.occurred_at
        recorded = event.facts()
        changes = {name: value for name, value in facts.items() if value != recorded[name]}
        if "kind" in changes and self.severity.data:
            # The severity shown stays as chosen; the service would give a new kind its default.
            changes["severity"] = int(self.severity.data)
        if self.reason.data:
            changes["reason"] = _text(self.reason.data)
        return changes


class StepForm(PortalForm):
    """A rehabilitation step, and the incident it addresses."""

    kind = RadioField(_l("Kind"), validators=[InputRequired()])
    addresses_event_id = SelectField(_l("The incident it addresses"), validators=[Optional()])
    occurred_at = DateTimeLocalField(
        _l("When it happened"), format="%Y-%m-%dT%H:%M", validators=[InputRequired(), happened]
    )
    unsolicited = BooleanField(_l("Unsolicited: no job was on the table"))
    description = TextAreaField(_l("Description"), validators=[Optional(), Length(max=10_000)])
    source = SelectField(_l("Source"), choices=_sources(STEP_SOURCES))
    evidence_urls = TextAreaField(
        _l("Links to the evidence"),
        description=_l("One http:// or https:// address a line."),
        validators=[evidence_links],
    )

    def __init__(self, *args: Any, incidents: Sequence[Any] = (), **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.kind.choices = step_kind_choices()
        self.addresses_event_id.choices = incident_choices(incidents)

    def facts(self) -> dict[str, Any]:
        return {
            "kind": self.kind.data,
            "occurred_at": in_utc(self.occurred_at.data),
            "addresses_event_id": uuid.UUID(self.addresses_event_id.data)
            if self.addresses_event_id.data
            else None,
            "unsolicited": bool(self.unsolicited.data),
            "description": _text(self.description.data),
            "source": self.source.data,
            "evidence_urls": _lines(self.evidence_urls.data),
        }


class RetractForm(PortalForm):
    reason = TextAreaField(_l("Why it is retracted"), validators=[DataRequired(), Length(max=2000)])


class VerifyForm(PortalForm):
    """A verdict on a pending step: the button pressed says which."""

    decision = HiddenField(validators=[AnyOf(STEP_VERDICTS)])
    note = TextAreaField(_l("Note"), validators=[Optional(), Length(max=2000)])


class DecisionForm(PortalForm):
    decision = SelectField(
        _l("Decision"), choices=[SelectChoice(d, labels.DECISIONS[d]) for d in DECISIONS]
    )
    reason = TextAreaField(_l("Reason"), validators=[DataRequired(), Length(max=5000)])
