"""The agency's scoring policy: every number with its default and its explanation, edits simulated
before they are saved, and the versions.

Everyone on the staff reads the policy in force, its versions and a simulation's result (the API
lets them read the same); only owners and admins simulate a change and save it. A change is always
simulated first: the edit form's one action starts a simulation (a `bulk` job), and its page lets
the person save exactly the values it ran, once they have seen who would change band or
eligibility.
"""

from __future__ import annotations

import functools
import re
import uuid
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

import marshmallow as ma
from babel.numbers import get_decimal_symbol
from flask import flash, redirect, render_template, request, url_for
from flask_babel import format_decimal, get_locale
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from marshmallow import validate
from wtforms import StringField
from wtforms.validators import Length, Optional

from reputation.errors import Conflict, NotFound
from reputation.policy import service
from reputation.policy.models import PolicySimulation, PolicyVersion
from reputation.policy.schemas import PolicySchema
from reputation.portal import labels
from reputation.portal.blueprint import managers_only, page_or_part, portal, staff_in, staff_only
from reputation.portal.forms import PortalForm
from reputation.roles import AGENCY_MANAGERS
from reputation.scoring.service import MAX_LISTED_CHANGES
from reputation.tenancy.lookup import get_or_404
from reputation.trust.policy import Policy, policy_from

# What the page says of each number: TRUST_MODEL.md in one plain sentence.


@dataclass(frozen=True)
class Number:
    """One number of the policy: its path in the API's document, its name and what it does."""

    path: str  # "eligibility_threshold", "severity_factor.3", "conduct_kinds.rudeness.base_weight"
    label: Any  # lazy strings, read in the reader's language
    explanation: Any

    @property
    def field(self) -> str:
        """The form field (and element id) that holds it."""
        return self.path.replace(".", "-")


@dataclass(frozen=True)
class Column:
    """A number that every row of a grid has: a kind's half-life, a severity's factor."""

    key: str
    label: Any
    explanation: Any


@dataclass(frozen=True)
class Section:
    """A group of numbers shown as one table: a list of numbers, one a row, or a grid of rows
    (kinds, severities) by columns whose cells are at `pattern`'s path."""

    key: str
    title: Any
    intro: Any = None
    numbers: tuple[Number, ...] = ()
    row_heading: Any = None
    rows: tuple[tuple[str, Any, Any], ...] = ()  # key, label, description
    columns: tuple[Column, ...] = ()
    pattern: str = ""  # e.g. "conduct_kinds.{row}.{column}"

    def cell(self, row: str, column: Column) -> Number | None:
        """The grid's number at this row and column; None where the model has none (a
        positive kind's repair cap)."""
        path = self.pattern.format(row=row, column=column.key)
        return NUMBERS.get(path)


BAND_ORDER = ("trusted", "good_standing", "rebuilding", "caution")

BANDS_SECTION = Section(
    key="bands",
    title=_l("Bands and the second chance"),
    intro=_l(
        "Bands are tried in this order: too uncertain first, then each threshold from the "
        "highest; below the last one, the band is Do not engage."
    ),
    numbers=(
        Number(
            "eligibility_threshold",
            _l("Eligibility threshold"),
            _l(
                "A contractor with an incident on record is eligible for a second chance only "
                "once their trust reaches this level, and the other conditions hold."
            ),
        ),
        Number(
            "band_thresholds.trusted",
            _l("Trusted from"),
            _l("Trust at or above this puts a contractor in the band Trusted."),
        ),
        Number(
            "band_thresholds.good_standing",
            _l("Good standing from"),
            _l("Trust at or above this, and below Trusted, is Good standing."),
        ),
        Number(
            "band_thresholds.rebuilding",
            _l("Rebuilding from"),
            _l("Trust at or above this, and below Good standing, is Rebuilding."),
        ),
        Number(
            "band_thresholds.caution",
            _l("Caution from"),
            _l(
                "Trust at or above this, and below Rebuilding, is Caution; below it, Do not engage."
            ),
        ),
        Number(
            "insufficient_evidence_above_u",
            _l("Too uncertain above"),
            _l(
                "When the uncertainty is above this, the band is Insufficient evidence whatever "
                "the trust: too little is known to say."
            ),
        ),
    ),
)

EVIDENCE_SECTION = Section(
    key="evidence",
    title=_l("How evidence adds up"),
    numbers=(
        Number(
            "prior_weight",
            _l("Prior weight (W)"),
            _l(
                "How much evidence it takes to move trust away from the base rate: the larger it "
                "is, the more evidence each change of score needs."
            ),
        ),
        Number(
            "base_rate",
            _l("Base rate (a)"),
            _l("The trust of a contractor with no evidence at all: unknown is not bad."),
        ),
        Number(
            "max_negative_age_days",
            _l("Incidents age out after (days)"),
            _l("An incident older than this counts for nothing, whatever its severity."),
        ),
        Number(
            "verification_factor.verified",
            _l("Share of a verified step"),
            _l("How much of its weight and repair a step counts once the agency has verified it."),
        ),
        Number(
            "verification_factor.pending",
            _l("Share of a pending step"),
            _l("How much of its weight and repair a step counts while it waits to be verified."),
        ),
        Number(
            "unsolicited_outreach_factor",
            _l("Unsolicited outreach multiplier"),
            _l("An outreach made when no job was on the table weighs this many times more."),
        ),
    ),
)

HALF_LIFE = _l("Half-life (days)")

SEVERITY_SECTION = Section(
    key="severities",
    title=_l("Severities"),
    row_heading=_l("Severity"),
    rows=tuple(
        (str(severity), _l("Severity %(number)d (%(name)s)", number=severity, name=name), None)
        for severity, name in labels.SEVERITIES.items()
    ),
    columns=(
        Column(
            "severity_factor",
            _l("Severity factor"),
            _l("An event of this severity weighs this many times its kind's base weight."),
        ),
        Column(
            "cooling_off_days",
            _l("Cooling-off (days)"),
            _l(
                "Nobody is eligible for a second chance until each of their incidents of this "
                "severity is at least this old."
            ),
        ),
    ),
    pattern="{column}.{row}",
)

CONDUCT_SECTION = Section(
    key="conduct",
    title=_l("Conduct events"),
    row_heading=_l("Kind"),
    rows=tuple(
        (kind, label, description) for kind, (label, description) in labels.CONDUCT_KINDS.items()
    ),
    columns=(
        Column(
            "half_life_days",
            HALF_LIFE,
            _l(
                "After this many days an event counts half as much; after twice as many, a quarter."
            ),
        ),
        Column(
            "base_weight",
            _l("Base weight"),
            _l("How much one event of this kind weighs, before its severity factor."),
        ),
        Column(
            "repair_cap",
            _l("Repair cap"),
            _l(
                "The most of an incident that rehabilitation can repair (0.6: at most 60%); the "
                "rest only fades with time. Good conduct needs no repair."
            ),
        ),
    ),
    pattern="conduct_kinds.{row}.{column}",
)

REHABILITATION_SECTION = Section(
    key="rehabilitation",
    title=_l("Rehabilitation steps"),
    row_heading=_l("Kind"),
    rows=tuple(
        (kind, label, description)
        for kind, (label, description) in labels.REHABILITATION_KINDS.items()
    ),
    columns=(
        Column("weight", _l("Weight"), _l("How much a step of this kind adds to trust.")),
        Column(
            "repair_rate",
            _l("Repair rate"),
            _l(
                "How much of the incident it addresses a step of this kind repairs, up to the "
                "incident's repair cap; what is repaired stays repaired."
            ),
        ),
        Column(
            "half_life_days",
            HALF_LIFE,
            _l("After this many days a step adds half as much to trust."),
        ),
    ),
    pattern="rehabilitation_kinds.{row}.{column}",
)

SECTIONS = (
    BANDS_SECTION,
    EVIDENCE_SECTION,
    SEVERITY_SECTION,
    CONDUCT_SECTION,
    REHABILITATION_SECTION,
)


def _every_number() -> dict[str, Number]:
    """Each number by its path: the lists' own, and a grid's cells named by row and column."""
    numbers = {n.path: n for section in SECTIONS for n in section.numbers}
    defaults = service.numbers_of(Policy())
    for section in SECTIONS:
        for row, row_label, _description in section.rows:
            for column in section.columns:
                path = section.pattern.format(row=row, column=column.key)
                if path in defaults:
                    label = _l("%(row)s: %(column)s", row=row_label, column=column.label)
                    numbers[path] = Number(path, label, column.explanation)
    # The model's order, which the versions' lists of changes follow.
    return {path: numbers[path] for path in defaults if path in numbers}


NUMBERS = _every_number()


# The form: every number as typed, empty for its default.

# A plain decimal, as the field shows it: no grouping, no exponent.
DECIMAL = re.compile(r"-?(?:\d+(?:\.\d*)?|\.\d+)")
MAX_TYPED = 40


def _a_field_for_every_number(form: type[PortalForm]) -> type[PortalForm]:
    for number in NUMBERS.values():
        field = StringField(number.label, validators=[Optional(), Length(max=MAX_TYPED)])
        setattr(form, number.field, field)
    return form


@_a_field_for_every_number
class PolicyForm(PortalForm):
    """Every number of the policy, one text field each (named by `Number.field`)."""


def typed(value: float) -> str:
    """A number as the form shows it, to be typed back: exact, with the reader's decimal sign
    and no grouping."""
    text = format(Decimal(repr(value)), "f")
    if "." in text:
        text = text.rstrip("0").rstrip(".")
    return text.replace(".", get_decimal_symbol(get_locale()))


def shown(value: float) -> str:
    """A number as the page prints it, in the reader's locale."""
    return str(format_decimal(value, "#,##0.##########"))


def parse_number(text: str) -> float | None:
    """A number typed with a dot, or with the reader's decimal sign (a comma in French); None
    when the text is no plain decimal."""
    text = text.strip().replace(get_decimal_symbol(get_locale()), ".")
    return float(text) if DECIMAL.fullmatch(text) else None


@functools.cache
def _range_of(path: str) -> validate.Range | None:
    """The Range that PolicySchema, the API's own rules, puts on the number at `path`."""
    top, *parts = path.split(".")
    field: Any = PolicySchema().fields[top]
    for part in parts:
        # A Dict's key leads to its values' field; a Nested schema's, to that field of it.
        field = (
            field.value_field if isinstance(field, ma.fields.Dict) else field.schema.fields[part]
        )
    if isinstance(field, ma.fields.Dict):
        field = field.value_field
    return next((v for v in field.validators if isinstance(v, validate.Range)), None)


def _out_of_range(path: str) -> str:
    """What a number out of its range gets, in the reader's language."""
    bounds = _range_of(path)
    if bounds is None or bounds.min is None or bounds.max is None:
        return _("This number is not allowed here.")
    values = {"min": shown(bounds.min), "max": shown(bounds.max)}
    if bounds.min_inclusive:
        return _("Enter a number from %(min)s to %(max)s.", **values)
    return _("Enter a number above %(min)s, up to %(max)s.", **values)


def _error_paths(messages: Mapping[str, Any], prefix: str = "") -> Iterator[tuple[str, Any]]:
    """marshmallow's nested errors as (path, messages), with a Dict's `value` level left out:
    `conduct_kinds.rudeness.value.half_life_days` is the number
    `conduct_kinds.rudeness.half_life_days`."""
    for key, value in messages.items():
        path = prefix if key == "value" else (f"{prefix}.{key}" if prefix else str(key))
        if isinstance(value, Mapping):
            yield from _error_paths(value, path)
        else:
            yield path, value


def read_policy(form: PolicyForm, in_force: Policy) -> dict[str, Any] | None:
    """The overrides the form asks for, validated by the rules of the API's `PUT /policy`;
    None, with each error beside its field, when they break one."""
    defaults = service.numbers_of(Policy())
    numbers: dict[str, float] = {}
    for path, number in NUMBERS.items():
        field = form[number.field]
        text = (field.data or "").strip()
        value = parse_number(text) if text else defaults[path]
        if value is None:
            example = typed(defaults[path])
            field.errors = [
                *field.errors,
                _("Enter a number, such as %(example)s.", example=example),
            ]
        else:
            numbers[path] = value
    if len(numbers) < len(NUMBERS):
        return None
    try:
        overrides: dict[str, Any] = PolicySchema().load(service.overrides_of(numbers))
    except ma.ValidationError as refused:
        _place_errors(form, refused, numbers, in_force)
        return None
    return overrides


def _place_errors(
    form: PolicyForm, refused: ma.ValidationError, numbers: dict[str, float], in_force: Policy
) -> None:
    current = service.numbers_of(in_force)
    for path, messages in _error_paths(refused.normalized_messages()):
        if path in NUMBERS:
            field = form[NUMBERS[path].field]
            field.errors = [*field.errors, _out_of_range(path)]
        elif path == "band_thresholds":
            # The thresholds are out of order: said beside those the person changed.
            changed = [
                f"band_thresholds.{band}"
                for band in BAND_ORDER
                if numbers[f"band_thresholds.{band}"] != current[f"band_thresholds.{band}"]
            ] or ["band_thresholds.trusted"]
            for changed_path in changed:
                field = form[NUMBERS[changed_path].field]
                field.errors = [
                    *field.errors,
                    _(
                        "The band thresholds must fall in order: Trusted above Good standing, "
                        "above Rebuilding, above Caution."
                    ),
                ]
        else:
            flash(" ".join(map(str, messages)), "error")


def _values_of(overrides: dict[str, Any]) -> dict[str, str]:
    """The form's fields filled with a policy's numbers."""
    numbers = service.numbers_of(policy_from(overrides))
    return {NUMBERS[path].field: typed(value) for path, value in numbers.items() if path in NUMBERS}


# The pages.


MAX_VERSION = 1_000_000  # as the API's `?version=`


def _version_or_404(number: int) -> PolicyVersion | None:
    """A version's row; None for version 0, the model's defaults."""
    if number == 0:
        return None
    row = service.version(number) if 0 < number <= MAX_VERSION else None
    if row is None:
        raise NotFound(f"No policy version {number}.")
    return row


def _simulation_or_404(text: str) -> PolicySimulation:
    try:
        simulation_id = uuid.UUID(text)
    except ValueError:
        raise NotFound(f"No policy simulation {text}.") from None
    return get_or_404(PolicySimulation, simulation_id, "policy simulation")


def _render_policy(form: PolicyForm | None, status: int = 200) -> Any:
    latest = service.current_version()
    shown_row = latest
    version_asked = request.args.get("version", type=int)
    if version_asked is not None and (latest is None or version_asked != latest.version):
        shown_row = _version_or_404(version_asked)
        form = None  # an earlier version is read, never edited
    overrides = shown_row.overrides if shown_row else {}
    return render_template(
        "portal/policy.html",
        form=form,
        sections=SECTIONS,
        numbers=NUMBERS,
        values=service.numbers_of(policy_from(overrides)),
        defaults=service.numbers_of(Policy()),
        row=shown_row,
        latest=latest,
        number=shown,
    ), status


@portal.route("/policy")
@staff_only
def policy_page() -> Any:
    """Every number of the policy in force (or of `?version=`), with its default and what it
    does; for owners and admins, a form to change them and simulate the change
    (`?simulation=` starts it from a simulation's values)."""
    from_simulation = request.args.get("simulation")
    form = None
    if staff_in(AGENCY_MANAGERS):
        if from_simulation:
            values = _values_of(_simulation_or_404(from_simulation).overrides)
        else:
            latest = service.current_version()
            values = _values_of(latest.overrides if latest else {})
        form = PolicyForm(data=values)
    return _render_policy(form)


@portal.route("/policy", methods=["POST"])
@managers_only
def simulate_policy_change() -> Any:
    """Simulate the numbers typed: their simulation's page shows who would move, and saves."""
    form = PolicyForm()
    in_force, _version = service.policy_in_force()
    if not form.validate_on_submit():
        return _render_policy(form, 422)
    overrides = read_policy(form, in_force)
    if overrides is None:
        return _render_policy(form, 422)
    if service.numbers_of(policy_from(overrides)) == service.numbers_of(in_force):
        flash(_("These are the numbers in force: change one, then simulate."), "error")
        return _render_policy(form, 422)
    simulation = service.start_simulation(overrides)
    return redirect(url_for("portal.policy_simulation", simulation_id=simulation.id), 303)


@portal.route("/policy/simulations/<uuid:simulation_id>")
@staff_only
def policy_simulation(simulation_id: uuid.UUID) -> Any:
    """A simulated change: what it changes, and once the worker has run it, who would change
    band or eligibility; htmx polls the result alone until then."""
    simulation = get_or_404(PolicySimulation, simulation_id, "policy simulation")
    in_force, version = service.policy_in_force()
    return render_template(
        page_or_part("portal/policy_simulation.html", "portal/_policy_simulation.html"),
        simulation=simulation,
        in_force_version=version,
        stale=_stale(simulation, version),
        listed_max=MAX_LISTED_CHANGES,
        changes=service.differences(in_force, policy_from(simulation.overrides)),
        numbers=NUMBERS,
        number=shown,
    )


@portal.route("/policy/simulations/<uuid:simulation_id>/save", methods=["POST"])
@managers_only
def save_simulated_policy(simulation_id: uuid.UUID) -> Any:
    """Save the simulated numbers as the agency's new version; every contractor is reassessed."""
    simulation = get_or_404(PolicySimulation, simulation_id, "policy simulation")
    if simulation.status != "completed":
        raise Conflict(_("The simulation has not finished: save once it shows who would move."))
    in_force_version = service.policy_in_force()[1]
    if _stale(simulation, in_force_version):
        raise Conflict(
            _(
                "The policy in force has changed since this simulation (version %(version)d is "
                "in force now): simulate again to see who would move.",
                version=in_force_version,
            )
        )
    created = service.change_policy(simulation.overrides)
    flash(
        _(
            "Version %(version)d is in force; every contractor is being reassessed with it.",
            version=created.version,
        )
    )
    return redirect(url_for("portal.policy_page"), 303)


@portal.route("/policy/versions")
@staff_only
def policy_versions() -> Any:
    """Every version, the latest first: when, by whom, and what it changed from the one
    before."""
    rows = service.versions()
    entries = []
    before = Policy()
    for row in rows:
        after = policy_from(row.overrides)
        entries.append((row, service.differences(before, after)))
        before = after
    entries.reverse()
    return render_template(
        "portal/policy_versions.html",
        entries=entries,
        numbers=NUMBERS,
        number=shown,
        latest=rows[-1] if rows else None,
    )


def _stale(simulation: PolicySimulation, in_force_version: int) -> bool:
    """Whether another version came into force after the simulation ran: its result no longer
    says what saving it would do."""
    result = simulation.result or {}
    return "policy_version" in result and result["policy_version"] != in_force_version
