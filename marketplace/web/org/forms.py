from flask_babel import lazy_gettext as _l
from flask_wtf.file import FileAllowed, FileField
from wtforms import StringField, TextAreaField
from wtforms.validators import DataRequired, Length, Optional

from marketplace.web.forms import Form


class SubmitForm(Form):
    recipient_name = StringField(_l("Recipient"), validators=[DataRequired(), Length(max=80)])
    recipient_phone = StringField(_l("Phone"), validators=[DataRequired(), Length(max=30)])
    address = StringField(_l("Delivery address (canteen, office)"), validators=[DataRequired(), Length(max=300)])
    note = TextAreaField(_l("Note for the approver"), validators=[Optional(), Length(max=300)])


class DecisionForm(Form):
    note = TextAreaField(_l("Why you return it"), validators=[Optional(), Length(max=300)])


class ConfirmForm(Form):
    """A button that only needs its CSRF token (extending the time to pay)."""


class AcceptForm(Form):
    note = TextAreaField(_l("Acceptance note (optional)"), validators=[Optional(), Length(max=300)])
    document = FileField(_l("Signed acceptance slip, PDF or photo (optional)"),
                         validators=[FileAllowed(["pdf", "jpg", "jpeg", "png", "webp"],
                                                 _l("Upload a PDF or a photo (JPEG, PNG) of the signed acceptance."))])


class InvoiceRequestForm(Form):
    title = StringField(_l("Invoice title (registered name)"), validators=[DataRequired(), Length(max=120)])
    tax_number = StringField(_l("Tax number (unified social credit code)"), validators=[DataRequired(), Length(max=30)])
    email = StringField(_l("E-mail for the invoices"), validators=[DataRequired(), Length(max=254)])
