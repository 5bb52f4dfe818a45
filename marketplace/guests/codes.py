"""One-time codes by SMS: send, check, and claim a number's guest orders.

A code is six random digits. Only an HMAC of (number, purpose, code) keyed by SECRET_KEY is
stored, so the table alone does not give the codes away (a plain hash of six digits would be
reversed by trying the million). A code lives PHONE_CODE_MINUTES; it dies after MAX_ATTEMPTS
wrong answers; the right answer spends it. A number is sent at most one code a minute and
MAX_CODES_PER_HOUR an hour, counted in the database so every web process sees the same count
(the send view has a per-address limit of Flask-Limiter on top).
"""
import hashlib
import hmac
import re
import secrets
from datetime import timedelta

from flask import current_app
from flask_babel import lazy_gettext as _
from sqlalchemy import select, update

from marketplace.database import utcnow
from marketplace.errors import Conflict, DomainError
from marketplace.extensions import db
from marketplace.guests.models import PURPOSES, PhoneCode
from marketplace.guests.sms import SmsNotSent, sms_sender

MAX_ATTEMPTS = 5
MAX_CODES_PER_HOUR = 5
RESEND_AFTER = timedelta(seconds=60)
# Mainland mobile numbers: 11 digits from 13x to 19x; a +86 / 0086 / 86 prefix is accepted.
MOBILE = re.compile(r"^1[3-9][0-9]{9}$")
CODE = re.compile(r"^[0-9]{6}$")


class TooManyCodes(DomainError):
    status = 429
    code = "too_many_codes"


def mainland_mobile(text):
    """The 11-digit mainland mobile number in `text` (spaces, dashes, +86 allowed), or a DomainError."""
    digits = re.sub(r"[\s-]", "", text or "")
    for prefix in ("+86", "0086", "86"):
        if digits.startswith(prefix) and len(digits) == 11 + len(prefix):
            digits = digits[len(prefix):]
            break
    if not MOBILE.match(digits):
        raise DomainError(_("Enter a mainland China mobile number of 11 digits, such as 13800138000."), field="phone")
    return digits


def _digest(phone, purpose, code):
    key = current_app.config["SECRET_KEY"].encode()
    return hmac.new(key, f"{phone}:{purpose}:{code}".encode(), hashlib.sha256).hexdigest()


def send_code(phone_text, purpose="guest"):
    """Send a new one-time code to the number; returns the normalised number.

    Refused (nothing sent, nothing stored) for a number that is not a mainland mobile, or one
    sent a code less than a minute ago or MAX_CODES_PER_HOUR times in the last hour."""
    assert purpose in PURPOSES
    phone = mainland_mobile(phone_text)
    now = utcnow()
    recent = db.session.scalars(select(PhoneCode.created_at).where(
        PhoneCode.phone == phone, PhoneCode.created_at > now - timedelta(hours=1))).all()
    if any(sent > now - RESEND_AFTER for sent in recent):
        raise TooManyCodes(_("A code was sent to this number less than a minute ago. Please wait before asking again."),
                          code="code_sent_lately")
    if len(recent) >= MAX_CODES_PER_HOUR:
        raise TooManyCodes(_("Too many codes were sent to this number. Please try again in an hour."), code="too_many_codes")
    code = f"{secrets.randbelow(1_000_000):06d}"
    row = PhoneCode(phone=phone, purpose=purpose, code_hash=_digest(phone, purpose, code), created_at=now,
                    expires_at=now + timedelta(minutes=current_app.config["PHONE_CODE_MINUTES"]))
    db.session.add(row)
    db.session.commit()
    try:
        sms_sender().send_code(phone, code)
    except SmsNotSent as error:
        current_app.logger.warning("SMS to %s****%s not sent: %s", phone[:3], phone[-4:], error)
        db.session.delete(row)  # not sent: it must not count against the number nor be guessable
        db.session.commit()
        raise Conflict(_("The text message could not be sent. Please try again in a moment.")) from error
    return phone


def check_code(phone_text, code_text, purpose="guest"):
    """Spend the number's latest live code if `code_text` is it; returns the number.

    A wrong answer counts an attempt (in one conditional UPDATE, so parallel guesses cannot
    exceed the limit); after MAX_ATTEMPTS the code is dead and a new one must be sent."""
    phone = mainland_mobile(phone_text)
    code_text = (code_text or "").strip()
    now = utcnow()
    row = db.session.scalar(select(PhoneCode).where(
        PhoneCode.phone == phone, PhoneCode.purpose == purpose, PhoneCode.used_at.is_(None))
        .order_by(PhoneCode.created_at.desc(), PhoneCode.id.desc()).limit(1))
    if row is None or row.expires_at < now or row.attempts >= MAX_ATTEMPTS:
        db.session.rollback()
        raise DomainError(_("This code has expired or was used up. Ask for a new code."), code="code_expired",
                          field="code")
    counted = db.session.execute(update(PhoneCode).where(PhoneCode.id == row.id, PhoneCode.used_at.is_(None),
                                                         PhoneCode.attempts < MAX_ATTEMPTS)
                                 .values(attempts=PhoneCode.attempts + 1).returning(PhoneCode.id)
                                 .execution_options(synchronize_session=False)).first()
    right = CODE.match(code_text) and hmac.compare_digest(row.code_hash, _digest(phone, purpose, code_text))
    if counted is None or not right:
        db.session.commit()
        raise DomainError(_("That code is not right. Check the text message and try again."), code="code_wrong",
                          field="code")
    db.session.execute(update(PhoneCode).where(PhoneCode.id == row.id).values(used_at=now)
                       .execution_options(synchronize_session=False))
    db.session.commit()
    return phone


def claim_guest_orders(user_id, phone_text, code_text):
    """An account takes over the guest orders of a number it proves with a code; how many it took."""
    from marketplace.orders.models import Order

    phone = check_code(phone_text, code_text, purpose="claim")
    taken = db.session.execute(update(Order).where(Order.guest_phone == phone, Order.buyer_id.is_(None))
                               .values(buyer_id=user_id).execution_options(synchronize_session=False)).rowcount
    db.session.commit()
    return taken
