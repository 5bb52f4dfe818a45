from flask_babel import lazy_gettext as _l
from flask_wtf.file import FileAllowed, FileField, FileRequired
from wtforms import BooleanField, DateField, SelectField, StringField
from wtforms.validators import DataRequired, Length, Optional

from marketplace.organisations.models import KINDS, PAYMENT_TERMS
from marketplace.web.forms import Form
from marketplace.web.security.fields import MoneyField, WholeNumberField, whole_number

KIND_LABELS = {"budget_unit": _l("Budget unit"), "union": _l("Trade union"), "canteen": _l("Canteen"),
               "enterprise": _l("Enterprise")}


TERMS_LABELS = {"pay_first": _l("Pays by transfer before the goods are sent"),
                "after_acceptance": _l("Pays within 30 days of accepting the goods")}


class OrganisationForm(Form):
    name = StringField(_l("Registered name"), validators=[DataRequired(), Length(max=120)])
    credit_code = StringField(_l("Unified social credit code"), validators=[DataRequired(), Length(max=30)])
    kind = SelectField(_l("Kind"), choices=[(kind, KIND_LABELS[kind]) for kind in KINDS])
    town_id = SelectField(_l("Town or street"), coerce=whole_number)
    district = StringField(_l("District"), validators=[Optional(), Length(max=80)])
    year = WholeNumberField(_l("Year"), validators=[DataRequired()])
    declared_total = MoneyField(_l("Year's total food purchasing (yuan)"), validators=[DataRequired(), Length(max=20)],
                                minimum_fen=1)
    required_share = StringField(_l("Required share (%)"), validators=[DataRequired(), Length(max=8)])
    payment_terms = SelectField(_l("Payment terms"), choices=[(terms, TERMS_LABELS[terms]) for terms in PAYMENT_TERMS],
                                default="pay_first")


class TermsForm(Form):
    """An organisation's payment terms, changed after registration (requests submitted later follow them)."""

    payment_terms = SelectField(_l("Payment terms"), choices=[(terms, TERMS_LABELS[terms]) for terms in PAYMENT_TERMS])


class TransferForm(Form):
    value_date = DateField(_l("Date received"), validators=[DataRequired()])
    amount = MoneyField(_l("Amount received (yuan)"), validators=[DataRequired(), Length(max=20)], minimum_fen=1)
    payer_name = StringField(_l("Payer"), validators=[Optional(), Length(max=120)])
    memo = StringField(_l("Memo (with the transfer reference)"), validators=[Optional(), Length(max=300)])
    bank_reference = StringField(_l("Bank transaction number"), validators=[Optional(), Length(max=80)])


class StatementForm(Form):
    file = FileField(_l("Bank statement (.xlsx or .csv)"),
                     validators=[FileRequired(), FileAllowed(["xlsx", "csv"], _l("Upload an .xlsx or .csv file."))])


class RefundTransferForm(Form):
    """The outgoing bank transfer that paid an organisation's refund back."""

    refund_id = SelectField(_l("Refund owed"), coerce=whole_number, validators=[DataRequired()])
    organisation_id = SelectField(_l("Paid to organisation"), coerce=whole_number, validators=[DataRequired()])
    value_date = DateField(_l("Date sent"), validators=[DataRequired()])
    amount = MoneyField(_l("Amount sent (yuan)"), validators=[DataRequired(), Length(max=20)], minimum_fen=1)
    bank_reference = StringField(_l("Bank transaction number"), validators=[DataRequired(), Length(max=80)])


class UnpaidRefundForm(Form):
    """Lines of an unpaid order on terms refunded before payment; the units come as `qty-<order line id>`."""

    restock = BooleanField(_l("Put the refunded units back on sale"))
    reason = StringField(_l("Why they are refunded"), validators=[
        DataRequired(_l("Say why these items are refunded (up to 200 characters).")),
        Length(max=200, message=_l("Say why these items are refunded (up to 200 characters)."))])


class UnpaidCancelForm(Form):
    """The whole of an unpaid order on terms cancelled before payment."""

    restock = BooleanField(_l("Put the goods back on sale"))
    reason = StringField(_l("Why the order is cancelled"), validators=[
        DataRequired(_l("Say why the order is cancelled (up to 200 characters).")),
        Length(max=200, message=_l("Say why the order is cancelled (up to 200 characters)."))])
