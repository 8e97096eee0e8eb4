"""The words the portal shows for the model's names: kinds, bands, severities, statuses.

Each is a literal here so that the catalogs (reputation/translations) carry it; the taxonomy
itself (reputation/trust/taxonomy.py) stays the one source of the names and numbers, and a test
checks that every name it has is labelled here.
"""

from __future__ import annotations

from flask_babel import lazy_gettext as _l
from markupsafe import Markup

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
