from flask_babel import lazy_gettext as _l
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
