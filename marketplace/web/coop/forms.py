from decimal import Decimal, InvalidOperation

from flask_babel import lazy_gettext as _
from flask_wtf.file import FileField, FileRequired
from wtforms import BooleanField, DateField, HiddenField, SelectField, StringField, TextAreaField
from wtforms.validators import DataRequired, InputRequired, Length, NumberRange, Optional, ValidationError

from marketplace.catalog.listings import MAX_PRICE_FEN, MAX_STOCK
from marketplace.catalog.models import SupplyLot, Variant
from marketplace.coops.models import SHARE_KINDS
from marketplace.coops.services import MAX_LOT_QUANTITY
from marketplace.orders.fulfilment import CARRIERS
from marketplace.web.forms import Form
from marketplace.web.security.fields import MoneyField, WholeNumberField, whole_number

UNIT_LABELS = {"jin": _("jin (斤)"), "kg": _("kg"), "box": _("box"), "bag": _("bag"), "bottle": _("bottle"),
               "piece": _("piece"), "pack": _("pack")}
GRADE_LABELS = {"特级": _("Premium"), "一级": _("Grade 1"), "二级": _("Grade 2"), "三级": _("Grade 3")}
SHARE_KIND_LABELS = {"land": _("Land (mu)"), "house": _("House"), "fund": _("Poverty-fund shares"), "cash": _("Cash shares")}
CARRIER_LABELS = {"顺丰速运": _("SF Express"), "中国邮政": _("China Post"), "京东物流": _("JD Logistics"),
                  "中通快递": _("ZTO Express"), "圆通速递": _("YTO Express"), "韵达快递": _("Yunda Express"),
                  "申通快递": _("STO Express")}

# Ledger rule names (JournalEntry.rule) of the money that reaches households through a cooperative.
MECHANISM_LABELS = {"floor_purchase": _("Floor purchase"), "profit_return": _("Profit return"),
                    "dividend": _("Share dividend")}


def YuanField(label, validators=None, **kwargs):  # noqa: N802 — used as a field class
    """A price typed in yuan ("12.5", "¥38"); `fen` holds the parsed int of fen."""
    return MoneyField(label, validators, maximum_fen=MAX_PRICE_FEN,
                      range_message=_("Enter an amount from ¥0 to ¥100,000."), **kwargs)


class PercentField(StringField):
    """A rate typed in per cent ("30", "12.5%"); `rate` holds it as a Decimal fraction (0.30)."""

    rate = None

    def pre_validate(self, form):
        try:
            percent = Decimal((self.data or "").strip().rstrip("%").strip())
        except InvalidOperation as error:
            raise ValidationError(_("Enter a percentage from 0 to 100.")) from error
        if not percent.is_finite() or not 0 <= percent <= 100 or percent != percent.quantize(Decimal("0.01")):
            raise ValidationError(_("Enter a percentage from 0 to 100."))
        self.rate = percent / 100


class ProductForm(Form):
    title_zh = StringField(_("Title in Chinese"), validators=[DataRequired(), Length(max=120)])
    title_en = StringField(_("Title in English (optional: English readers see the Chinese without it)"),
                           validators=[Optional(), Length(max=160)])
    category_id = SelectField(_("Category"), coerce=whole_number, validators=[InputRequired()])
    story_zh = TextAreaField(_("Story in Chinese"), validators=[Length(max=4000)])
    story_en = TextAreaField(_("Story in English"), validators=[Length(max=6000)])
    label_selenium_rich = BooleanField(_("Selenium-rich"))
    label_organic = BooleanField(_("Organic"))
    label_poor_household_direct = BooleanField(_("Poor-household direct"))

    def values(self):
        return {name: getattr(self, name).data for name in (
            "title_zh", "title_en", "category_id", "story_zh", "story_en",
            "label_selenium_rich", "label_organic", "label_poor_household_direct")}


class NewProductForm(ProductForm):
    lot_unit = SelectField(_("Unit households deliver it in (lots and the floor price count in it)"),
                           choices=list(UNIT_LABELS.items()), default="jin", validators=[DataRequired()])
    floor_price = YuanField(_("Guaranteed floor price per that unit (yuan, optional)"), validators=[Optional()])


class VariantForm(Form):
    name_zh = StringField(_("Name in Chinese"), validators=[DataRequired(), Length(max=80)])
    name_en = StringField(_("Name in English (optional)"), validators=[Optional(), Length(max=120)])
    unit = SelectField(_("Unit"), choices=list(UNIT_LABELS.items()), validators=[InputRequired()])
    price = YuanField(_("Price (yuan)"), validators=[DataRequired()])
    stock_available = WholeNumberField(_("Stock"), default=0, validators=[InputRequired(), NumberRange(0, MAX_STOCK)],
                                       column=Variant.stock_available)
    weight_grams = WholeNumberField(_("Weight (grams)"), default=500, validators=[InputRequired(), NumberRange(0, 100_000)],
                                    column=Variant.weight_grams)
    lot_units = WholeNumberField(_("Lot units per item"), default=1, validators=[InputRequired(), NumberRange(1, 10_000)],
                                 column=Variant.lot_units)
    stock_seen = HiddenField()

    def values(self):
        return {"name_zh": self.name_zh.data, "name_en": self.name_en.data, "unit": self.unit.data,
                "price_fen": self.price.fen, "stock_available": self.stock_available.data,
                "weight_grams": self.weight_grams.data, "lot_units": self.lot_units.data}


class PhotoForm(Form):
    photo = FileField(_("Photo (JPEG, PNG or WebP, up to 5 MB)"), validators=[FileRequired()])


class StatusForm(Form):
    status = HiddenField(validators=[DataRequired()])


class LotForm(Form):
    token = HiddenField(validators=[DataRequired(), Length(max=64)])
    household_id = SelectField(_("Household"), coerce=whole_number, validators=[InputRequired()])
    product_id = SelectField(_("Product"), coerce=whole_number, validators=[InputRequired()])
    quantity = WholeNumberField(_("Quantity (lot units)"), validators=[InputRequired(), NumberRange(1, MAX_LOT_QUANTITY)],
                                column=SupplyLot.quantity)
    grade = SelectField(_("Quality grade"), choices=list(GRADE_LABELS.items()), validators=[InputRequired()])
    received_on = DateField(_("Delivered on"), validators=[Optional()])
    variant_id = SelectField(_("Put on sale as"), coerce=whole_number, validators=[Optional()])


class AdmitForm(Form):
    household_id = SelectField(_("Household"), coerce=whole_number, validators=[InputRequired()])


class SharesForm(Form):
    kind = SelectField(_("Kind of share"), choices=list(SHARE_KIND_LABELS.items()), validators=[InputRequired()])
    quantity = StringField(_("Shares held now"), validators=[DataRequired(), Length(max=20)])
    note = StringField(_("Note"), validators=[Length(max=200)])


class RuleForm(Form):
    profit_return_percent = PercentField(_("Profit return to suppliers (%)"), validators=[DataRequired()])
    dividend_percent = PercentField(_("Dividend share of period profit (%)"), validators=[DataRequired()])
    period = SelectField(_("Dividend period"), choices=[("month", _("Month")), ("quarter", _("Quarter"))])
    weight_land = StringField(_("Weight of a land share"), validators=[DataRequired(), Length(max=10)])
    weight_house = StringField(_("Weight of a house share"), validators=[DataRequired(), Length(max=10)])
    weight_fund = StringField(_("Weight of a fund share"), validators=[DataRequired(), Length(max=10)])
    weight_cash = StringField(_("Weight of a cash share"), validators=[DataRequired(), Length(max=10)])
    note = StringField(_("Reason for the change"), validators=[Length(max=200)])

    def weights(self):
        return {kind: getattr(self, f"weight_{kind}").data for kind in SHARE_KINDS}


class FloorPriceForm(Form):
    floor_price = YuanField(_("New floor price per lot unit (yuan)"), validators=[DataRequired()])
    note = StringField(_("Reason for the change"), validators=[Length(max=200)])


class ClosePeriodForm(Form):
    preview_id = WholeNumberField(validators=[InputRequired()])
    period_start = DateField(validators=[Optional()])  # where to preview again if the confirm is refused


class ShipForm(Form):
    carrier = SelectField(_("Carrier"), choices=[(code, CARRIER_LABELS[code]) for code in CARRIERS])
    tracking_no = StringField(_("Tracking number"), validators=[DataRequired(), Length(max=60)])


class ConfirmForm(Form):
    """A button that only carries the CSRF token."""


class DirectListingForm(ProductForm):
    household_id = SelectField(_("Household"), coerce=whole_number, validators=[InputRequired()])
    variant_name_zh = StringField(_("Pack in Chinese, e.g. 500克瓶装"), validators=[DataRequired(), Length(max=80)])
    variant_name_en = StringField(_("Pack in English, e.g. 500 g jar"), validators=[DataRequired(), Length(max=120)])
    unit = SelectField(_("Unit"), choices=list(UNIT_LABELS.items()), validators=[InputRequired()])
    price = YuanField(_("Price (yuan)"), validators=[DataRequired()])
    stock_available = WholeNumberField(_("Stock"), default=0, validators=[InputRequired(), NumberRange(0, MAX_STOCK)],
                                       column=Variant.stock_available)

    def variant_values(self):
        return {"name_zh": self.variant_name_zh.data, "name_en": self.variant_name_en.data, "unit": self.unit.data,
                "price_fen": self.price.fen, "stock_available": self.stock_available.data}


class ClaimAnswerForm(Form):
    """A seller's answer to an after-sales claim: accept, offer a partial refund (yuan), or reject with a reason."""

    action = SelectField(_("Answer"), choices=[("accept", _("Accept")), ("offer", _("Offer a partial refund")),
                                               ("reject", _("Reject"))],
                         validators=[InputRequired(_("Choose how to answer the claim."))])
    offer = MoneyField(_("Partial refund (yuan)"), validators=[Optional()], minimum_fen=1)
    reason = TextAreaField(_("Reason (needed to reject)"), validators=[Optional(), Length(max=500)])


SHORT_POLICY_LABELS = {"last_first": _("Refund the last orders first"), "pro_rata": _("Cut every order pro rata")}
UNPAID_POLICY_LABELS = {"refund": _("Refund the deposit"), "forfeit": _("The deposit is forfeited to the cooperative")}


class PreSaleForm(Form):
    """A cooperative's pre-sale (预售) of one variant's coming harvest."""

    variant_id = SelectField(_("Variant"), coerce=whole_number, validators=[InputRequired()])
    expected_quantity = WholeNumberField(_("Expected harvest (items of the variant)"),
                                         validators=[InputRequired(), NumberRange(1, 100_000)])
    price = YuanField(_("Price per item (yuan)"), validators=[DataRequired()])
    deposit = YuanField(_("Deposit per item (yuan; the price itself for full prepayment)"), validators=[DataRequired()])
    orders_close_on = DateField(_("Orders close at the end of"), validators=[InputRequired()])
    ships_from = DateField(_("Ships from"), validators=[InputRequired()])
    ships_until = DateField(_("Ships until"), validators=[InputRequired()])
    short_policy = SelectField(_("If the harvest falls short"), choices=list(SHORT_POLICY_LABELS.items()),
                               validators=[InputRequired()])
    unpaid_policy = SelectField(_("If a balance is not paid in time"), choices=list(UNPAID_POLICY_LABELS.items()),
                                validators=[InputRequired()])
    balance_days = WholeNumberField(_("Days a buyer has to pay the balance"), default=3,
                                    validators=[InputRequired(), NumberRange(1, 30)])


class InvoiceUploadForm(Form):
    """The e-invoice a seller issued for its shipment to an organisation."""

    invoice_number = StringField(_("Invoice number"), validators=[DataRequired(), Length(max=30)])
    amount = MoneyField(_("Invoice amount (yuan)"), validators=[DataRequired(), Length(max=20)], minimum_fen=1,
                        maximum_fen=MAX_PRICE_FEN * MAX_STOCK)
    document = FileField(_("The e-invoice PDF"), validators=[FileRequired()])
