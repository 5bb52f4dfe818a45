from flask_babel import lazy_gettext as _l
from flask_wtf.file import FileField, FileRequired
from wtforms import DateField, SelectField, StringField, TextAreaField
from wtforms.validators import DataRequired, Length, Optional, ValidationError

from marketplace.money import MoneyError, yuan_to_fen
from marketplace.web.forms import Form


def yuan_amount(form, field):
    try:
        field.fen = yuan_to_fen(field.data)
    except MoneyError as error:
        raise ValidationError(_l("Enter an amount in yuan, such as 120 or 120.50.")) from error
    if field.fen < 0:
        raise ValidationError(_l("The amount cannot be negative."))


class PeriodForm(Form):
    """A statement or report period, read from the query string."""

    class Meta:
        csrf = False

    start = DateField(_l("From"), validators=[Optional()])
    end = DateField(_l("To"), validators=[Optional()])


class VillageStatementsForm(Form):
    village_id = SelectField(_l("Village"), coerce=int, validators=[DataRequired()])
    start = DateField(_l("From"), validators=[DataRequired()])
    end = DateField(_l("To"), validators=[DataRequired()])


class CreateBatchForm(Form):
    method = SelectField(_l("Pay by"), choices=[("bank", _l("Bank transfer")), ("cash", _l("Cash"))])
    min_amount = StringField(_l("Minimum available balance (yuan)"), default="100",
                             validators=[DataRequired(), Length(max=20), yuan_amount])


class MarkPaidForm(Form):
    reference = StringField(_l("Bank reference or cash receipt no."), validators=[DataRequired(), Length(max=80)])


class MarkFailedForm(Form):
    reason = StringField(_l("Why it failed"), validators=[DataRequired(), Length(max=200)])


class ResolveForm(Form):
    note = TextAreaField(_l("How it was resolved"), validators=[DataRequired(), Length(max=500)])


class ImportExportForm(Form):
    export = FileField(_l("Stripe export (JSON lines or a JSON list)"), validators=[FileRequired()])


class LockMonthForm(Form):
    month = StringField(_l("Month (YYYY-MM)"), validators=[DataRequired(), Length(min=7, max=7)])


class DonationForm(Form):
    source = SelectField(_l("Source"), choices=[("charity_market", _l("Charity market")), ("gift", _l("Gift"))])
    amount = StringField(_l("Amount (yuan)"), validators=[DataRequired(), Length(max=20), yuan_amount])
    reference = StringField(_l("Receipt or market-day reference"), validators=[DataRequired(), Length(max=80)])


class GrantForm(Form):
    household_id = SelectField(_l("Household"), coerce=int, validators=[DataRequired()])
    purpose = SelectField(_l("Purpose"), choices=[("illness", _l("Serious illness")),
                                                  ("hardship", _l("Temporary hardship")),
                                                  ("education", _l("Education"))])
    amount = StringField(_l("Amount (yuan)"), validators=[DataRequired(), Length(max=20), yuan_amount])
    note = TextAreaField(_l("Why"), validators=[DataRequired(), Length(max=300)])


class AuditFilterForm(Form):
    class Meta:
        csrf = False

    action = SelectField(_l("Action"), validators=[Optional()])
    actor_id = SelectField(_l("Staff member"), coerce=int, validators=[Optional()])
    start = DateField(_l("From"), validators=[Optional()])
    end = DateField(_l("To"), validators=[Optional()])


class DepositForm(Form):
    cooperative_id = SelectField(_l("Cooperative"), coerce=int, validators=[DataRequired()])
    amount = StringField(_l("Amount received (yuan)"), validators=[DataRequired(), Length(max=20), yuan_amount])
    reference = StringField(_l("Bank reference"), validators=[DataRequired(), Length(max=80)])


class PaidByCooperativeForm(Form):
    amount = StringField(_l("Amount the cooperative paid (yuan)"), validators=[DataRequired(), Length(max=20), yuan_amount])
    reference = StringField(_l("Receipt or bank reference"), validators=[DataRequired(), Length(max=80)])
