from flask_babel import lazy_gettext as _
from wtforms import (BooleanField, EmailField, HiddenField, IntegerField, PasswordField, RadioField, SelectField,
                     SelectMultipleField, StringField)
from wtforms.validators import DataRequired, Email, EqualTo, InputRequired, Length, NumberRange, Optional, ValidationError

from marketplace.catalog.browse import LABEL_COLUMNS, SORTS
from marketplace.catalog.listings import MAX_PRICE_FEN
from marketplace.web.forms import Form
from marketplace.web.security.fields import LARGEST_WHOLE_NUMBER, WholeNumberField
from marketplace.money import MoneyError, format_fen, yuan_to_fen
from marketplace.orders.cart import MAX_QUANTITY

QUANTITY_MESSAGE = _("Choose a quantity from 1 to 99.")


class QuantityField(IntegerField):
    """A whole number of units; anything else ("abc", "1.5", a number of 400 digits) gets the same plain message."""

    def process_formdata(self, valuelist):
        if valuelist and valuelist[0] not in ("", None):
            try:
                self.data = int(valuelist[0])
            except ValueError as error:
                self.data = None
                raise ValueError(QUANTITY_MESSAGE) from error
            if abs(self.data) > LARGEST_WHOLE_NUMBER:
                self.data = None
                raise ValueError(QUANTITY_MESSAGE)


def quantity_field(**kwargs):
    return QuantityField(_("Quantity"), validators=[InputRequired(QUANTITY_MESSAGE),
                                                    NumberRange(1, MAX_QUANTITY, QUANTITY_MESSAGE)], **kwargs)


class AddToCartForm(Form):
    variant_id = WholeNumberField(validators=[InputRequired(_("Choose a size."))])
    quantity = quantity_field(default=1)


class QuantityForm(Form):
    quantity = quantity_field()


class CheckoutForm(Form):
    delivery_kind = RadioField(_("Delivery"), default="address",
                               choices=[("address", _("Deliver to my address")), ("pickup", _("Pick up at a service point"))])
    recipient_name = StringField(_("Recipient"), validators=[DataRequired(_("Enter the recipient's name.")), Length(max=80)])
    recipient_phone = StringField(_("Phone"), validators=[DataRequired(_("Enter a phone number we can call.")), Length(max=30)])
    address = StringField(_("Address"), validators=[Optional(), Length(max=300)])
    service_point_id = SelectField(_("Pickup point"), coerce=int, validate_choice=False, validators=[Optional()])
    round_up = BooleanField(_("Round up for the love fund"))


def _yuan(field):
    if field.data in (None, ""):
        return None
    try:
        amount = yuan_to_fen(field.data)
    except MoneyError as error:
        raise ValidationError(_("Enter a price in yuan, such as 25 or 25.50.")) from error
    if amount < 0:
        raise ValidationError(_("Enter a price in yuan, such as 25 or 25.50."))
    if amount > MAX_PRICE_FEN:  # no product may cost more; PostgreSQL's integer ends soon after
        raise ValidationError(_("Enter a price of at most %(most)s.", most=format_fen(MAX_PRICE_FEN)))
    return amount


class BrowseForm(Form):
    """The catalogue's query string: every field optional; anything malformed is a 400."""

    class Meta:
        csrf = False

    q = StringField(validators=[Optional(), Length(max=100)])
    category = WholeNumberField(validators=[Optional()])
    town = WholeNumberField(validators=[Optional()])
    village = WholeNumberField(validators=[Optional()])
    cooperative = WholeNumberField(validators=[Optional()])
    household = WholeNumberField(validators=[Optional()])
    label = SelectMultipleField(choices=[(key, key) for key in LABEL_COLUMNS])
    min_price = StringField(validators=[Optional(), Length(max=12)])
    max_price = StringField(validators=[Optional(), Length(max=12)])
    sort = SelectField(choices=[(key, key) for key in SORTS], default="featured", validators=[Optional()])
    page = WholeNumberField(default=1, validators=[Optional(), NumberRange(1, 10_000)])
    min_price_fen = max_price_fen = None  # set by validation when the price fields are filled

    def validate_min_price(self, field):
        self.min_price_fen = _yuan(field)

    def validate_max_price(self, field):
        self.max_price_fen = _yuan(field)


class SignUpForm(Form):
    name = StringField(_("Your name"), validators=[Optional(), Length(max=80)])
    email = EmailField(_("E-mail"), validators=[DataRequired(), Email(), Length(max=254)])
    password = PasswordField(_("Password"), validators=[DataRequired(), Length(min=8, max=200)])
    confirm = PasswordField(_("Password again"),
                            validators=[DataRequired(), EqualTo("password", _("The two passwords differ."))])


class ForgotPasswordForm(Form):
    email = EmailField(_("E-mail"), validators=[DataRequired(), Email(), Length(max=254)])


class ResetPasswordForm(Form):
    password = PasswordField(_("New password"), validators=[DataRequired(), Length(min=8, max=200)])
    confirm = PasswordField(_("Password again"),
                            validators=[DataRequired(), EqualTo("password", _("The two passwords differ."))])


class ConfirmForm(Form):
    """A button that only needs its CSRF token (pay, cancel, remove)."""

    confirm = HiddenField(default="1")
