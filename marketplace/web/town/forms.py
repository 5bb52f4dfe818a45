from flask_babel import lazy_gettext as _l
from flask_wtf.file import FileField, FileRequired
from wtforms import DateField, SelectField, StringField, TextAreaField
from wtforms.validators import DataRequired, InputRequired, Length, Optional

from marketplace.web.forms import Form
from marketplace.web.security.fields import MoneyField, WholeNumberField, parse_yuan, whole_number


def yuan_amount(_form, field):
    """A validator for a StringField of yuan: sets `field.fen` (the shared layer's parsing)."""
    field.fen = parse_yuan(field.data, message=_l("Enter an amount in yuan, such as 120 or 120.50."),
                           range_message=_l("The amount cannot be negative."))


def yuan_field(label, **kwargs):
    """An amount of yuan the town records (a donation, a grant, a payout threshold)."""
    return MoneyField(label, validators=[DataRequired(), Length(max=20)],
                      message=_l("Enter an amount in yuan, such as 120 or 120.50."),
                      range_message=_l("The amount cannot be negative."), **kwargs)


class PeriodForm(Form):
    """A statement or report period, read from the query string."""

    class Meta:
        csrf = False

    start = DateField(_l("From"), validators=[Optional()])
    end = DateField(_l("To"), validators=[Optional()])


class VillageStatementsForm(Form):
    village_id = SelectField(_l("Village"), coerce=whole_number, validators=[DataRequired()])
    start = DateField(_l("From"), validators=[DataRequired()])
    end = DateField(_l("To"), validators=[DataRequired()])


class CreateBatchForm(Form):
    method = SelectField(_l("Pay by"), choices=[("bank", _l("Bank transfer")), ("cash", _l("Cash"))])
    min_amount = yuan_field(_l("Minimum available balance (yuan)"), default="100")


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
    amount = yuan_field(_l("Amount (yuan)"))
    reference = StringField(_l("Receipt or market-day reference"), validators=[DataRequired(), Length(max=80)])


class GrantForm(Form):
    household_id = SelectField(_l("Household"), coerce=whole_number, validators=[DataRequired()])
    purpose = SelectField(_l("Purpose"), choices=[("illness", _l("Serious illness")),
                                                  ("hardship", _l("Temporary hardship")),
                                                  ("education", _l("Education"))])
    amount = yuan_field(_l("Amount (yuan)"))
    note = TextAreaField(_l("Why"), validators=[DataRequired(), Length(max=300)])


class AuditFilterForm(Form):
    class Meta:
        csrf = False

    action = SelectField(_l("Action"), validators=[Optional()])
    actor_id = SelectField(_l("Staff member"), coerce=whole_number, validators=[Optional()])
    start = DateField(_l("From"), validators=[Optional()])
    end = DateField(_l("To"), validators=[Optional()])


class DepositForm(Form):
    cooperative_id = SelectField(_l("Cooperative"), coerce=whole_number, validators=[DataRequired()])
    amount = StringField(_l("Amount received (yuan)"), validators=[DataRequired(), Length(max=20), yuan_amount])
    reference = StringField(_l("Bank reference"), validators=[DataRequired(), Length(max=80)])


class PaidByCooperativeForm(Form):
    amount = StringField(_l("Amount the cooperative paid (yuan)"), validators=[DataRequired(), Length(max=20), yuan_amount])
    reference = StringField(_l("Receipt or bank reference"), validators=[DataRequired(), Length(max=80)])


class ClaimDecisionForm(Form):
    """Town staff's decision on an escalated claim: the refund (0 for none), who bears it in whole percent, why."""

    refund = MoneyField(_l("Refund to the buyer (yuan; 0 for none)"),
                        validators=[InputRequired(_l("Enter the refund, 0 for none."))])
    seller_percent = WholeNumberField(_l("Seller bears (%)"), default=100, validators=[Optional()])
    carrier_percent = WholeNumberField(_l("Carrier bears (%)"), default=0, validators=[Optional()])
    platform_percent = WholeNumberField(_l("Platform bears (%)"), default=0, validators=[Optional()])
    refund_to = SelectField(_l("Refund to"), choices=[("original", _l("The buyer's original payment method")),
                                                      ("store_credit", _l("The buyer's store credit"))])
    reason = TextAreaField(_l("Reason for the decision"),
                           validators=[InputRequired(_l("Give the reason for the decision.")), Length(max=500)])
