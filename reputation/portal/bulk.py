"""Imports and exports: the agency's evidence in and out in bulk.

Who may do what is the API's rule: any of the agency's staff follows an import and exports (an
export is a read), only those who write evidence upload an import. A running import or export
is followed live: htmx asks for its progress again until it has ended.
"""

from __future__ import annotations

import uuid
from datetime import UTC
from typing import Any

import marshmallow as ma
from flask import current_app, flash, redirect, render_template, request, send_file, url_for
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_wtf.file import FileField, FileRequired
from werkzeug.exceptions import RequestEntityTooLarge
from wtforms import BooleanField, DateTimeLocalField, SelectField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import DataRequired, Optional

from reputation.api.pagination import paginate
from reputation.errors import Invalid
from reputation.exports import service as exports
from reputation.exports.models import Export
from reputation.exports.rows import FORMATS, MEDIA_TYPES, WHATS
from reputation.exports.schemas import ExportCreateSchema
from reputation.imports import service as imports
from reputation.imports.models import QUEUED, RUNNING, Import
from reputation.imports.rows import FORMATS as IMPORT_FORMATS
from reputation.portal.blueprint import (
    PER_PAGE,
    error_page,
    field_error,
    page_or_part,
    portal,
    requested_page,
    schema_errors,
    staff_only,
    writers_only,
)
from reputation.portal.forms import PortalForm
from reputation.portal.labels import JOB_STATUSES
from reputation.tenancy.lookup import get_or_404

UNFINISHED = (QUEUED, RUNNING)

# What an export holds (exports/rows.py), in the reader's words.
EXPORT_WHATS = {
    "contractors": _l("Contractors"),
    "events": _l("Conduct events (every version)"),
    "rehabilitation": _l("Rehabilitation steps"),
    "assessments": _l("Assessments"),
    "trajectories": _l("Trajectory points"),
}
FORMAT_LABELS = {"csv": _l("CSV"), "jsonl": _l("JSONL (one JSON object a line)")}


# Imports.


class ImportForm(PortalForm):
    file = FileField(
        _l("File (CSV or JSONL)"), validators=[FileRequired(_l("Choose the file to import."))]
    )
    format = SelectField(_l("Format"), validators=[Optional()])

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.format.choices = [
            SelectChoice("", _("As the file name says")),
            *(SelectChoice(name, str(FORMAT_LABELS[name])) for name in IMPORT_FORMATS),
        ]


@portal.before_app_request
def _uploads_may_be_large() -> None:
    # An import's file may be as large as the API takes (IMPORT_MAX_BYTES), not the 1 MiB of a
    # form; set before the CSRF check reads the form (portal/blueprint.py).
    if request.endpoint == "portal.upload_import":
        request.max_content_length = current_app.config["IMPORT_MAX_BYTES"]


@portal.errorhandler(RequestEntityTooLarge)
def _upload_too_large(error: RequestEntityTooLarge) -> Any:
    if request.endpoint != "portal.upload_import":
        return error_page(400, str(error.description))
    form = ImportForm(formdata=None)
    size = current_app.config["IMPORT_MAX_BYTES"] // (1024 * 1024)
    form.file.errors = [_("The file is larger than %(size)d MiB; split it.", size=size)]
    return _imports_page(form), 413


def _imports_page(form: ImportForm) -> str:
    page = paginate(imports.search(), requested_page(), PER_PAGE)
    return render_template("portal/imports.html", form=form, page=page, statuses=JOB_STATUSES)


@portal.route("/imports")
@staff_only
def imports_page() -> Any:
    """The agency's imports, newest first, and the upload form for those who write evidence."""
    return _imports_page(ImportForm())


@portal.route("/imports", methods=["POST"])
@writers_only
def upload_import() -> Any:
    """Store an uploaded file and queue its import; its page follows the progress."""
    form = ImportForm()
    if form.validate_on_submit():
        upload = form.file.data
        filename = upload.filename or "upload"
        try:
            record = imports.create_import(
                filename, form.format.data or imports.format_of(filename), upload.stream
            )
        except Invalid as refused:
            # The service names the file or its name; both are the one field here.
            field = "file" if refused.field in ("file", "filename") else refused.field
            field_error(form, Invalid(field, refused.detail))
        else:
            flash(_("The file is uploaded; its rows are being applied."))
            return redirect(url_for("portal.import_page", import_id=record.id))
    return _imports_page(form), 422


@portal.route("/imports/<uuid:import_id>")
@staff_only
def import_page(import_id: uuid.UUID) -> Any:
    """An import's progress, followed live while it runs, and the rows it could not apply."""
    record = get_or_404(Import, import_id, "import")
    errors = paginate(imports.row_errors(record), requested_page(), PER_PAGE)
    return render_template(
        page_or_part("portal/import.html", "portal/_import_progress.html"),
        record=record,
        errors=errors,
        following=record.status in UNFINISHED,
        statuses=JOB_STATUSES,
    )


# Exports.


class ExportForm(PortalForm):
    what = SelectField(_l("What to export"), validators=[DataRequired()])
    format = SelectField(_l("Format"), validators=[DataRequired()])
    since = DateTimeLocalField(
        _l("Only what changed since (UTC, optional)"), validators=[Optional()]
    )
    neutralise_formulas = BooleanField(
        _l("Safe for spreadsheets: text that starts like a formula is kept as text (CSV only)"),
        default=True,
    )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.what.choices = [SelectChoice(name, str(EXPORT_WHATS[name])) for name in WHATS]
        self.format.choices = [SelectChoice(name, str(FORMAT_LABELS[name])) for name in FORMATS]

    def body(self) -> dict[str, Any]:
        """The form's values as the API's body. The spreadsheet safety is a CSV's only: for
        JSONL, always verbatim, the box says nothing."""
        since = self.since.data
        return {
            "what": self.what.data,
            "format": self.format.data,
            "since": since.replace(tzinfo=UTC).isoformat() if since else None,
            "neutralise_formulas": (
                bool(self.neutralise_formulas.data) if self.format.data == "csv" else None
            ),
        }


def _exports_page(form: ExportForm) -> str:
    page = paginate(exports.search(), requested_page(), PER_PAGE)
    return render_template(
        page_or_part("portal/exports.html", "portal/_exports_list.html"),
        form=form,
        page=page,
        following=any(record.status in UNFINISHED for record in page["items"]),
        statuses=JOB_STATUSES,
        whats=EXPORT_WHATS,
        formats=FORMAT_LABELS,
        downloadable=exports.downloadable,
    )


@portal.route("/exports", methods=["GET", "POST"])
@staff_only
def exports_page() -> Any:
    """Start an export (any staff: it is a read), and the agency's exports, newest first, each
    followed live until its file is ready to download."""
    form = ExportForm()
    if form.validate_on_submit():
        try:
            body = ExportCreateSchema().load(form.body())
            exports.start_export(**body)
        except ma.ValidationError as refused:
            schema_errors(form, refused)
        except Invalid as refused:
            field_error(form, refused)
        else:
            flash(_("The export has started; its file can be downloaded below once it is ready."))
            return redirect(url_for("portal.exports_page"))
        return _exports_page(form), 422
    if form.is_submitted():
        return _exports_page(form), 422
    return _exports_page(form)


@portal.route("/exports/<uuid:export_id>/download")
@staff_only
def download_export(export_id: uuid.UUID) -> Any:
    """The export's file, streamed, once done and until it expires (the API's checks)."""
    record = get_or_404(Export, export_id, "export")
    response = send_file(
        exports.open_download(record),
        mimetype=MEDIA_TYPES[record.format],
        as_attachment=True,
        download_name=exports.download_name(record),
    )
    # The agency's own data: no shared cache keeps a copy.
    response.cache_control.private = True
    response.cache_control.no_store = True
    return response
