"""The agency's audit log, for its owners, admins and viewers: newest first, filtered by action,
by who acted and by period, each entry in plain words."""

from __future__ import annotations

import json
import uuid
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

from flask import render_template, request
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from wtforms import DateField, SelectField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import Optional, ValidationError

from reputation.api.pagination import paginate
from reputation.audit.models import AuditEntry
from reputation.audit.service import search_audit
from reputation.contractors import service as contractors
from reputation.extensions import db
from reputation.portal import labels
from reputation.portal.blueprint import PER_PAGE, audit_readers_only, portal, requested_page
from reputation.portal.forms import FilterForm
from reputation.tenancy import service as tenancy

# Every action the services record (`record_audit`), in words; an action missing here is shown
# by its name, and a test finds the literal ones that lack a label.
ACTIONS = {
    "agency.created": _l("Agency created"),
    "auth.login": _l("Signed in"),
    "user.created": _l("Staff member added"),
    "user.updated": _l("Staff member changed"),
    "user.password_changed": _l("Own password changed"),
    "api_key.created": _l("API key created"),
    "api_key.revoked": _l("API key revoked"),
    "contractor.created": _l("Contractor added"),
    "contractor.updated": _l("Contractor changed"),
    "conduct_event.recorded": _l("Conduct event recorded"),
    "conduct_event.retracted": _l("Conduct event retracted"),
    "conduct_event.amended": _l("Conduct event amended"),
    "rehabilitation.recorded": _l("Rehabilitation step recorded"),
    "rehabilitation.verified": _l("Rehabilitation step verified"),
    "rehabilitation.rejected": _l("Rehabilitation step rejected"),
    "decision.recorded": _l("Decision recorded"),
    "policy.changed": _l("Scoring policy changed"),
    "policy.simulated": _l("Scoring policy simulated"),
    "import.created": _l("Import started"),
    "import.completed": _l("Import completed"),
    "import.failed": _l("Import failed"),
    "export.created": _l("Export started"),
    "export.done": _l("Export completed"),
    "export.failed": _l("Export failed"),
    "webhook_endpoint.created": _l("Webhook endpoint added"),
    "webhook_endpoint.changed": _l("Webhook endpoint changed"),
    "webhook_endpoint.deleted": _l("Webhook endpoint deleted"),
    "webhook_endpoint.secret_rotated": _l("Webhook secret rotated"),
    "webhook_endpoint.recovered": _l("Webhook deliveries recovered"),
    "endpoint.disabled": _l("Webhook endpoint disabled"),
    "webhook_message.retried": _l("Webhook delivery retried"),
    "invitation.created": _l("Contractor invited to see their record"),
    "person.linked": _l("Record linked to the contractor's account"),
    "person.exported": _l("Contractor downloaded their data"),
    "statement.added": _l("Statement added"),
    "dispute.opened": _l("Dispute opened"),
    "dispute.resolved": _l("Dispute resolved"),
    "reference.requested": _l("Reference requested"),
    "reference.answered": _l("Reference answered"),
    "erasure.requested": _l("Erasure requested"),
    "erasure.refused": _l("Erasure refused"),
    "erasure.carried_out": _l("Erasure carried out"),
}

OBJECTS = {
    "agency": _l("Agency"),
    "user": _l("Staff member"),
    "api_key": _l("API key"),
    "contractor": _l("Contractor"),
    "conduct_event": _l("Conduct event"),
    "rehabilitation_step": _l("Rehabilitation step"),
    "decision": _l("Decision"),
    "policy": _l("Scoring policy"),
    "policy_simulation": _l("Policy simulation"),
    "import": _l("Import"),
    "export": _l("Export"),
    "webhook_endpoint": _l("Webhook endpoint"),
    "webhook_message": _l("Webhook message"),
    "dispute": _l("Dispute"),
    "erasure_request": _l("Erasure request"),
}

# The names in an entry's details; one missing here is shown as it is stored.
DETAILS = {
    "active": _l("Access"),
    "amended_by": _l("Amended by"),
    "bytes": _l("Bytes"),
    "contractor_id": _l("Contractor"),
    "decision": _l("Decision"),
    "email": _l("Email"),
    "external_ref": _l("External reference"),
    "fields": _l("Fields"),
    "filename": _l("File"),
    "format": _l("Format"),
    "kind": _l("Kind"),
    "messages": _l("Messages"),
    "name": _l("Name"),
    "neutralise_formulas": _l("Spreadsheet formulas neutralised"),
    "note": _l("Note"),
    "overrides": _l("Changed numbers"),
    "password": _l("Password"),
    "reason": _l("Reason"),
    "role": _l("Role"),
    "rows_done": _l("Rows done"),
    "rows_failed": _l("Rows failed"),
    "scopes": _l("Access"),
    "since": _l("Since"),
    "slug": _l("Slug"),
    "status": _l("Status"),
    "tags": _l("Tags"),
    "url": _l("Address"),
    "what": _l("What"),
}


class AuditFilterForm(FilterForm):
    """The log's filters."""

    action = SelectField(_l("Action"), validators=[Optional()])
    actor = SelectField(_l("Who"), validators=[Optional()])
    since = DateField(_l("From"), validators=[Optional()])
    until = DateField(_l("To"), validators=[Optional()])

    def validate_until(self, field: DateField) -> None:
        if self.since.data and field.data and field.data < self.since.data:
            raise ValidationError(_("The end of the period comes before its start."))


def _start_of(day: date) -> datetime:
    return datetime.combine(day, time.min, tzinfo=UTC)


def _end_of(day: date) -> datetime | None:
    """The moment after `day`, which the period takes in whole; the calendar's last day has
    none, and then the period has no end."""
    return _start_of(day + timedelta(days=1)) if day < date.max else None


@portal.route("/audit")
@audit_readers_only
def audit_page() -> Any:
    """The agency's audit log, filtered, a page at a time; dates are whole UTC days."""
    emails = {str(user.id): user.email for user in db.session.scalars(tenancy.staff())}
    key_names = {str(key.id): key.name for key in db.session.scalars(tenancy.api_keys())}
    actors = emails | {key: _("API key %(name)s", name=name) for key, name in key_names.items()}
    form = AuditFilterForm(request.args)
    form.action.choices = [
        SelectChoice("", _("Any action")),
        *sorted(
            (SelectChoice(action, str(label)) for action, label in ACTIONS.items()),
            key=lambda choice: choice.label,
        ),
    ]
    form.actor.choices = [
        SelectChoice("", _("Anyone")),
        *(SelectChoice(actor, name) for actor, name in actors.items()),
    ]
    if not form.validate():
        return render_template("portal/audit.html", form=form, page=None), 422
    statement = search_audit(
        action=form.action.data or None,
        actor_id=form.actor.data or None,
        since=_start_of(form.since.data) if form.since.data else None,
        until=_end_of(form.until.data) if form.until.data else None,
    )
    page = paginate(statement, requested_page(), PER_PAGE)
    names = emails | key_names | _contractor_names(page["items"])
    return render_template(
        "portal/audit.html",
        form=form,
        page=page,
        entries=[_in_words(entry, actors, names) for entry in page["items"]],
    )


def _contractor_names(entries: list[AuditEntry]) -> dict[str, str]:
    """The names of the contractors these entries are about, by id."""
    ids = {uuid.UUID(e.object_id) for e in entries if e.object_type == "contractor"}
    return {str(contractor_id): name for contractor_id, name in contractors.names_of(ids).items()}


def _in_words(entry: AuditEntry, actors: dict[str, str], names: dict[str, str]) -> dict[str, Any]:
    """An entry as the page says it: who, what, on what (named where the object has a name),
    and the details."""
    if entry.actor_type == "system":
        who = _("The service")
    else:
        who = actors.get(entry.actor_id or "", entry.actor_label)
    return {
        "entry": entry,
        "who": who,
        "what": str(ACTIONS.get(entry.action, entry.action)),
        "object": str(OBJECTS.get(entry.object_type, entry.object_type)),
        "object_name": names.get(entry.object_id, ""),
        "details": _details(entry),
    }


def _details(entry: AuditEntry) -> list[tuple[str, str]]:
    # A change (`….updated`) records each field as [before, after]. By name: PostgreSQL's jsonb
    # keeps no order of its own.
    change = entry.action.endswith(".updated")
    shown = []
    for name, value in sorted((entry.details or {}).items()):
        if change and isinstance(value, list) and len(value) == 2:
            words = f"{_value(name, value[0])} → {_value(name, value[1])}"
        else:
            words = _value(name, value)
        shown.append((str(DETAILS.get(name, name)), words))
    return shown


def _value(name: str, value: Any) -> str:
    if name == "role" and isinstance(value, str):
        return labels.role_label(value)
    if name == "scopes" and isinstance(value, list):
        return labels.scopes_label(value)
    if name == "kind" and isinstance(value, str):
        return labels.kind_label(value)
    if name == "active" and isinstance(value, bool):
        return _("may sign in") if value else _("deactivated")
    if name == "password":
        return _("set by a manager")
    if value is None:
        return _("not set")
    if isinstance(value, bool):
        return _("yes") if value else _("no")
    if isinstance(value, list):
        return ", ".join(str(item) for item in value)
    if isinstance(value, dict):
        return json.dumps(value, ensure_ascii=False, sort_keys=True)
    return str(value)
