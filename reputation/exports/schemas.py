from __future__ import annotations

import marshmallow as ma
from flask import url_for

from reputation.api.fields import StrictBoolean, Timestamp, one_of
from reputation.exports import service
from reputation.exports.models import Export
from reputation.exports.rows import FORMATS, WHATS


class ExportSchema(ma.Schema):
    id = ma.fields.String()
    what = ma.fields.String()
    format = ma.fields.String()
    since = ma.fields.DateTime(allow_none=True)
    neutralise_formulas = ma.fields.Boolean(
        metadata={
            "description": "Whether the CSV's text cells that start like a spreadsheet formula "
            "(=, +, -, @, TAB, CR) were written after a single quote; false for JSONL"
        }
    )
    status = ma.fields.String(metadata={"description": "queued, running, done or failed"})
    rows_done = ma.fields.Integer()
    error = ma.fields.String(allow_none=True)
    created_at = ma.fields.DateTime()
    started_at = ma.fields.DateTime(allow_none=True)
    finished_at = ma.fields.DateTime(allow_none=True)
    expires_at = ma.fields.DateTime(
        allow_none=True, metadata={"description": "Seven days after it finished"}
    )
    recorded_by = ma.fields.String()
    download_url = ma.fields.Method(
        "_download_url",
        allow_none=True,
        metadata={"description": "Once done, until it expires"},
    )

    def _download_url(self, record: Export) -> str | None:
        if not service.downloadable(record):
            return None
        return url_for("exports.download", export_id=record.id)


class ExportCreateSchema(ma.Schema):
    what = one_of(WHATS, "kind of export", required=True)
    format = one_of(FORMATS, "format", required=True)
    since = Timestamp(
        load_default=None,
        allow_none=True,
        metadata={
            "description": "ISO 8601 with a time zone: only what was recorded (contractors, "
            "events, rehabilitation) or computed (assessments, trajectories) at or after it"
        },
    )
    neutralise_formulas = StrictBoolean(
        load_default=None,
        allow_none=True,
        metadata={
            "description": "CSV only, true by default: write a text cell that starts like a "
            "spreadsheet formula (=, +, -, @, TAB, CR) after a single quote, so that opening "
            "the file in a spreadsheet runs nothing. False for the exact text, for a parser "
            "of your own; JSONL is always exact"
        },
    )
