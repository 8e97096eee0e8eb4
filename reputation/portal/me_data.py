"""A contractor's rights over their data, from their own pages: download everything held about
them (the API's export, as a file), and ask an agency to erase its record. The request is a
small form under each record of /me (portal/me.html), then a redirect back to it; a refused one
comes back on the page, its errors beside its field, nothing written."""

from __future__ import annotations

import uuid
from typing import Any

from flask import flash, g, jsonify, redirect, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from wtforms import TextAreaField
from wtforms.validators import Length, Optional

from reputation import clock
from reputation.erasure import service as erasure
from reputation.erasure.models import MAX_TEXT
from reputation.erasure.schemas import PersonExportSchema
from reputation.errors import Conflict, Invalid
from reputation.extensions import db
from reputation.persons import export
from reputation.persons import service as persons
from reputation.portal.blueprint import field_error, portal
from reputation.portal.forms import PortalForm
from reputation.portal.me import person_home, person_only
from reputation.tenancy.models import Agency


class ErasureForm(PortalForm):
    reason = TextAreaField(
        _l("Why (optional)"),
        description=_l("The agency's owners read it with your request."),
        validators=[Optional(), Length(max=MAX_TEXT)],
    )


def _prefix(record_id: uuid.UUID) -> str:
    """One form per record on the same page: each its own field ids."""
    return f"erasure-{record_id}"


def _text(value: str | None) -> str:
    return (value or "").replace("\r\n", "\n")  # a browser sends CRLF; the API's text has LF


@portal.app_template_global()
def record_erasure(record_id: uuid.UUID) -> dict[str, Any]:
    """What /me shows of a record's erasure: its latest request, and the form to ask (fresh, or
    the one just refused with its errors and what was typed)."""
    with persons.within(persons.link_of(g.person, record_id)) as contractor:
        latest = erasure.latest_request(contractor)
    refused = g.get("refused_erasure_forms", {})
    form = refused.get(record_id) or ErasureForm(formdata=None, prefix=_prefix(record_id))
    return {"latest": latest, "form": form}


@portal.route("/me/export")
@person_only
def person_export() -> Any:
    """Everything held about the person, as the API's JSON file."""
    document = PersonExportSchema().dump(export.export_person(g.person))
    response = jsonify(document)
    response.headers.update(export.download_headers(clock.now()))
    return response


@portal.route("/me/records/<uuid:record_id>/erasure-requests", methods=["POST"])
@person_only
def person_erasure_form(record_id: uuid.UUID) -> Any:
    """Ask the record's agency to erase it; its owners decide, and the person gets their
    answer by email."""
    with persons.within(persons.link_of(g.person, record_id)) as contractor:
        form = ErasureForm(prefix=_prefix(record_id))
        status = 422
        if form.validate_on_submit():
            try:
                erasure.request_erasure(g.person, contractor, _text(form.reason.data))
            except (Conflict, Invalid) as refused:
                field_error(form, refused)
                status = 409 if isinstance(refused, Conflict) else 422
            else:
                agency = db.session.get(Agency, contractor.agency_id)
                assert agency is not None
                flash(
                    _(
                        "Your request to erase the record is sent to %(agency)s's owners. You "
                        "will get their answer by email.",
                        agency=agency.name,
                    )
                )
                return redirect(url_for("portal.person_home"))
    g.refused_erasure_forms = {record_id: form}
    return person_home(), status
