from flask_babel import lazy_gettext as _
from wtforms import (BooleanField, EmailField, HiddenField, PasswordField, RadioField, SelectField, SelectMultipleField, SubmitField,
                     StringField)
from wtforms.validators import AnyOf, DataRequired, Email, EqualTo, InputRequired, Length, NumberRange, Optional

from marketplace.catalog.browse import LABEL_COLUMNS, SORTS
from marketplace.catalog.listings import MAX_PRICE_FEN
from marketplace.catalog.models import Variant
from marketplace.catalog.ranking import RELEVANCE
from marketplace.money import format_fen
from marketplace.orders.cart import MAX_QUANTITY
from marketplace.web.forms import Form
from marketplace.web.security.fields import MoneyField, WholeNumberField, whole_number

QUANTITY_MESSAGE = _("Choose a quantity from 1 to 99.")
PRICE_MESSAGE = _("Enter a price in yuan, such as 25 or 25.50.")
PRICE_RANGE_MESSAGE = _("Enter a price of at most %(most)s.", most=format_fen(MAX_PRICE_FEN))


def quantity_field(**kwargs):
    return WholeNumberField(_("Quantity"), validators=[InputRequired(QUANTITY_MESSAGE),
                                                       NumberRange(1, MAX_QUANTITY, QUANTITY_MESSAGE)],
                            message=QUANTITY_MESSAGE, **kwargs)


class AddToCartForm(Form):
    variant_id = WholeNumberField(validators=[InputRequired(_("Choose a size."))], column=Variant.id)
    quantity = quantity_field(default=1)


class QuantityForm(Form):
    quantity = quantity_field()


class RegionAddressFields(Form):
    """Who receives the goods and where: checkout's and the address book's same fields."""

    recipient_name = StringField(_("Recipient"), validators=[DataRequired(_("Enter the recipient's name.")), Length(max=80)])
    recipient_phone = StringField(_("Phone"), validators=[DataRequired(_("Enter a phone number we can call.")), Length(max=30)])
    # The region's three picks are checked against GB/T 2260 by orders.addresses (validate_choice
    # off: the choices depend on the picks before them, and a refusal must say which pick is wrong).
    province = SelectField(_("Province"), validate_choice=False, validators=[Optional()])
    city = SelectField(_("City"), validate_choice=False, validators=[Optional()])
    district = SelectField(_("District or county"), validate_choice=False, validators=[Optional()])
    address_detail = StringField(_("Street, building and room"), validators=[Optional(), Length(max=300)])
    # Without JavaScript, this posts the form back to fill the next select (an input, not a
    # button: the page's one submit button places the order or saves the address).
    region_step = SubmitField(_("Choose this region"))


class RegionDeliveryFields(RegionAddressFields):
    """Where an order goes: the region picks and a choice of the buyer's saved addresses (checkout,
    a harvest pre-order, a subscription box alike)."""

    delivery_kind = RadioField(_("Delivery"), default="address",
                               choices=[("address", _("Deliver to my address")), ("pickup", _("Pick up at a service point"))])
    saved_address_id = SelectField(_("My saved addresses"), coerce=whole_number, validate_choice=False,
                                   validators=[Optional()])
    use_saved = SubmitField(_("Use this address"))
    service_point_id = SelectField(_("Pickup point"), coerce=whole_number, validate_choice=False, validators=[Optional()])


class CheckoutForm(RegionDeliveryFields):
    save_address = BooleanField(_("Save this address for next time"))
    round_up = BooleanField(_("Round up for the love fund"))
    use_store_credit = BooleanField(_("Use my store credit"))


class AddressForm(RegionAddressFields):
    """A saved address on /account/addresses: the same picks as checkout's."""

    make_default = BooleanField(_("Make this my default address"))


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
    min_price = MoneyField(validators=[Optional(), Length(max=12)], maximum_fen=MAX_PRICE_FEN, message=PRICE_MESSAGE,
                           range_message=PRICE_RANGE_MESSAGE)
    max_price = MoneyField(validators=[Optional(), Length(max=12)], maximum_fen=MAX_PRICE_FEN, message=PRICE_MESSAGE,
                           range_message=PRICE_RANGE_MESSAGE)
    # Blank means the default (relevance for a search, else featured); any other text (" " included)
    # must be one of the sorts.
    sort = SelectField(choices=[(key, key) for key in (RELEVANCE, *SORTS)], default="",
                       validators=[Optional(strip_whitespace=False)])
    page = WholeNumberField(default=1, validators=[Optional(), NumberRange(1, 10_000)])

    @property
    def min_price_fen(self):
        return self.min_price.fen

    @property
    def chosen_sort(self):
        """Relevance for a search unless another sort is asked for; featured for a listing."""
        searching = bool((self.q.data or "").strip())
        if self.sort.data == RELEVANCE or not self.sort.data:
            return RELEVANCE if searching else "featured"
        return self.sort.data

    @property
    def max_price_fen(self):
        return self.max_price.fen


# Every refusal of the sign-up forms in the reader's language (WTForms' own are English, or
# machine-like in Chinese: 「无效的 Email 地址」).
EMAIL_VALIDATORS = [DataRequired(_("Enter your e-mail address.")),
                    Email(_("This is not an e-mail address; it looks like name@example.com.")),
                    Length(max=254, message=_("An e-mail address has at most %(max)d characters."))]


class SignUpForm(Form):
    name = StringField(_("Your name"), validators=[Optional(), Length(max=80, message=_("A name has at most %(max)d characters."))])
    email = EmailField(_("E-mail"), validators=EMAIL_VALIDATORS)
    password = PasswordField(_("Password"), validators=[
        DataRequired(_("Choose a password.")),
        Length(min=8, max=200, message=_("A password has %(min)d to %(max)d characters."))])
    confirm = PasswordField(_("Password again"),
                            validators=[DataRequired(_("Type the password again.")),
                                        EqualTo("password", _("The two passwords differ."))])


class ForgotPasswordForm(Form):
    email = EmailField(_("E-mail"), validators=EMAIL_VALIDATORS)


class ResetPasswordForm(Form):
    password = PasswordField(_("New password"), validators=[DataRequired(), Length(min=8, max=200)])
    confirm = PasswordField(_("Password again"),
                            validators=[DataRequired(), EqualTo("password", _("The two passwords differ."))])


class ConfirmForm(Form):
    """A button that only needs its CSRF token (pay, cancel, remove)."""

    confirm = HiddenField(default="1")


class WalletForm(Form):
    """Pay with WeChat Pay or Alipay (the methods Stripe offers besides cards)."""

    method = StringField(validators=[AnyOf(("wechat_pay", "alipay"), message=_("Choose WeChat Pay or Alipay."))])


class SimulateWalletForm(Form):
    """The local test payment server only: what the buyer's phone does with the QR or Alipay page."""

    outcome = StringField(validators=[AnyOf(("succeed", "fail", "expire"))])


from wtforms import TextAreaField  # noqa: E402  (the claim form's note)

CLAIM_QUANTITY_MESSAGE = _("Enter how many units are affected.")


class ClaimForm(Form):
    """A buyer's after-sales claim on one line of a delivered parcel (photos come as files)."""

    reason = RadioField(_("What is wrong?"), choices=[
        ("damaged", _("Damaged in transit")), ("spoiled", _("Spoiled or rotten")), ("short_weight", _("Short weight")),
        ("wrong_item", _("Wrong item")), ("not_received", _("Not received"))],
        validators=[InputRequired(_("Choose what is wrong."))])
    quantity = WholeNumberField(_("Units affected"), validators=[InputRequired(CLAIM_QUANTITY_MESSAGE),
                                                                NumberRange(1, 9_999, CLAIM_QUANTITY_MESSAGE)],
                                message=CLAIM_QUANTITY_MESSAGE)
    remedy = RadioField(_("What would you like?"), default="refund", choices=[
        ("refund", _("A refund to my original payment method")), ("replacement", _("A replacement"))],
        validators=[InputRequired(_("Choose a refund or a replacement."))])
    refund_to = RadioField(_("Refund to"), default="original", choices=[
        ("original", _("My original payment method")),
        ("store_credit", _("Store credit, to spend on my next order"))])  # left out: the original method
    note = TextAreaField(_("Note (optional)"), validators=[Optional(), Length(max=500)])


PREORDER_QUANTITY_MESSAGE = _("Choose a quantity from 1 to 999.")


class PreOrderForm(RegionDeliveryFields):
    """A buyer's pre-order of a pre-sale: how many, and where the harvest goes (by region, as checkout)."""

    quantity = WholeNumberField(_("Quantity"), default=1, validators=[
        InputRequired(PREORDER_QUANTITY_MESSAGE), NumberRange(1, 999, PREORDER_QUANTITY_MESSAGE)],
        message=PREORDER_QUANTITY_MESSAGE)


class GuestPhoneForm(Form):
    """A mainland mobile number, then the one-time code texted to it (one page, two steps)."""

    step = HiddenField(default="send", validators=[AnyOf(("send", "verify"), message=_("Please start again."))])
    phone = StringField(_("Mobile number"), validators=[DataRequired(_("Enter your mobile number.")), Length(max=20)])
    code = StringField(_("Code from the text message"), validators=[Optional(), Length(max=6, message=_(
        "The code has 6 digits."))])


SUBSCRIPTION_QUANTITY_MESSAGE = _("Choose from 1 to 50 per delivery.")


class SubscriptionForm(RegionDeliveryFields):
    """A subscription box: how many of the variant each delivery, how often, and where it goes.
    The interval is checked by the service, which says which intervals are offered."""

    quantity = WholeNumberField(_("Quantity per delivery"), default=1, validators=[
        InputRequired(SUBSCRIPTION_QUANTITY_MESSAGE), NumberRange(1, 50, SUBSCRIPTION_QUANTITY_MESSAGE)],
        message=SUBSCRIPTION_QUANTITY_MESSAGE)
    interval = StringField(_("How often"), default="monthly")


class TestCardForm(Form):
    """The local stand-in's card step: which of its test cards to save."""

    card = StringField(default="4242424242424242")
