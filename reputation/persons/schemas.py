from __future__ import annotations

import marshmallow as ma
from marshmallow import validate

from reputation.conduct.schemas import EventSchema
from reputation.contractors.schemas import ContractorSchema
from reputation.decisions.schemas import DecisionSchema
from reputation.rehabilitation.schemas import StepSchema
from reputation.scoring.schemas import AssessmentSchema, TrajectorySchema

# What a one-time link carries: token_urlsafe(32) is 43 characters.
TOKEN = validate.Length(min=1, max=100)


class InvitationSchema(ma.Schema):
    id = ma.fields.String()
    contractor_id = ma.fields.String()
    email = ma.fields.String(metadata={"description": "Where the one-time link was sent"})
    created_at = ma.fields.DateTime()
    expires_at = ma.fields.DateTime()


class SignupSchema(ma.Schema):
    token = ma.fields.String(required=True, validate=TOKEN, metadata={"description": "The link's"})
    password = ma.fields.String(
        required=True, load_only=True, validate=validate.Length(min=12, max=1024)
    )


class PersonLoginSchema(ma.Schema):
    email = ma.fields.String(required=True, validate=validate.Length(min=1, max=254))
    password = ma.fields.String(
        required=True, load_only=True, validate=validate.Length(min=1, max=1024)
    )


class LinkSchema(ma.Schema):
    token = ma.fields.String(required=True, validate=TOKEN)


class PersonSchema(ma.Schema):
    id = ma.fields.String()
    email = ma.fields.String()
    created_at = ma.fields.DateTime()


class AgencyNameSchema(ma.Schema):
    id = ma.fields.String()
    name = ma.fields.String()


class RecordSummarySchema(ma.Schema):
    """One agency's record of the person: who holds it, and its assessment."""

    id = ma.fields.String(metadata={"description": "The record (the agency's contractor id)"})
    agency = ma.fields.Nested(AgencyNameSchema)
    contractor = ma.fields.Nested(ContractorSchema)
    linked_at = ma.fields.DateTime()
    assessment = ma.fields.Nested(AssessmentSchema)


class RecordSchema(RecordSummarySchema):
    """Everything the agency holds and sees about the person: the evidence with who recorded
    what and when, the assessment and its explanation, the trajectory, and the decisions."""

    events = ma.fields.List(ma.fields.Nested(EventSchema))
    steps = ma.fields.List(ma.fields.Nested(StepSchema))
    trajectory = ma.fields.Nested(TrajectorySchema)
    decisions = ma.fields.List(ma.fields.Nested(DecisionSchema))
