from flask_babel import lazy_gettext as _l
from wtforms import HiddenField, RadioField, SelectField, StringField
from wtforms.validators import DataRequired, Length, Optional

from marketplace.web.forms import Form
from marketplace.web.security.fields import MoneyField

WALK_IN = "walk-in"


class OrderForm(Form):
    """Who the order is for and how it is paid; quantities come as `qty-<variant id>` fields."""

    customer = SelectField(_l("For"), validators=[DataRequired()])
    walk_in_name = StringField(_l("Walk-in customer's name"), validators=[Optional(), Length(max=60)])
    walk_in_phone = StringField(_l("Phone (optional)"), validators=[Optional(), Length(max=30)])
    payment_method = RadioField(_l("Payment"), choices=[
        ("earnings", _l("From the household's earnings")),
        ("cash", _l("Cash at pickup")),
        ("stripe", _l("Card, Alipay or WeChat Pay now")),
    ], default="cash", validators=[DataRequired()])


class PickupForm(Form):
    code = StringField(_l("Pickup code"), validators=[DataRequired(), Length(max=12)])
    cash = MoneyField(_l("Cash the villager gave (yuan)"), validators=[Optional(), Length(max=20)],
                      message=_l("Enter the cash received in yuan, e.g. 165.00."))


class ParcelPickupForm(Form):
    """The pickup code of a buyer's parcels (uplink goods picked up at the service point)."""
    code = StringField(_l("Pickup code"), validators=[DataRequired(), Length(max=12)])


class ConfirmForm(Form):
    """A button that only needs its CSRF token."""

    confirm = HiddenField(default="1")
