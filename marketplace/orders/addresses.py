"""Delivery addresses by region: three picks from GB/T 2260 (province, city, district) and a
detail line, checked here for checkout and for the buyer's saved addresses alike."""
from dataclasses import dataclass

from flask_babel import lazy_gettext as _
from sqlalchemy import select, update

from marketplace.errors import Conflict, DomainError, NotFound
from marketplace.extensions import db
from marketplace.orders.models import SavedAddress
from marketplace.places import regions

DETAIL_MAX = 120
MAX_SAVED = 20
_FIELD_MESSAGES = {
    "province": _("Choose a province from the list."),
    "city": _("Choose a city of the chosen province."),
    "district": _("Choose a district of the chosen city."),
}


@dataclass(frozen=True)
class RegionAddress:
    region_code: str
    region_name: str
    detail: str

    @property
    def full(self):
        return f"{self.region_name}{self.detail}"


def region_address(province_code, city_code, district_code, detail):
    """The checked address, or DomainError naming the field at fault (a code that does not
    exist, a city of another province, a detail line empty or too long)."""
    try:
        code = regions.check_choice(province_code, city_code, district_code)
    except ValueError as error:
        field = str(error)
        raise DomainError(_FIELD_MESSAGES[field], field=field) from None
    detail = " ".join(str(detail or "").split())
    if not 2 <= len(detail) <= DETAIL_MAX:
        raise DomainError(_("Enter the street, building and room (2 to %(max)d characters).", max=DETAIL_MAX),
                          field="address_detail")
    return RegionAddress(code, regions.full_name(code), detail)


@dataclass(frozen=True)
class RegionPicks:
    """What a form sent for a region address: the three GB/T 2260 picks and the detail line, unchecked."""

    province_code: str | None
    city_code: str | None
    district_code: str | None
    detail: str = ""

    def checked(self):
        return region_address(self.province_code, self.city_code, self.district_code, self.detail)


def saved_addresses(buyer_id):
    """The buyer's addresses, the default first, then the newest."""
    return db.session.scalars(select(SavedAddress).where(SavedAddress.buyer_id == buyer_id)
                              .order_by(SavedAddress.is_default.desc(), SavedAddress.id.desc())).all()


def default_address(buyer_id):
    return db.session.scalar(select(SavedAddress).where(SavedAddress.buyer_id == buyer_id,
                                                        SavedAddress.is_default.is_(True)))


def saved_address(buyer_id, address_id):
    """One of the buyer's addresses; another buyer's does not exist for them."""
    address = db.session.get(SavedAddress, address_id) if address_id else None
    if address is None or address.buyer_id != buyer_id:
        raise NotFound(_("No such address."))
    return address


def add_address(buyer_id, recipient_name, recipient_phone, address, make_default=False, commit=True):
    """Keep a checked RegionAddress for the buyer; the first one becomes the default. The same
    address twice is kept once (checkout's "save this address" on an address already saved)."""
    from marketplace.orders.checkout import PHONE_PATTERN  # checkout imports this module

    recipient_name, recipient_phone = str(recipient_name or "").strip(), str(recipient_phone or "").strip()
    if not 1 <= len(recipient_name) <= 80:
        raise DomainError(_("Enter the recipient's name."), field="recipient_name")
    if not PHONE_PATTERN.match(recipient_phone):
        raise DomainError(_("Enter a phone number we can call."), field="recipient_phone")
    kept = saved_addresses(buyer_id)
    same = next((a for a in kept if (a.recipient_name, a.recipient_phone, a.region_code, a.address_detail)
                 == (recipient_name, recipient_phone, address.region_code, address.detail)), None)
    if same is None:
        if len(kept) >= MAX_SAVED:
            raise Conflict(_("You can keep at most %(count)d addresses; delete one first.", count=MAX_SAVED))
        same = SavedAddress(buyer_id=buyer_id, recipient_name=recipient_name, recipient_phone=recipient_phone,
                            region_code=address.region_code, region_name=address.region_name,
                            address_detail=address.detail, is_default=False)
        db.session.add(same)
        db.session.flush()
    if make_default or not kept:
        _make_default(buyer_id, same)
    if commit:
        db.session.commit()
    return same


def _make_default(buyer_id, address):
    # The old default is cleared first: the unique index allows one default per buyer.
    db.session.execute(update(SavedAddress).where(SavedAddress.buyer_id == buyer_id, SavedAddress.id != address.id,
                                                  SavedAddress.is_default.is_(True))
                       .values(is_default=False).execution_options(synchronize_session="fetch"))
    address.is_default = True
    db.session.flush()


def set_default(buyer_id, address_id):
    _make_default(buyer_id, saved_address(buyer_id, address_id))
    db.session.commit()


def delete_address(buyer_id, address_id):
    """Remove one of the buyer's addresses; if it was the default, the newest left becomes it.
    Orders keep their own copy of the address, so none changes."""
    address = saved_address(buyer_id, address_id)
    was_default = address.is_default
    db.session.delete(address)
    db.session.flush()
    if was_default:
        newest = db.session.scalar(select(SavedAddress).where(SavedAddress.buyer_id == buyer_id)
                                   .order_by(SavedAddress.id.desc()).limit(1))
        if newest is not None:
            _make_default(buyer_id, newest)
    db.session.commit()
