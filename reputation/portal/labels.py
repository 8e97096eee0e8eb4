"""The words the portal shows for the service's names (kinds, bands, severities, statuses, sources,
decisions; staff roles and API key scopes; the statuses of imports, exports and webhook
deliveries) and the plain sentences it makes of an assessment's blockers and next steps.

Each is a literal here so that the catalogs (reputation/translations) carry it; the taxonomy
itself (reputation/trust/taxonomy.py) stays the one source of the names and numbers, and a test
checks that every name it has is labelled here. The model's blockers carry English `detail`
text; the pages speak from their codes instead, in the reader's language.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any, Protocol

from flask_babel import format_date, format_decimal, format_number, ngettext
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from markupsafe import Markup

from reputation.exports.models import DONE
from reputation.imports.models import COMPLETED, FAILED, QUEUED, RUNNING
from reputation.roles import Role, Scope
from reputation.webhooks.models import FAILED as DELIVERY_FAILED
from reputation.webhooks.models import PENDING as DELIVERY_PENDING
from reputation.webhooks.models import SUCCEEDED as DELIVERY_SUCCEEDED


class Incident(Protocol):
    """What a sentence needs of a conduct event to name it."""

    kind: str
    severity: int
    occurred_at: datetime


# Kind: (label, what it records), from TRUST_MODEL.md §2.
CONDUCT_KINDS = {
    "rudeness": (
        _l("Rudeness"),
        _l("rude or abusive towards a client, recruiter or colleague"),
    ),
    "misrepresentation": (
        _l("Misrepresentation"),
        _l("CV or claims that bend the truth; CVs that contradict each other"),
    ),
    "ghosting": (
        _l("Ghosting"),
        _l("disappeared from an interview process or an engagement"),
    ),
    "false_excuse": (_l("False excuse"), _l("came back later with an excuse that proved false")),
    "unresponsive": (
        _l("Unresponsive"),
        _l("ignored a recruiter's or employer's solicitation"),
    ),
    "broken_commitment": (
        _l("Broken commitment"),
        _l("did not do what they said, without warning in advance"),
    ),
    "costly_mistake": (
        _l("Costly mistake"),
        _l("an error that seriously harmed a client's project"),
    ),
    "concealed_mistake": (
        _l("Concealed mistake"),
        _l("swept a mistake under the rug instead of raising it"),
    ),
    "blame_shifting": (_l("Blame shifting"), _l("blamed teammates for their own error")),
    "unethical_conduct": (
        _l("Unethical conduct"),
        _l("unethical or extremely unprofessional conduct: the burned bridge"),
    ),
    "commitment_kept": (_l("Commitment kept"), _l("delivered what was promised")),
    "early_warning": (
        _l("Early warning"),
        _l("warned honestly, in advance, that they could not deliver"),
    ),
    "responsive": (_l("Responsive"), _l('answered a solicitation, even with a polite "not now"')),
    "mistake_owned": (_l("Mistake owned"), _l("raised and owned their own mistake promptly")),
    "client_commendation": (_l("Client commendation"), _l("praise from a client")),
    "long_term_engagement": (
        _l("Long-term engagement"),
        _l("a lasting or repeated engagement that went well"),
    ),
}

REHABILITATION_KINDS = {
    "acknowledgement": (
        _l("Acknowledgement"),
        _l("took responsibility and apologised, without blaming the other side"),
    ),
    "outreach": (
        _l("Outreach"),
        _l(
            "reached out to repair the relationship "
            "(x2 weight when unsolicited: no job was on the table)"
        ),
    ),
    "listening": (
        _l("Listening"),
        _l("heard how their conduct affected the other side, and agreed a plan"),
    ),
    "remediation": (
        _l("Remediation"),
        _l("worked on a concrete fix, unbilled extra hours included"),
    ),
    "goodwill_gesture": (
        _l("Goodwill gesture"),
        _l("extra hours, a lowered rate, or another gesture"),
    ),
    "reference": (
        _l("Reference"),
        _l("a reference or recommendation from a client or colleague"),
    ),
    "training": (_l("Training"), _l("a course or certification relevant to the incident")),
    "probation_completed": (
        _l("Probation completed"),
        _l("a trial engagement completed without incident"),
    ),
    "follow_up": (_l("Follow-up"), _l("follow-through kept up over time")),
}

# Band: (label, what it means), TRUST_MODEL.md §5.
BANDS = {
    "insufficient_evidence": (
        _l("Insufficient evidence"),
        _l("too little evidence to say either way"),
    ),
    "trusted": (_l("Trusted"), _l("a record of reliable conduct")),
    "good_standing": (_l("Good standing"), _l("reliable on the whole")),
    "rebuilding": (_l("Rebuilding"), _l("making amends after an incident")),
    "caution": (_l("Caution"), _l("recent incidents outweigh the good")),
    "do_not_engage": (_l("Do not engage"), _l("serious incidents, not repaired")),
}

SEVERITIES = {
    1: _l("minor"),
    2: _l("moderate"),
    3: _l("major"),
    4: _l("severe"),
    5: _l("critical"),
}

STATUSES = {
    "active": _l("active"),
    "retracted": _l("retracted"),
    "superseded": _l("superseded"),
    "overturned": _l("overturned"),
    "pending": _l("pending"),
    "verified": _l("verified"),
    "rejected": _l("rejected"),
    "archived": _l("archived"),
}


def kind_label(kind: str) -> str:
    """A conduct or rehabilitation kind's label, in the reader's language."""
    pair = CONDUCT_KINDS.get(kind) or REHABILITATION_KINDS.get(kind)
    return str(pair[0]) if pair else kind


def kind_description(kind: str) -> str:
    pair = CONDUCT_KINDS.get(kind) or REHABILITATION_KINDS.get(kind)
    return str(pair[1]) if pair else ""


def band_label(band: str) -> str:
    return str(BANDS[band][0]) if band in BANDS else band


def band_description(band: str) -> str:
    return str(BANDS[band][1]) if band in BANDS else ""


def status_label(status: str) -> str:
    return str(STATUSES.get(status, status))


def severity_label(severity: int) -> str:
    return str(SEVERITIES.get(severity, severity))


def band_badge(band: str) -> Markup:
    """The band as the pages mark it: its label, with its meaning on hover and for readers."""
    return Markup('<mark class="band band-{}" title="{}">{}</mark>').format(
        band, band_description(band), band_label(band)
    )


CONTRACTOR_STATUSES = {"active": _l("Active"), "archived": _l("Archived")}

ROLES: dict[Role, Any] = {
    Role.OWNER: _l("Owner"),
    Role.ADMIN: _l("Admin"),
    Role.RECRUITER: _l("Recruiter"),
    Role.VIEWER: _l("Viewer"),
}
SCOPES: dict[Scope, Any] = {Scope.READ: _l("Read only"), Scope.WRITE: _l("Read and write")}

# The statuses of imports and exports (which name queued, running and failed alike), and of a
# webhook's deliveries, as the pages say them.
JOB_STATUSES = {
    QUEUED: _l("waiting for a worker"),
    RUNNING: _l("running"),
    COMPLETED: _l("completed"),
    FAILED: _l("failed"),
    DONE: _l("ready"),
}
DELIVERY_STATUSES = {
    DELIVERY_PENDING: _l("pending"),
    DELIVERY_SUCCEEDED: _l("delivered"),
    DELIVERY_FAILED: _l("failed"),
}


def role_label(role: str) -> str:
    """A staff member's role, in the reader's language."""
    return str(ROLES[Role(role)]) if role in ROLES else role


def scopes_label(scopes: list[str]) -> str:
    """What a key may do, in words: `write` brings `read` with it (roles.normalise_scopes)."""
    return str(SCOPES[Scope.WRITE] if Scope.WRITE in scopes else SCOPES[Scope.READ])


# Who told the agency, as a person recording by hand names them (an import records its own).
SOURCES = {
    "agency": _l("The agency"),
    "client": _l("A client"),
    "colleague": _l("A colleague"),
    "contractor": _l("The contractor"),
    "referee": _l("A referee"),
}

DECISIONS = {
    "engage": _l("Engage"),
    "decline": _l("Decline"),
    "probation": _l("Engage on probation"),
}

# How a next step names the evidence it asks for, at the start of a sentence: each its own
# literal, since a language may agree the words with the kind (« une formation vérifiée », « un
# suivi vérifié »).
VERIFIED_STEPS = {
    "acknowledgement": _l("A verified acknowledgement"),
    "outreach": _l("A verified outreach"),
    "listening": _l("A verified listening session"),
    "remediation": _l("A verified remediation"),
    "goodwill_gesture": _l("A verified goodwill gesture"),
    "reference": _l("A verified reference"),
    "training": _l("Verified training"),
    "probation_completed": _l("A verified completed probation"),
    "follow_up": _l("A verified follow-up"),
}

# Dates in sentences, written out: "3 March 2025", « 3 mars 2025 ».
LONG_DATE = "d MMMM y"


def decision_label(decision: str) -> str:
    """A decision (engage, decline, probation), in the reader's language."""
    return str(DECISIONS.get(decision, decision))


def long_date(moment: date | datetime) -> str:
    """A date as a sentence writes it out."""
    return format_date(moment, LONG_DATE)


def incident(event: Incident) -> str:
    """An incident as sentences name it: by its date and its kind."""
    return _(
        "the incident of %(date)s (%(kind)s)",
        date=long_date(event.occurred_at),
        kind=kind_label(event.kind),
    )


def blocker_sentence(
    blocker: dict[str, Any], incidents: Mapping[str, Incident], trust: float, threshold: float
) -> str:
    """What stands in the way of the second chance (TRUST_MODEL.md §5), in plain words, from
    the blocker's code; the model's own English `detail` when the incident is unknown."""
    event = incidents.get(blocker.get("event_id") or "")
    if blocker["code"] == "trust_below_threshold":
        return _(
            "Trust %(trust)s is below the eligibility threshold of %(threshold)s.",
            trust=format_decimal(trust, "0.00"),
            threshold=format_decimal(threshold, "0.00"),
        )
    if event is None:
        return str(blocker["detail"])
    facts = {"date": long_date(event.occurred_at), "kind": kind_label(event.kind)}
    if blocker["code"] == "unacknowledged_severe_incident":
        return _(
            "The %(severity)s incident of %(date)s (%(kind)s) has no verified acknowledgement.",
            severity=severity_label(event.severity),
            **facts,
        )
    if blocker["code"] == "cooling_off" and blocker.get("until"):
        return _(
            "The incident of %(date)s (%(kind)s) is in its cooling-off period until %(until)s.",
            until=long_date(datetime.fromisoformat(blocker["until"])),
            **facts,
        )
    return str(blocker["detail"])


@dataclass(frozen=True)
class Advice:
    """Next steps in words: sentences, and when several address the same incident, a lead that
    names it once for them all."""

    sentences: list[str]
    lead: str | None = None


def next_step_advice(
    next_steps: list[dict[str, Any]],
    incidents: Mapping[str, Incident],
    eligible_from: date | None,
    today: date,
) -> list[Advice]:
    """What verified evidence would do for the second chance (TRUST_MODEL.md §6), in plain
    words, what helps most first. A kind the model lists for two blockers is said once; the
    kinds that would not bring the date forward on their own share one sentence."""
    merged: dict[tuple[str, str | None], dict[str, Any]] = {}
    for step in next_steps:
        key = (step["kind"], step.get("addresses_event_id"))
        entry = merged.setdefault(key, {**step, "lifts": set()})
        if step["lifts_blocker_now"]:
            entry["lifts"].add(step["blocker"])
    helping: dict[str | None, list[tuple[int, str, dict[str, Any]]]] = {}
    idle: set[str] = set()
    for (kind, event_id), step in merged.items():
        sooner = date.fromisoformat(step["eligible_from"]) if step["eligible_from"] else None
        # A date brought forward, or a date where there was none within the projection.
        step["sooner"] = sooner
        step["forward"] = sooner is not None and bool(step["days_earlier"] or not eligible_from)
        if step["forward"]:
            rank = step["days_earlier"] or 0
        elif step["lifts"]:
            rank = 0
        else:
            idle.add(kind_label(kind))
            continue
        event_id = event_id if event_id in incidents else None
        helping.setdefault(event_id, []).append((rank, kind, step))
    advice = []
    best_first = sorted(helping.items(), key=lambda group: -max(rank for rank, *_ in group[1]))
    for event_id, steps in best_first:
        steps.sort(key=lambda s: (-s[0], s[1]))
        event = incidents[event_id] if event_id is not None else None
        if event is not None and len(steps) > 1:
            lead = _("For %(incident)s:", incident=incident(event))
            advice.append(Advice([_outcome(_step_words(k), s, today) for _r, k, s in steps], lead))
        else:
            advice += [Advice([_outcome(_step_words(k, event), s, today)]) for _r, k, s in steps]
    if idle:
        none_alone = _(
            "On its own, none of these would bring the date forward: %(kinds)s.",
            kinds=", ".join(sorted(idle)),
        )
        advice.append(Advice([none_alone]))
    return advice


def _step_words(kind: str, event: Incident | None = None) -> str:
    what = str(VERIFIED_STEPS.get(kind, kind_label(kind)))
    if event is None:
        return what
    return _("%(step)s addressing %(incident)s", step=what, incident=incident(event))


def _outcome(what: str, step: dict[str, Any], today: date) -> str:
    """What one kind of verified step would do: bring the date forward, or lift a blocker."""
    sooner, days = step["sooner"], step["days_earlier"]
    if not step["forward"]:
        if "unacknowledged_severe_incident" in step["lifts"]:
            return _(
                "%(what)s would provide the acknowledgement required, though on its own it "
                "would not bring the date forward.",
                what=what,
            )
        return _(
            "%(what)s would bring trust up to the threshold, though on its own it would not "
            "bring the date forward.",
            what=what,
        )
    if sooner <= today:
        if days:
            return ngettext(
                "%(what)s would make them eligible at once, %(days)s day sooner.",
                "%(what)s would make them eligible at once, %(days)s days sooner.",
                days,
                what=what,
                days=format_number(days),
            )
        return _("%(what)s would make them eligible at once.", what=what)
    if days:
        return ngettext(
            "%(what)s would make them eligible %(days)s day sooner, on %(date)s.",
            "%(what)s would make them eligible %(days)s days sooner, on %(date)s.",
            days,
            what=what,
            days=format_number(days),
            date=long_date(sooner),
        )
    return _("%(what)s would make them eligible on %(date)s.", what=what, date=long_date(sooner))
