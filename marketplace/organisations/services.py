"""Registering organisations and their yearly quotas (platform admin), and who belongs to which."""
from decimal import Decimal, InvalidOperation

from flask_babel import lazy_gettext as _
from sqlalchemy import select

from marketplace.audit.services import record
from marketplace.errors import Conflict, DomainError, Forbidden, NotFound
from marketplace.extensions import db
from marketplace.organisations import credit_code
from marketplace.organisations.errors import BadCreditCode
from marketplace.organisations.models import KINDS, PAYMENT_TERMS, Organisation, OrganisationMember, OrganisationQuota
from marketplace.people.models import User
from marketplace.places.models import Town


def _admin(actor_id):
    actor = db.session.get(User, actor_id)
    if actor is None or actor.role != "admin" or not actor.is_active_account:
        raise Forbidden(_("Only the platform admin does this."))
    return actor


def _share(text):
    """A required share typed as a percentage ("30" or "30%") as a rate (0.30)."""
    try:
        value = Decimal(str(text).strip().rstrip("%").strip())
    except InvalidOperation as error:
        raise DomainError(_("Enter the required share as a percentage from 1 to 100."), field="required_share") from error
    if not value.is_finite() or not 0 < value <= 100 or value != value.quantize(Decimal("0.01")):
        raise DomainError(_("Enter the required share as a percentage from 1 to 100."), field="required_share")
    return (value / 100).quantize(Decimal("0.0001"))


def register_organisation(actor_id, name, code, kind, town_id, district, year, declared_total_fen, required_share,
                          payment_terms="pay_first"):
    """A new organisation with its first year's quota and its payment terms (PAYMENT_TERMS). Refused,
    with nothing saved, when the unified social credit code fails its check or is already registered."""
    _admin(actor_id)
    name = (name or "").strip()
    if not 2 <= len(name) <= 120:
        raise DomainError(_("Enter the organisation's registered name."), field="name")
    code = credit_code.normalised(code)
    if not credit_code.is_valid(code):
        raise BadCreditCode(_("%(code)s is not a valid unified social credit code: check its 18 characters.",
                              code=code or "—"), field="credit_code")
    if kind not in KINDS:
        raise DomainError(_("Choose what kind of organisation this is."), field="kind")
    if town_id is not None and db.session.get(Town, town_id) is None:
        raise DomainError(_("Choose a town."), field="town_id")
    if payment_terms not in PAYMENT_TERMS:
        raise DomainError(_("Choose when the organisation pays."), field="payment_terms")
    if db.session.scalar(select(Organisation.id).where(Organisation.credit_code == code)):
        raise Conflict(_("An organisation with this credit code is already registered."), field="credit_code")
    organisation = Organisation(name=name, credit_code=code, kind=kind, town_id=town_id,
                                district=(district or "").strip()[:80], payment_terms=payment_terms,
                                created_by_id=actor_id)
    db.session.add(organisation)
    db.session.flush()
    _set_quota(organisation.id, year, declared_total_fen, required_share)
    record("organisation.registered", actor_id, organisation, town_id=town_id, credit_code=code, kind=kind,
           payment_terms=payment_terms)
    db.session.commit()
    return organisation


def set_quota(actor_id, organisation_id, year, declared_total_fen, required_share):
    """Declare (or correct) an organisation's purchasing total and required share for a year."""
    _admin(actor_id)
    organisation = db.session.get(Organisation, organisation_id)
    if organisation is None:
        raise NotFound(_("No such organisation."))
    quota = _set_quota(organisation_id, year, declared_total_fen, required_share)
    record("organisation.quota_set", actor_id, organisation, town_id=organisation.town_id, year=year,
           declared_total_fen=declared_total_fen, required_share=str(quota.required_share))
    db.session.commit()
    return quota


def set_payment_terms(actor_id, organisation_id, payment_terms):
    """Change when an organisation pays (PAYMENT_TERMS). Each request keeps the terms the organisation
    had when it was submitted, so this changes only the requests submitted from now on."""
    _admin(actor_id)
    organisation = db.session.get(Organisation, organisation_id)
    if organisation is None:
        raise NotFound(_("No such organisation."))
    if payment_terms not in PAYMENT_TERMS:
        raise DomainError(_("Choose when the organisation pays."), field="payment_terms")
    if organisation.payment_terms == payment_terms:
        return organisation
    before = organisation.payment_terms
    organisation.payment_terms = payment_terms
    record("organisation.payment_terms_changed", actor_id, organisation, town_id=organisation.town_id,
           before=before, after=payment_terms)
    db.session.commit()
    return organisation


def _set_quota(organisation_id, year, declared_total_fen, required_share):
    if not isinstance(year, int) or not 2020 <= year <= 2100:
        raise DomainError(_("Enter a year from 2020 to 2100."), field="year")
    if not isinstance(declared_total_fen, int) or declared_total_fen <= 0:
        raise DomainError(_("Enter the year's total food purchasing, more than zero."), field="declared_total")
    share = _share(required_share)
    quota = db.session.scalar(select(OrganisationQuota).where(OrganisationQuota.organisation_id == organisation_id,
                                                             OrganisationQuota.year == year))
    if quota is None:
        quota = OrganisationQuota(organisation_id=organisation_id, year=year)
        db.session.add(quota)
    quota.declared_total_fen, quota.required_share = declared_total_fen, share
    db.session.flush()
    return quota


def membership(user_id):
    """The user's place in an organisation, or None (most buyers buy for themselves)."""
    return db.session.scalar(select(OrganisationMember).where(OrganisationMember.user_id == user_id))


def organisations():
    return db.session.scalars(select(Organisation).order_by(Organisation.id)).all()
