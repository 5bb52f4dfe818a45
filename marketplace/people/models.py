from datetime import datetime
from decimal import Decimal

from flask_login import UserMixin
from sqlalchemy import CheckConstraint, ForeignKey, Numeric, String, false
from sqlalchemy.orm import Mapped, mapped_column, relationship
from werkzeug.security import check_password_hash, generate_password_hash

from marketplace.crypto import EncryptedText
from marketplace.database import one_of, utcnow
from marketplace.extensions import db
from marketplace.places.models import Village

ROLES = ("buyer", "coop_manager", "town_staff", "supplier", "agent", "admin")
PAYOUT_METHODS = ("bank", "cash")
# Organisation staff (消费帮扶) sign in as buyers; the invitation makes them a member of their
# organisation with its role there (`organisation_members`).
ORGANISATION_ROLES = {"org_buyer": "buyer", "org_approver": "approver", "org_finance": "finance"}
INVITABLE_ROLES = ("admin", "town_staff", "coop_manager", "agent", "supplier", *ORGANISATION_ROLES)
STATUS_FIELDS = ("verified_poor", "public_consent")


class User(UserMixin, db.Model):
    """A person who signs in. The role says what they do; the scope columns say where."""

    __tablename__ = "users"
    id: Mapped[int] = mapped_column(primary_key=True)
    email: Mapped[str] = mapped_column(String(254), unique=True)
    name: Mapped[str] = mapped_column(String(80))
    password_hash: Mapped[str] = mapped_column(String(255))
    role: Mapped[str] = mapped_column(String(20), default="buyer")
    cooperative_id: Mapped[int | None] = mapped_column(ForeignKey("cooperatives.id"), index=True)
    town_id: Mapped[int | None] = mapped_column(ForeignKey("towns.id"), index=True)
    supplier_id: Mapped[int | None] = mapped_column(ForeignKey("suppliers.id"), index=True)
    service_point_id: Mapped[int | None] = mapped_column(ForeignKey("service_points.id"), index=True)
    is_active_account: Mapped[bool] = mapped_column(default=True)
    # Bumped on logout-everywhere, password change and deactivation: old cookies stop working.
    session_version: Mapped[int] = mapped_column(default=1)
    # 长辈模式: large text, high contrast, big touch targets (marketplace.web.elder_mode).
    elder_mode: Mapped[bool] = mapped_column(default=False, server_default=false())
    locale: Mapped[str | None] = mapped_column(String(16))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    __table_args__ = (
        one_of("role", ROLES, "role_known"),
        CheckConstraint("role != 'coop_manager' OR cooperative_id IS NOT NULL", name="coop_manager_scoped"),
        CheckConstraint("role != 'town_staff' OR town_id IS NOT NULL", name="town_staff_scoped"),
        CheckConstraint("role != 'supplier' OR supplier_id IS NOT NULL", name="supplier_scoped"),
        CheckConstraint("role != 'agent' OR service_point_id IS NOT NULL", name="agent_scoped"),
    )

    def set_password(self, password):
        self.password_hash = generate_password_hash(password)

    def check_password(self, password):
        return check_password_hash(self.password_hash, password)

    @property
    def is_active(self):
        return self.is_active_account

    def get_id(self):
        # The session carries the version, so bumping it logs out every other session.
        return f"{self.id}:{self.session_version}"


def public_label(consent_public, label_zh, label_en, village_zh, village_en, locale="zh"):
    """What a buyer may see of a household: its label if it consented and has one, or an anonymous
    "a household in <village>"."""
    english = str(locale).startswith("en")
    if consent_public and label_zh:
        return label_en if english and label_en else label_zh
    if english:
        return f"a household in {village_en}"
    return f"{village_zh}的一户人家"


class Household(db.Model):
    """A registered household (建档立卡户) in a village.

    The registry number and bank account are encrypted at rest; only masks are shown. The
    public sees `display_label` only when the household consented; otherwise an anonymous
    "a household in <village>".
    """

    __tablename__ = "households"
    id: Mapped[int] = mapped_column(primary_key=True)
    village_id: Mapped[int] = mapped_column(ForeignKey("villages.id"), index=True)
    head_name: Mapped[str] = mapped_column(String(60))
    people_count: Mapped[int] = mapped_column(default=1)
    registry_no: Mapped[str] = mapped_column(EncryptedText)
    registry_no_index: Mapped[str] = mapped_column(String(64), unique=True)
    registry_no_masked: Mapped[str] = mapped_column(String(40))
    is_verified_poor: Mapped[bool] = mapped_column(default=False)
    verified_at: Mapped[datetime | None]
    verified_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    verification_evidence: Mapped[str] = mapped_column(String(500), default="")
    consent_public: Mapped[bool] = mapped_column(default=False)
    consent_changed_at: Mapped[datetime | None]
    consent_changed_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    display_label_zh: Mapped[str] = mapped_column(String(60), default="")
    display_label_en: Mapped[str] = mapped_column(String(80), default="")
    payout_method: Mapped[str] = mapped_column(String(10), default="cash")
    bank_account: Mapped[str | None] = mapped_column(EncryptedText)
    bank_account_masked: Mapped[str] = mapped_column(String(40), default="")
    bank_name: Mapped[str] = mapped_column(String(80), default="")
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    village: Mapped[Village] = relationship()

    __table_args__ = (
        one_of("payout_method", PAYOUT_METHODS, "payout_method_known"),
        CheckConstraint("people_count > 0", name="people_count_positive"),
    )

    def public_label(self, locale="zh"):
        """What a buyer may see: the consented label, or an anonymous one."""
        return public_label(self.consent_public, self.display_label_zh, self.display_label_en, self.village.name_zh,
                            self.village.name_en, locale)


class Supplier(db.Model):
    """An urban retailer or wholesaler of daily goods for the countryside (downlink)."""

    __tablename__ = "suppliers"
    id: Mapped[int] = mapped_column(primary_key=True)
    name_zh: Mapped[str] = mapped_column(String(80))
    name_en: Mapped[str] = mapped_column(String(120))
    town_id: Mapped[int | None] = mapped_column(ForeignKey("towns.id"))
    contact_phone: Mapped[str] = mapped_column(String(30), default="")
    # Where the town's payout batches pay it (encrypted at rest, shown masked); none: paid in cash.
    bank_name: Mapped[str] = mapped_column(String(80), default="")
    bank_account: Mapped[str | None] = mapped_column(EncryptedText)
    bank_account_masked: Mapped[str] = mapped_column(String(40), default="")
    # The platform's commission on the supplier's daily-goods lines, as agreed with it (0.03 = 3 %);
    # set by the platform admin (audited), recorded on every sale entry.
    commission_rate: Mapped[Decimal] = mapped_column(Numeric(6, 4), default=Decimal(0), server_default="0")
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    __table_args__ = (CheckConstraint("commission_rate >= 0 AND commission_rate <= 1", name="commission_rate_range"),)

    def name(self, locale="zh"):
        return self.name_en if str(locale).startswith("en") else self.name_zh


class HouseholdStatusChange(db.Model):
    """Append-only history of a household's verified-poor status and public-display consent.

    Each row says who set which flag to what, when, and on what evidence (a registry extract,
    a signed consent form, a village meeting record…).
    """

    __tablename__ = "household_status_changes"
    id: Mapped[int] = mapped_column(primary_key=True)
    household_id: Mapped[int] = mapped_column(ForeignKey("households.id"), index=True)
    field: Mapped[str] = mapped_column(String(20))
    value: Mapped[bool]
    evidence: Mapped[str] = mapped_column(String(500))
    actor_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    at: Mapped[datetime] = mapped_column(default=utcnow)
    actor: Mapped[User | None] = relationship()

    __table_args__ = (one_of("field", STATUS_FIELDS, "status_field_known"),)


class Invitation(db.Model):
    """An invitation by e-mail to a role bound to its scope; the link works once, until it expires.

    Only a digest of the token is stored, so a database reader cannot use pending links.
    """

    __tablename__ = "invitations"
    id: Mapped[int] = mapped_column(primary_key=True)
    email: Mapped[str] = mapped_column(String(254), index=True)
    name: Mapped[str] = mapped_column(String(80))
    role: Mapped[str] = mapped_column(String(20))
    town_id: Mapped[int | None] = mapped_column(ForeignKey("towns.id"))
    cooperative_id: Mapped[int | None] = mapped_column(ForeignKey("cooperatives.id"))
    supplier_id: Mapped[int | None] = mapped_column(ForeignKey("suppliers.id"))
    service_point_id: Mapped[int | None] = mapped_column(ForeignKey("service_points.id"))
    organisation_id: Mapped[int | None] = mapped_column(ForeignKey("organisations.id"))
    token_digest: Mapped[str] = mapped_column(String(64), unique=True)
    expires_at: Mapped[datetime]
    accepted_at: Mapped[datetime | None]
    user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    invited_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    __table_args__ = (one_of("role", INVITABLE_ROLES, "invitation_role_known"),)
