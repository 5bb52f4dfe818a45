from decimal import Decimal, InvalidOperation

from flask_babel import lazy_gettext as _l
from flask_wtf.file import FileAllowed, FileField, FileRequired
from wtforms import BooleanField, EmailField, PasswordField, SelectField, StringField, TextAreaField
from wtforms.validators import DataRequired, Email, EqualTo, Length, Optional, Regexp

from marketplace.money import format_percent
from marketplace.people.models import INVITABLE_ROLES
from marketplace.web.forms import Form
from marketplace.web.security.fields import whole_number


def _names():
    return [StringField(_l("Name (Chinese)"), validators=[DataRequired(), Length(max=60)]),
            StringField(_l("Name (English)"), validators=[DataRequired(), Length(max=80)])]


class TownForm(Form):
    slug = StringField(_l("Short name for links"), validators=[DataRequired(), Length(max=60),
                       Regexp(r"^[a-z0-9-]+$", message=_l("Lower-case letters, digits and dashes only."))])
    name_zh, name_en = _names()


class VillageForm(Form):
    town_id = SelectField(_l("Town"), coerce=whole_number)
    name_zh, name_en = _names()
    is_poor_village = BooleanField(_l("Provincial poor village"))


class ServicePointForm(Form):
    village_id = SelectField(_l("Village"), coerce=whole_number)
    name_zh, name_en = _names()
    address_zh = StringField(_l("Address"), validators=[Optional(), Length(max=200)])
    is_free_stall = BooleanField(_l("Free stall for poor households"))


class CooperativeForm(Form):
    town_id = SelectField(_l("Town"), coerce=whole_number)
    village_id = SelectField(_l("Village"), coerce=whole_number)
    registration_no = StringField(_l("Registration number"), validators=[DataRequired(), Length(max=40)])
    name_zh, name_en = _names()
    story_zh = TextAreaField(_l("Story (Chinese)"), validators=[Optional(), Length(max=4000)])
    story_en = TextAreaField(_l("Story (English)"), validators=[Optional(), Length(max=4000)])


class RateAsPercentField(StringField):
    """A rate typed and shown in per cent ("3", "2.5%"); its data is the Decimal fraction (0.03). Empty is 0."""

    def process_data(self, value):
        self.data = Decimal(value) if value is not None else Decimal(0)

    def process_formdata(self, valuelist):
        if not valuelist:
            return
        try:
            percent = Decimal(valuelist[0].strip().rstrip("%").strip() or "0")
        except InvalidOperation as error:
            raise ValueError(_l("Enter a percentage from 0 to 100.")) from error
        if not percent.is_finite() or not 0 <= percent <= 100 or percent != percent.quantize(Decimal("0.01")):
            raise ValueError(_l("Enter a percentage from 0 to 100."))
        self.data = percent / 100

    def _value(self):
        if self.raw_data:
            return self.raw_data[0]
        return format_percent(self.data or Decimal(0)).rstrip("%")


class SupplierForm(Form):
    name_zh, name_en = _names()
    town_id = SelectField(_l("Town"), coerce=whole_number)
    contact_phone = StringField(_l("Contact phone"), validators=[Optional(), Length(max=30)])
    commission_rate = RateAsPercentField(_l("Agreed commission on its daily goods (%)"), default=Decimal(0))


ROLE_LABELS = {"admin": _l("Platform admin"), "town_staff": _l("Town staff"),
               "coop_manager": _l("Cooperative manager"), "agent": _l("Village agent"), "supplier": _l("Supplier"),
               "org_buyer": _l("Organisation buyer"), "org_approver": _l("Organisation approver"),
               "org_finance": _l("Organisation finance")}


class InviteForm(Form):
    email = EmailField(_l("E-mail"), validators=[DataRequired(), Email(), Length(max=254)])
    name = StringField(_l("Name"), validators=[DataRequired(), Length(max=80)])
    role = SelectField(_l("Role"), choices=[(role, ROLE_LABELS[role]) for role in INVITABLE_ROLES])
    town_id = SelectField(_l("Town (for town staff)"), coerce=whole_number)
    cooperative_id = SelectField(_l("Cooperative (for a manager)"), coerce=whole_number)
    service_point_id = SelectField(_l("Service point (for an agent)"), coerce=whole_number)
    supplier_id = SelectField(_l("Supplier (for a supplier)"), coerce=whole_number)
    organisation_id = SelectField(_l("Organisation (for its buyers, approvers and finance)"), coerce=whole_number,
                                  default=0)


class StatusForm(Form):
    evidence = TextAreaField(_l("Evidence"), validators=[DataRequired(), Length(max=500)])


class ConsentForm(StatusForm):
    label_zh = StringField(_l("Label buyers see (Chinese)"), validators=[Optional(), Length(max=60)])
    label_en = StringField(_l("Label buyers see (English)"), validators=[Optional(), Length(max=80)])


class ImportForm(Form):
    kind = SelectField(_l("What the file holds"),
                       choices=[("households", _l("Households (poverty registry)")),
                                ("memberships", _l("Cooperative memberships and shares"))])
    file = FileField(_l("Spreadsheet (.xlsx or .csv)"),
                     validators=[FileRequired(), FileAllowed(["xlsx", "csv"], _l("Upload an .xlsx or .csv file."))])
    mark_verified = BooleanField(_l("Mark these households verified poor"))
    evidence = StringField(_l("Evidence for the verification"), validators=[Optional(), Length(max=500)])


class AcceptInvitationForm(Form):
    password = PasswordField(_l("Password"), validators=[DataRequired(), Length(min=8, max=200)])
    confirm = PasswordField(_l("Password again"),
                            validators=[DataRequired(), EqualTo("password", message=_l("The passwords differ."))])
