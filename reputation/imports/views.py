from __future__ import annotations

import io
import uuid
from typing import Any

from flask import request, url_for
from werkzeug.exceptions import RequestEntityTooLarge

from reputation.api import idempotency
from reputation.api.blueprint import Blueprint
from reputation.api.pagination import PageArgs
from reputation.api.problems import ApiError
from reputation.errors import Invalid
from reputation.imports import service
from reputation.imports.models import Import
from reputation.imports.schemas import ImportSchema, UploadArgs
from reputation.tenancy.auth import evidence_writer, signed_in
from reputation.tenancy.lookup import get_or_404

imports = Blueprint("imports", __name__, url_prefix="/api/v1/imports", description="ATS imports")

FORMAT_OF = {
    "text/csv": "csv",
    "application/jsonl": "jsonl",
    "application/x-ndjson": "jsonl",
    "application/jsonlines": "jsonl",
}


@imports.route("", methods=["POST"])
@evidence_writer
@imports.arguments(UploadArgs, location="query")
@imports.response(202, ImportSchema)
@imports.doc(
    requestBody={
        "required": True,
        "content": {
            "text/csv": {"schema": {"type": "string", "format": "binary", "minLength": 1}},
            "application/x-ndjson": {
                "schema": {"type": "string", "format": "binary", "minLength": 1}
            },
            "multipart/form-data": {
                "schema": {
                    "type": "object",
                    "properties": {"file": {"type": "string", "format": "binary"}},
                    "required": ["file"],
                }
            },
        },
    }
)
def upload(args: dict[str, Any]) -> Any:
    """Upload a CSV or JSONL file of contractors, events and steps (see the README for the
    columns). It is applied by a background job; follow its progress at the `Location`."""
    filename = args["filename"]
    if request.mimetype == "multipart/form-data":
        file = request.files.get("file")
        if file is None:
            raise Invalid("file", "Send the file in the `file` field.")
        filename = file.filename or filename
        stream = file.stream
        guessed = service.format_of(filename)
    elif request.headers.get(idempotency.HEADER):
        # The Idempotency-Key's fingerprint has read the body already (it is kept in memory).
        body, limit = request.get_data(), request.max_content_length
        if limit is not None and request.content_length is None and len(body) >= limit:
            # Reading a whole stream, Werkzeug stops at the limit without a word: a body of
            # unknown length that reached it was cut there, and is refused as a longer one is.
            raise RequestEntityTooLarge()
        stream = io.BytesIO(body)
        guessed = FORMAT_OF.get(request.mimetype)
    else:
        stream = request.stream
        guessed = FORMAT_OF.get(request.mimetype)
    format = args.get("format") or guessed
    if format is None:
        raise ApiError(
            415,
            "Send text/csv or application/x-ndjson, or multipart/form-data with a `file`.",
            field="Content-Type",
            location="headers",
        )
    record = service.create_import(filename, format, stream)
    return service.with_errors(record, 1, 0), {
        "Location": url_for("imports.get_import", import_id=record.id)
    }


@imports.route("/<uuid:import_id>", methods=["GET"])
@signed_in
@imports.arguments(PageArgs, location="query")
@imports.response(200, ImportSchema)
def get_import(page: dict[str, int], import_id: uuid.UUID) -> Any:
    """An import's progress, and a page of the rows it could not apply."""
    record = get_or_404(Import, import_id, "import")
    return service.with_errors(record, page["page"], page["per_page"])
