"""The portal's forms: Flask-WTF (a CSRF token in each), and the service's one text rule."""

from __future__ import annotations

from typing import Any

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import EmailField, PasswordField, SelectField, StringField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import DataRequired, Length, Optional

from reputation import text
from reputation.trust.policy import BANDS


class PortalForm(FlaskForm):
    """A form whose text obeys the text rule (reputation/text.py) like every API body."""

    def validate(self, extra_validators: Any = None) -> bool:
        valid = super().validate(extra_validators)
        for field in self:
            if isinstance(field.data, str) and (why := text.fault(field.data)):
                field.errors = [*field.errors, why]
                valid = False
        return valid


class SignInForm(PortalForm):
    agency = StringField(_l("Agency"), validators=[DataRequired(), Length(max=63)])
    email = EmailField(_l("Email"), validators=[DataRequired(), Length(max=254)])
    password = PasswordField(_l("Password"), validators=[DataRequired(), Length(max=1024)])


class PasswordForm(PortalForm):
    current_password = PasswordField(
        _l("Current password"), validators=[DataRequired(), Length(max=1024)]
    )
    new_password = PasswordField(
        _l("New password"), validators=[DataRequired(), Length(min=12, max=1024)]
    )


class LanguageForm(PortalForm):
    locale = SelectField(
        _l("Language"),
        choices=[
            SelectChoice("", _l("As my browser asks")),
            SelectChoice("en", "English"),
            SelectChoice("fr", "Français"),
        ],
        validators=[Optional()],
    )


class ContractorSearchForm(PortalForm):
    """The contractors page's filters, read from the query string (no CSRF: a GET)."""

    class Meta:
        csrf = False

    q = StringField(_l("Search"), validators=[Optional(), Length(max=200)])
    band = SelectField(
        _l("Band"),
        choices=[SelectChoice("", _l("Any band")), *(SelectChoice(band) for band in BANDS)],
        validators=[Optional()],
    )
    eligible = SelectField(
        _l("Eligibility"),
        choices=[
            SelectChoice("", _l("Anyone")),
            SelectChoice("yes", _l("Eligible")),
            SelectChoice("no", _l("Not yet eligible")),
        ],
        validators=[Optional()],
    )
