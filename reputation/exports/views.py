from __future__ import annotations

import uuid
from typing import Any

from flask import send_file, url_for
from flask.views import MethodView

from reputation.api.blueprint import Blueprint, ProblemSchema
from reputation.api.pagination import PageArgs, page_schema, paginate
from reputation.api.problems import PROBLEM_JSON
from reputation.exports import service
from reputation.exports.models import Export
from reputation.exports.rows import MEDIA_TYPES
from reputation.exports.schemas import ExportCreateSchema, ExportSchema
from reputation.tenancy.auth import signed_in
from reputation.tenancy.lookup import get_or_404

exports = Blueprint("exports", __name__, url_prefix="/api/v1/exports", description="Bulk exports")


@exports.route("")
class Exports(MethodView):
    @signed_in
    @exports.arguments(PageArgs, location="query")
    @exports.response(200, page_schema(ExportSchema))
    def get(self, page: dict[str, int]) -> Any:
        """The agency's exports, newest first."""
        return paginate(service.search(), page["page"], page["per_page"])

    @signed_in
    @exports.arguments(ExportCreateSchema)
    @exports.response(202, ExportSchema)
    def post(self, body: dict[str, Any]) -> Any:
        """Export the agency's contractors, events (every version), rehabilitation steps,
        assessments or trajectory points as CSV or JSONL, written by a background job; follow
        it at the `Location` and download it, for seven days, from its `download_url`.

        A CSV's text cells that start like a spreadsheet formula are written after a single
        quote, so that opening the file runs nothing; `"neutralise_formulas": false` asks for
        the exact text. JSONL is always exact.

        Exports are reads, so any of the agency's staff (viewers too) and any of its API keys
        (the read scope is enough) may start one."""
        record = service.start_export(**body)
        return record, {"Location": url_for("exports.get_export", export_id=record.id)}


@exports.route("/<uuid:export_id>", methods=["GET"])
@signed_in
@exports.response(200, ExportSchema)
def get_export(export_id: uuid.UUID) -> Any:
    """An export's progress (`rows_done`) and, once done, its `download_url`."""
    return get_or_404(Export, export_id, "export")


@exports.route("/<uuid:export_id>/download", methods=["GET"])
@signed_in
@exports.doc(
    responses={
        "200": {
            "description": "The file: CSV with a header row, or JSONL (one object a line)",
            "content": {
                media_type: {"schema": {"type": "string"}} for media_type in MEDIA_TYPES.values()
            },
        },
    }
)
@exports.alt_response(409, schema=ProblemSchema, content_type=PROBLEM_JSON, description="Not done")
@exports.alt_response(410, schema=ProblemSchema, content_type=PROBLEM_JSON, description="Expired")
def download(export_id: uuid.UUID) -> Any:
    """The export's file, once done and for seven days after."""
    record = get_or_404(Export, export_id, "export")
    response = send_file(
        service.open_download(record),
        mimetype=MEDIA_TYPES[record.format],
        as_attachment=True,
        download_name=service.download_name(record),
    )
    # The agency's own data: no shared cache keeps a copy.
    response.cache_control.private = True
    response.cache_control.no_store = True
    return response
