from __future__ import annotations

import marshmallow as ma

from reputation.api.fields import one_of, text
from reputation.imports.rows import FORMATS


class RowErrorSchema(ma.Schema):
    row = ma.fields.Integer(attribute="row_number")
    field = ma.fields.String(allow_none=True)
    message = ma.fields.String()


class ImportSchema(ma.Schema):
    id = ma.fields.String()
    filename = ma.fields.String()
    format = ma.fields.String()
    size_bytes = ma.fields.Integer()
    status = ma.fields.String(metadata={"description": "queued, running, completed or failed"})
    rows_total = ma.fields.Integer(allow_none=True)
    rows_done = ma.fields.Integer()
    rows_failed = ma.fields.Integer()
    failure = ma.fields.String(allow_none=True)
    created_at = ma.fields.DateTime()
    started_at = ma.fields.DateTime(allow_none=True)
    finished_at = ma.fields.DateTime(allow_none=True)
    recorded_by = ma.fields.String()
    errors = ma.fields.List(
        ma.fields.Nested(RowErrorSchema),
        metadata={"description": "A page of the rows not applied (see `page`, `per_page`)"},
    )


class UploadArgs(ma.Schema):
    format = one_of(FORMATS, "format", metadata={"description": "Else from the Content-Type"})
    filename = text(255, load_default="upload")
