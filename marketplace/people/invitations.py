"""Inviting staff, cooperative managers, agents and suppliers by e-mail, each bound to its scope.

The e-mail carries a random token; only its SHA-256 digest is stored. The link works once and
until it expires; following it, the invitee chooses a password and the account is created
with the role and scope the inviter chose.
"""
import hashlib
import secrets
from datetime import timedelta

from flask import current_app
from sqlalchemy import func, select, update

from marketplace.audit.services import record
from marketplace.coops.models import Cooperative
from marketplace.database import utcnow
from marketplace.errors import Conflict, DomainError, Forbidden, NotFound
from marketplace.extensions import db
from marketplace.mail import send_mail
from marketplace.organisations.models import Organisation, OrganisationMember
from marketplace.people.models import INVITABLE_ROLES, ORGANISATION_ROLES, Invitation, Supplier, User
from marketplace.places.models import ServicePoint, Town

VALID_FOR = timedelta(days=7)
# The one scope column each role is bound to, and the table it points at.
SCOPE_OF_ROLE = {"town_staff": ("town_id", Town), "coop_manager": ("cooperative_id", Cooperative),
                 "supplier": ("supplier_id", Supplier), "agent": ("service_point_id", ServicePoint),
                 **{role: ("organisation_id", Organisation) for role in ORGANISATION_ROLES}}


class InvitationGone(DomainError):
    status = 410
    code = "invitation_gone"


def invite(email, name, role, actor_id, scope_id=None):
    """Create an invitation and e-mail its link; the admin alone invites."""
    actor = db.session.get(User, actor_id)
    if actor is None or actor.role != "admin" or not actor.is_active_account:
        raise Forbidden("Only the platform admin invites people.")
    email = (email or "").strip().lower()
    if role not in INVITABLE_ROLES:
        raise DomainError("Choose a role.", field="role")
    if db.session.scalar(select(User.id).where(func.lower(User.email) == email)):
        raise Conflict("Someone already has an account with this e-mail.", field="email")
    scope = {}
    if role in SCOPE_OF_ROLE:
        column, model = SCOPE_OF_ROLE[role]
        if scope_id is None or db.session.get(model, scope_id) is None:
            raise DomainError("Choose where this person works (town, cooperative, supplier, service point or "
                              "organisation).",
                              field="scope")
        scope[column] = scope_id
    token = secrets.token_urlsafe(32)
    invitation = Invitation(email=email, name=(name or "").strip()[:80] or email, role=role,
                            token_digest=_digest(token), expires_at=utcnow() + VALID_FOR,
                            invited_by_id=actor_id, **scope)
    db.session.add(invitation)
    db.session.flush()
    # The town is the audit row's own column; the other scopes (cooperative, point, supplier) are details.
    details = {column: value for column, value in scope.items() if column != "town_id"}
    record("invitation.sent", actor_id, invitation, town_id=invitation.town_id, email=email, role=role, **details)
    db.session.commit()
    link = f"{current_app.config['PUBLIC_BASE_URL'].rstrip('/')}/invitations/{token}"
    send_mail(email, "双向流通平台邀请 / Invitation to the Two-way Flow marketplace",
              f"{invitation.name}，您好：\n\n请打开下面的链接设置密码，{VALID_FOR.days} 天内有效，只能使用一次。\n"
              f"Open this link to set your password; it works once, for {VALID_FOR.days} days.\n\n{link}\n")
    return invitation


def open_invitation(token):
    """The invitation behind a link, if it can still be used."""
    invitation = db.session.scalar(select(Invitation).where(Invitation.token_digest == _digest(token or "")))
    if invitation is None:
        raise NotFound("This invitation link is not valid.")
    if invitation.accepted_at is not None:
        raise InvitationGone("This invitation was already used. Sign in instead.")
    if invitation.expires_at < utcnow():
        raise InvitationGone("This invitation has expired. Ask the admin for a new one.")
    return invitation


def accept_invitation(token, password):
    """Create the invitee's account with the chosen password; the link cannot be used again."""
    invitation = open_invitation(token)
    if len(password or "") < 8:
        raise DomainError("Choose a password of at least 8 characters.", field="password")
    # Single use even under a double submit: only one transaction moves accepted_at from NULL.
    used = db.session.execute(
        update(Invitation).where(Invitation.id == invitation.id, Invitation.accepted_at.is_(None))
        .values(accepted_at=utcnow())
    ).rowcount
    if used != 1 or db.session.scalar(select(User.id).where(func.lower(User.email) == invitation.email)):
        db.session.rollback()
        raise InvitationGone("This invitation was already used. Sign in instead.")
    organisation_role = ORGANISATION_ROLES.get(invitation.role)
    user = User(email=invitation.email, name=invitation.name,
                role="buyer" if organisation_role else invitation.role, town_id=invitation.town_id,
                cooperative_id=invitation.cooperative_id, supplier_id=invitation.supplier_id,
                service_point_id=invitation.service_point_id)
    user.set_password(password)
    db.session.add(user)
    db.session.flush()
    invitation.user_id = user.id
    if organisation_role:
        db.session.add(OrganisationMember(organisation_id=invitation.organisation_id, user_id=user.id,
                                          role=organisation_role))
    record("invitation.accepted", user.id, invitation, town_id=invitation.town_id, email=invitation.email)
    db.session.commit()
    return user


def _digest(token):
    return hashlib.sha256(token.encode()).hexdigest()
