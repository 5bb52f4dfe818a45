from flask_babel import lazy_gettext as _l
from wtforms import BooleanField, SelectField, StringField, TextAreaField
from wtforms.validators import DataRequired, Length, NumberRange, Optional

from marketplace.catalog.models import UNITS
from marketplace.web.forms import Form
from marketplace.catalog.listings import MAX_PRICE_FEN
from marketplace.web.security.fields import MoneyField, WholeNumberField, whole_number

PRICE_MESSAGE = _l("Enter the price in yuan, e.g. 99.00.")
UNIT_LABELS = {"jin": _l("jin (斤)"), "kg": _l("kg"), "box": _l("box"), "bag": _l("bag"), "bottle": _l("bottle"),
               "piece": _l("piece"), "pack": _l("pack")}


class ProductForm(Form):
    category_id = SelectField(_l("Category"), coerce=whole_number, validators=[DataRequired()])
    title_zh = StringField(_l("Name in Chinese"), validators=[DataRequired(), Length(max=120)])
    title_en = StringField(_l("Name in English"), validators=[DataRequired(), Length(max=160)])
    variant_name_zh = StringField(_l("Pack size in Chinese"), validators=[DataRequired(), Length(max=80)])
    variant_name_en = StringField(_l("Pack size in English"), validators=[DataRequired(), Length(max=120)])
    unit = SelectField(_l("Unit"), choices=[(unit, UNIT_LABELS[unit]) for unit in UNITS])
    price = MoneyField(_l("Price (yuan)"), validators=[DataRequired(), Length(max=20)], maximum_fen=MAX_PRICE_FEN,
                       message=PRICE_MESSAGE)
    stock = WholeNumberField(_l("Stock"), validators=[DataRequired(), NumberRange(min=0, max=1_000_000)])
    story_zh = TextAreaField(_l("Description in Chinese"), validators=[Optional(), Length(max=2000)])
    story_en = TextAreaField(_l("Description in English"), validators=[Optional(), Length(max=2000)])


class VariantForm(Form):
    price = MoneyField(_l("Price (yuan)"), validators=[DataRequired(), Length(max=20)], maximum_fen=MAX_PRICE_FEN,
                       message=PRICE_MESSAGE)
    stock = WholeNumberField(_l("Stock"), validators=[NumberRange(min=0, max=1_000_000)])
    is_active = BooleanField(_l("On sale"))


class AreaForm(Form):
    place = SelectField(_l("Deliver to"), validators=[DataRequired()])


class BankAccountForm(Form):
    bank_name = StringField(_l("Bank"), validators=[DataRequired(_l("Enter the name of the bank.")), Length(max=80)])
    account = StringField(_l("Account number"), validators=[
        DataRequired(_l("Enter the account number: 12 to 30 digits.")), Length(max=40)])
