"""The kinds of evidence and their defaults: TRUST_MODEL.md §2, in one place.

The API's taxonomy, the validation of evidence and the model all read these tables.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum


class Valence(StrEnum):
    NEGATIVE = "negative"
    POSITIVE = "positive"


@dataclass(frozen=True)
class ConductKind:
    name: str
    valence: Valence
    default_severity: int
    half_life_days: float
    repair_cap: float | None  # negative kinds only
    description: str
    base_weight: float = 1.0


@dataclass(frozen=True)
class RehabilitationKind:
    name: str
    weight: float
    repair_rate: float
    half_life_days: float
    description: str


MIN_SEVERITY = 1
MAX_SEVERITY = 5
SEVERITY_NAMES = {1: "minor", 2: "moderate", 3: "major", 4: "severe", 5: "critical"}
SEVERITY_FACTOR = {1: 0.5, 2: 1.0, 3: 2.0, 4: 4.0, 5: 8.0}
COOLING_OFF_DAYS = {1: 0, 2: 30, 3: 90, 4: 180, 5: 365}

_N, _P = Valence.NEGATIVE, Valence.POSITIVE

CONDUCT_KINDS: dict[str, ConductKind] = {
    kind.name: kind
    for kind in (
        ConductKind("rudeness", _N, 2, 365, 0.6,
                    "rude or abusive towards a client, recruiter or colleague"),
        ConductKind("misrepresentation", _N, 3, 730, 0.6,
                    "CV or claims that bend the truth; CVs that contradict each other"),
        ConductKind("ghosting", _N, 2, 365, 0.6,
                    "disappeared from an interview process or an engagement"),
        ConductKind("false_excuse", _N, 2, 365, 0.6,
                    "came back later with an excuse that proved false"),
        ConductKind("unresponsive", _N, 1, 180, 0.6,
                    "ignored a recruiter's or employer's solicitation"),
        ConductKind("broken_commitment", _N, 2, 365, 0.6,
                    "did not do what they said, without warning in advance"),
        ConductKind("costly_mistake", _N, 3, 365, 0.6,
                    "an error that seriously harmed a client's project"),
        ConductKind("concealed_mistake", _N, 3, 730, 0.6,
                    "swept a mistake under the rug instead of raising it"),
        ConductKind("blame_shifting", _N, 2, 365, 0.6,
                    "blamed teammates for their own error"),
        ConductKind("unethical_conduct", _N, 5, 1825, 0.25,
                    "unethical or extremely unprofessional conduct: the burned bridge"),
        ConductKind("commitment_kept", _P, 2, 365, None, "delivered what was promised"),
        ConductKind("early_warning", _P, 2, 365, None,
                    "warned honestly, in advance, that they could not deliver"),
        ConductKind("responsive", _P, 1, 180, None,
                    'answered a solicitation, even with a polite "not now"'),
        ConductKind("mistake_owned", _P, 2, 365, None,
                    "raised and owned their own mistake promptly"),
        ConductKind("client_commendation", _P, 2, 365, None, "praise from a client"),
        ConductKind("long_term_engagement", _P, 3, 730, None,
                    "a lasting or repeated engagement that went well"),
    )
}  # fmt: skip

REHABILITATION_KINDS: dict[str, RehabilitationKind] = {
    kind.name: kind
    for kind in (
        RehabilitationKind("acknowledgement", 0.25, 0.15, 730,
                           "took responsibility and apologised, without blaming the other side"),
        RehabilitationKind("outreach", 0.25, 0.10, 730,
                           "reached out to repair the relationship "
                           "(x2 weight when unsolicited: no job was on the table)"),
        RehabilitationKind("listening", 0.25, 0.05, 730,
                           "heard how their conduct affected the other side, and agreed a plan"),
        RehabilitationKind("remediation", 1.0, 0.20, 730,
                           "worked on a concrete fix, unbilled extra hours included"),
        RehabilitationKind("goodwill_gesture", 0.5, 0.05, 730,
                           "extra hours, a lowered rate, or another gesture"),
        RehabilitationKind("reference", 1.0, 0.10, 730,
                           "a reference or recommendation from a client or colleague"),
        RehabilitationKind("training", 0.5, 0.05, 730,
                           "a course or certification relevant to the incident"),
        RehabilitationKind("probation_completed", 2.0, 0.25, 730,
                           "a trial engagement completed without incident"),
        RehabilitationKind("follow_up", 0.5, 0.05, 730, "follow-through kept up over time"),
    )
}  # fmt: skip

# TRUST_MODEL.md §2: a step's verification factor; a rejected step is no evidence at all.
VERIFICATION_FACTOR = {"verified": 1.0, "pending": 0.25, "rejected": 0.0}
