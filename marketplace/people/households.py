"""A household's verified status, public-display consent and sensitive numbers.

Verification drives the zero-commission rule (the ledger reads `is_verified_poor` at sale
time); consent decides whether buyers see the household's label (`Household.public_label`
reads it on every render, so a revocation hides the label from the next page served). Both
are recorded with who, when and on what evidence in `HouseholdStatusChange`.
"""
import re

from flask_babel import lazy_gettext as _
from sqlalchemy import func, or_, select
from sqlalchemy.orm import joinedload

from marketplace.audit.services import record
from marketplace.crypto import blind_index
from marketplace.database import utcnow
from marketplace.errors import DomainError, Forbidden, NotFound
from marketplace.extensions import db
from marketplace.people.models import Household, HouseholdStatusChange, User
from marketplace.places.models import Village

REGISTRY_NO = re.compile(r"^\d{10,20}$")


def household_scope(actor):
    """None for the platform admin; a town's id for its staff; anyone else is refused."""
    if actor is not None and actor.is_active_account and actor.role == "admin":
        return None
    if actor is not None and actor.is_active_account and actor.role == "town_staff":
        return actor.town_id
    raise Forbidden("Only the platform admin and town staff manage households.")


def search_households(actor_id, text=""):
    """A query of the households the actor may see; a registry number is matched by its blind index."""
    scope = household_scope(db.session.get(User, actor_id))
    query = select(Household).join(Village).options(joinedload(Household.village)).order_by(Household.id)
    if scope is not None:
        query = query.where(Village.town_id == scope)
    text = (text or "").strip()[:60]
    if REGISTRY_NO.match(text):
        query = query.where(Household.registry_no_index == blind_index(text))
    elif text:
        query = query.where(or_(Household.head_name.contains(text, autoescape=True),
                                Village.name_zh.contains(text, autoescape=True),
                                func.lower(Village.name_en).contains(text.lower(), autoescape=True)))
    return query


def get_household(household_id, actor_id):
    household = db.session.get(Household, household_id)
    scope = household_scope(db.session.get(User, actor_id))
    if household is None or (scope is not None and household.village.town_id != scope):
        raise NotFound("No such household.")
    return household


def status_history(household_id):
    return db.session.scalars(
        select(HouseholdStatusChange).where(HouseholdStatusChange.household_id == household_id)
        .order_by(HouseholdStatusChange.at.desc(), HouseholdStatusChange.id.desc())
    ).all()


def set_verification(household_id, verified, evidence, actor_id):
    """Mark a household verified poor (no commission on its direct sales) or not, on stated evidence."""
    household = get_household(household_id, actor_id)
    evidence = _evidence(evidence)
    now = utcnow()
    household.is_verified_poor = bool(verified)
    household.verified_at, household.verified_by_id = now, actor_id
    household.verification_evidence = evidence
    _history(household, "verified_poor", verified, evidence, actor_id, now)
    db.session.commit()
    return household


def _check_label_unique_in_village(household):
    """Buyers tell households apart by their label: no two consenting households of one village
    may show the same label, in either language."""
    labels = [label for label in (household.display_label_zh, household.display_label_en) if label]
    clash = db.session.scalar(select(Household.id).where(
        Household.village_id == household.village_id, Household.id != household.id, Household.consent_public.is_(True),
        or_(Household.display_label_zh.in_(labels), Household.display_label_en.in_(labels))).limit(1))
    if clash is not None:
        raise DomainError(_("Another household of this village already shows this label. Add a mark that tells them "
                            "apart, the same in both languages (for example 守田 2 / Shoutian 2)."), field="label_zh")


def set_consent(household_id, consent, evidence, actor_id, label_zh=None, label_en=None):
    """Give or revoke public-display consent; revoking hides the household's label everywhere at once."""
    household = get_household(household_id, actor_id)
    evidence = _evidence(evidence)
    if label_zh is not None:
        household.display_label_zh = label_zh.strip()[:60]
    if label_en is not None:
        household.display_label_en = label_en.strip()[:80]
    if consent and not household.display_label_zh:
        raise DomainError(_("Give the label buyers will see (a first name and the village)."), field="label_zh")
    if consent:
        _check_label_unique_in_village(household)
    now = utcnow()
    household.consent_public = bool(consent)
    household.consent_changed_at, household.consent_changed_by_id = now, actor_id
    _history(household, "public_consent", consent, evidence, actor_id, now)
    db.session.commit()
    return household


def export_households(town_id, actor_id):
    """Registry and bank numbers in clear, only for staff of that town, and logged.

    Returns (headers, rows). Even the platform admin cannot export: the numbers belong to the
    town that keeps the households' files.
    """
    actor = db.session.get(User, actor_id)
    if actor is None or not actor.is_active_account or actor.role != "town_staff" or actor.town_id != town_id:
        raise Forbidden("Only staff of the households' own town may export their numbers.")
    households = db.session.scalars(
        select(Household).join(Village).where(Village.town_id == town_id)
        .options(joinedload(Household.village)).order_by(Household.id)
    ).all()
    rows = [(h.village.name_zh, h.head_name, h.people_count, h.registry_no, h.bank_name, h.bank_account or "",
             "是" if h.is_verified_poor else "否") for h in households]
    record("households.exported", actor_id, town_id=town_id, count=len(rows))
    db.session.commit()
    return ["村", "户主姓名", "人口数", "建档立卡编号", "开户银行", "银行账号", "已核实"], rows


def _evidence(evidence):
    evidence = (evidence or "").strip()
    if not evidence:
        raise DomainError("Say on what evidence (a document, a signed form, a meeting record).", field="evidence")
    if len(evidence) > 500:
        raise DomainError("Keep the evidence under 500 characters.", field="evidence")
    return evidence


def _history(household, field, value, evidence, actor_id, now):
    db.session.add(HouseholdStatusChange(household_id=household.id, field=field, value=bool(value),
                                         evidence=evidence, actor_id=actor_id, at=now))
    record(f"household.{field}_{'set' if value else 'cleared'}", actor_id, household,
           town_id=household.village.town_id, evidence=evidence)
