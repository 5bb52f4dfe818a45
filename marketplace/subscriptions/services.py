"""Subscribing, saving the card, and what the buyer does to a subscription: pause, skip, resume, cancel.

Each service takes the buyer's id, checks that the subscription is theirs (another buyer's does
not exist for them: NotFound), locks the subscription's row, changes it in one transaction and
commits; a refused request changes nothing. The renewals themselves are in renewals.py.

The card is saved the way Stripe saves one for later: a Customer per subscription, a SetupIntent
(usage off_session) the buyer confirms with their card, then every renewal an off-session
PaymentIntent on that card. With the local Stripe stand-in the buyer confirms with a test card on
the server (`save_test_card`), as the checkout's test-card button pays.
"""
from flask_babel import lazy_gettext as _
from sqlalchemy import func, select

from marketplace.coops.scope import acting_user
from marketplace.database import utcnow
from marketplace.errors import Conflict, DomainError, Forbidden, NotFound
from marketplace.extensions import db
from marketplace.local_time import local_day
from marketplace.mail import send_mail
from marketplace.orders.cart import sellable_variant
from marketplace.orders.checkout import PHONE_PATTERN
from marketplace.payments import stripe_gateway
from marketplace.subscriptions.models import INTERVALS, Subscription, SubscriptionMessage, SubscriptionRenewal
from marketplace.subscriptions.schedule import due_on

MAX_QUANTITY = 50  # units of the variant in one delivery
MAX_SKIPS_AHEAD = 3  # deliveries a buyer may skip ahead of time
# The test cards the local stand-in offers on the card step: pays every time, or saves and then declines.
TEST_CARDS = (stripe_gateway.TEST_CARD["number"], stripe_gateway.DECLINES_LATER_CARD)


def subscribe(buyer_id, variant_id, quantity, interval, recipient_name, recipient_phone, address="", region=None,
              pickup_point_id=None):
    """A buyer subscribes to a variant; commits. Returns the Subscription, waiting for its card.

    Refuses a variant not for sale, an interval not offered, a quantity outside 1…MAX_QUANTITY
    and an incomplete delivery address, with nothing saved. `region` (orders.addresses.RegionPicks)
    is the address by region, checked against GB/T 2260 as checkout's; without it `address` is
    free text (the API). `pickup_point_id`: each box is picked up at that village service point."""
    buyer = acting_user(buyer_id)
    if buyer.role != "buyer":
        raise Forbidden(_("Only a buyer's account can subscribe."))
    variant = sellable_variant(variant_id)
    if interval not in INTERVALS:
        raise DomainError(_("Choose a delivery every month or every two weeks."), field="interval")
    if not isinstance(quantity, int) or isinstance(quantity, bool) or not 1 <= quantity <= MAX_QUANTITY:
        raise DomainError(_("Choose from %(low)s to %(high)s per delivery."), field="quantity", low=1, high=MAX_QUANTITY)
    recipient_name, recipient_phone, address = (str(v or "").strip() for v in (recipient_name, recipient_phone, address))
    if not 1 <= len(recipient_name) <= 80:
        raise DomainError(_("Enter the recipient's name."), field="recipient_name")
    if not PHONE_PATTERN.match(recipient_phone):
        raise DomainError(_("Enter a phone number we can call."), field="recipient_phone")
    from marketplace.presales.services import pickup_point

    point = pickup_point(pickup_point_id)
    checked = region.checked() if region is not None and point is None else None
    if checked is not None:
        address = checked.full
    elif point is None and not 5 <= len(address) <= 300:
        raise DomainError(_("Enter the full delivery address."), field="address")
    subscription = Subscription(buyer_id=buyer.id, variant_id=variant.id, quantity=quantity, interval=interval,
                                recipient_name=recipient_name, recipient_phone=recipient_phone, address=address,
                                region_code=checked.region_code if checked else None,
                                region_name=checked.region_name if checked else "",
                                address_detail=checked.detail if checked else "",
                                delivery_kind="pickup" if point else "address",
                                service_point_id=point.id if point else None,
                                first_due_on=local_day(utcnow()))
    db.session.add(subscription)
    db.session.commit()
    return subscription


def subscription_for_buyer(subscription_id, buyer_id):
    """The buyer's own subscription; another buyer's is answered as if it did not exist."""
    subscription = db.session.get(Subscription, subscription_id) if subscription_id is not None else None
    if subscription is None or subscription.buyer_id != buyer_id:
        raise NotFound(_("No such subscription."))
    return subscription


def _locked(subscription_id, buyer_id):
    subscription_for_buyer(subscription_id, buyer_id)
    return db.session.execute(select(Subscription).where(Subscription.id == subscription_id).with_for_update()
                              .execution_options(populate_existing=True)).scalar_one()


def buyer_subscriptions(buyer_id):
    return db.session.scalars(select(Subscription).where(Subscription.buyer_id == buyer_id)
                              .order_by(Subscription.created_at.desc(), Subscription.id.desc())).all()


def retrying_renewals(buyer_id):
    """The buyer's renewals whose payment failed and that will be tried again: [(subscription, renewal)],
    what the orders page shows in place of the attempt's cancelled order."""
    rows = db.session.execute(select(Subscription, SubscriptionRenewal)
                              .join(SubscriptionRenewal, SubscriptionRenewal.subscription_id == Subscription.id)
                              .where(Subscription.buyer_id == buyer_id, Subscription.status == "active",
                                     SubscriptionRenewal.status == "due", SubscriptionRenewal.attempts > 0)
                              .order_by(SubscriptionRenewal.next_attempt_at, SubscriptionRenewal.id)).all()
    return [(subscription, renewal) for subscription, renewal in rows]


def subscription_messages(subscription_id):
    return db.session.scalars(select(SubscriptionMessage).where(SubscriptionMessage.subscription_id == subscription_id)
                              .order_by(SubscriptionMessage.at.desc(), SubscriptionMessage.id.desc()).limit(50)).all()


# --- the card ---------------------------------------------------------------------------------


def start_card_setup(buyer_id, subscription_id):
    """The subscription's SetupIntent (its Customer and SetupIntent made on first call)."""
    subscription = subscription_for_buyer(subscription_id, buyer_id)
    if subscription.status == "cancelled":
        raise Conflict(_("This subscription was cancelled."))
    if subscription.setup_intent_id:
        intent = stripe_gateway.retrieve_setup_intent(subscription.setup_intent_id)
        if intent.status not in ("succeeded", "canceled"):
            return intent
    customer_id = subscription.stripe_customer_id
    db.session.rollback()  # no transaction held open across the calls to Stripe
    if customer_id is None:
        customer_id = stripe_gateway.create_customer(f"subscription:{subscription_id}:customer",
                                                     {"subscription_id": str(subscription_id)}).id
    intent = stripe_gateway.create_setup_intent(customer_id, f"subscription:{subscription_id}:setup:{utcnow():%s%f}",
                                                {"subscription_id": str(subscription_id)})
    subscription = _locked(subscription_id, buyer_id)
    subscription.stripe_customer_id = subscription.stripe_customer_id or customer_id
    subscription.setup_intent_id = intent.id
    db.session.commit()
    return intent


def save_test_card(buyer_id, subscription_id, number=stripe_gateway.TEST_CARD["number"]):
    """Local Stripe stand-in only: confirm the SetupIntent with a test card, then `finish_card_setup`."""
    if not stripe_gateway.uses_local_server():
        raise Forbidden(_("The test card works only with the local test payment server."))
    if number not in TEST_CARDS:
        raise DomainError(_("Choose one of the test cards."), field="card")
    intent = start_card_setup(buyer_id, subscription_id)
    method = stripe_gateway.create_test_card_payment_method(number)
    try:
        stripe_gateway.confirm_setup_intent(intent.id, method.id)
    except stripe_gateway.StripeError as error:
        raise Conflict(_("The card was not saved. Try another card.")) from error
    return finish_card_setup(buyer_id, subscription_id)


def finish_card_setup(buyer_id, subscription_id):
    """Read the SetupIntent from Stripe; once it succeeded, keep its card and start the
    subscription (its first delivery falls due today and is charged now). Commits."""
    from marketplace.subscriptions.renewals import renew_subscription_now

    subscription = subscription_for_buyer(subscription_id, buyer_id)
    if not subscription.setup_intent_id:
        raise Conflict(_("The card was not saved. Try another card."))
    intent_id = subscription.setup_intent_id
    db.session.rollback()
    intent = stripe_gateway.retrieve_setup_intent(intent_id)
    if intent.status != "succeeded" or not intent.payment_method:
        raise Conflict(_("The card was not saved. Try another card."))
    method = stripe_gateway.retrieve_payment_method(intent.payment_method)
    subscription = _locked(subscription_id, buyer_id)
    if subscription.setup_intent_id != intent_id or subscription.payment_method_id == method.id:
        db.session.rollback()
        return subscription  # already done (a reload), or another card step replaced this one
    subscription.payment_method_id = method.id
    subscription.card_last4 = method.card.last4
    first = subscription.status == "pending_card"
    if first:
        subscription.status = "active"
        subscription.first_due_on = subscription.next_due_on = local_day(utcnow())
    tell(subscription, "card_saved")
    db.session.commit()
    mail_messages(subscription_id)
    if first:
        renew_subscription_now(subscription_id)
    return db.session.get(Subscription, subscription_id)


# --- what the buyer does ------------------------------------------------------------------------


def pause(buyer_id, subscription_id, now=None):
    """Stop deliveries until the buyer resumes; the periods that fall due meanwhile are recorded as paused."""
    from marketplace.subscriptions.renewals import open_due_periods

    subscription = _locked(subscription_id, buyer_id)
    if subscription.status != "active":
        raise Conflict(_("Only an active subscription can be paused."))
    open_due_periods(subscription, now or utcnow())
    subscription.status, subscription.pause_reason, subscription.paused_at = "paused", "buyer", now or utcnow()
    db.session.commit()
    return subscription


def resume(buyer_id, subscription_id, now=None):
    """Deliveries start again from the next due day (what fell due while paused stays uncharged)."""
    from marketplace.subscriptions.renewals import open_due_periods

    subscription = _locked(subscription_id, buyer_id)
    if subscription.status != "paused":
        raise Conflict(_("Only a paused subscription can be resumed."))
    variant = subscription.variant
    if variant is None or not variant.is_active or variant.product.status != "active":
        raise Conflict(_("This item is no longer for sale, so the subscription cannot be resumed."))
    open_due_periods(subscription, now or utcnow())
    subscription.status, subscription.pause_reason, subscription.paused_at = "active", None, None
    db.session.commit()
    return subscription


def skip_next(buyer_id, subscription_id, now=None):
    """Skip the next delivery (nothing is charged for it); at most MAX_SKIPS_AHEAD ahead."""
    from marketplace.subscriptions.renewals import open_due_periods

    now = now or utcnow()
    subscription = _locked(subscription_id, buyer_id)
    if subscription.status not in ("active", "paused"):
        raise Conflict(_("Only an active or paused subscription has deliveries to skip."))
    open_due_periods(subscription, now)
    ahead = db.session.scalar(select(func.count(SubscriptionRenewal.id)).where(
        SubscriptionRenewal.subscription_id == subscription.id, SubscriptionRenewal.status == "skipped",
        SubscriptionRenewal.due_on > local_day(now)))
    if ahead >= MAX_SKIPS_AHEAD:
        raise Conflict(_("You can skip at most %(n)s deliveries ahead."), n=MAX_SKIPS_AHEAD)
    skipped = SubscriptionRenewal(subscription_id=subscription.id, period_no=subscription.next_period_no,
                                  due_on=subscription.next_due_on, status="skipped")
    db.session.add(skipped)
    _advance(subscription)
    db.session.commit()
    return skipped


def cancel(buyer_id, subscription_id, now=None):
    """End the subscription; a renewal waiting for a retry is not charged."""
    subscription = _locked(subscription_id, buyer_id)
    if subscription.status == "cancelled":
        raise Conflict(_("This subscription was cancelled already."))
    subscription.status, subscription.cancelled_at = "cancelled", now or utcnow()
    db.session.execute(SubscriptionRenewal.__table__.update().where(
        SubscriptionRenewal.subscription_id == subscription.id, SubscriptionRenewal.status == "due")
        .values(status="cancelled"))
    tell(subscription, "cancelled")
    db.session.commit()
    mail_messages(subscription_id)
    return subscription


def _advance(subscription):
    subscription.next_period_no += 1
    subscription.next_due_on = due_on(subscription.first_due_on, subscription.interval, subscription.next_period_no)


# --- telling the buyer ------------------------------------------------------------------------

MAIL = {
    # kind: (subject, Chinese sentence, English sentence); {title}, {day}, {amount}, {card} filled in.
    "card_saved": ("订阅已开始 / Your subscription has started",
                   "您的卡（尾号 {card}）已保存，{title} 的订阅已开始。", "Your card ending {card} is saved; your "
                   "subscription to {title} has started."),
    "renewal_paid": ("订阅已续订 / Your box is paid",
                     "{day} 的 {title} 已用尾号 {card} 的卡支付 {amount}，订单已生成。",
                     "The {title} box due {day} was paid ({amount}) with your card ending {card}; its order is placed."),
    "payment_failed_retrying": ("订阅扣款失败 / A payment for your box failed",
                                "{day} 的 {title} 扣款未成功，我们会稍后再试。您可以在订阅页面更换银行卡。",
                                "The payment for the {title} box due {day} failed; we will try again. You can "
                                "change the card on the subscription's page."),
    "paused_payment_failed": ("订阅已暂停 / Your subscription is paused",
                              "{day} 的 {title} 多次扣款未成功，订阅已暂停，未收取任何费用。请更换银行卡后恢复订阅。",
                              "The payment for the {title} box due {day} failed again, so the subscription is "
                              "paused and nothing was charged. Change the card, then resume."),
    "paused_unavailable": ("订阅已暂停 / Your subscription is paused",
                           "{title} 已下架，{day} 的订阅未收取费用，订阅已暂停。",
                           "{title} is no longer for sale: nothing was charged for {day} and the subscription is paused."),
    "paused_sold_out": ("订阅已暂停 / Your subscription is paused",
                        "{title} 已售罄，{day} 的订阅未收取费用，订阅已暂停。",
                        "{title} is sold out: nothing was charged for {day} and the subscription is paused."),
    "cancelled": ("订阅已取消 / Your subscription is cancelled",
                  "{title} 的订阅已取消，以后不会再扣款。", "Your subscription to {title} is cancelled; nothing more "
                  "will be charged."),
}


def tell(subscription, kind, renewal=None, amount_fen=0):
    """Record a message to the buyer once per cause (joins the caller's transaction); mailed after commit."""
    period_no, attempt = (renewal.period_no, renewal.attempts) if renewal is not None else (0, 0)
    exists = db.session.scalar(select(SubscriptionMessage.id).where(
        SubscriptionMessage.subscription_id == subscription.id, SubscriptionMessage.kind == kind,
        SubscriptionMessage.period_no == period_no, SubscriptionMessage.attempt == attempt))
    if exists is None:
        db.session.add(SubscriptionMessage(subscription_id=subscription.id, buyer_id=subscription.buyer_id, kind=kind,
                                           period_no=period_no, attempt=attempt,
                                           due_on=renewal.due_on if renewal is not None else None,
                                           amount_fen=amount_fen))


def mail_messages(subscription_id):
    """E-mail the buyer each message not mailed yet: claimed by a conditional UPDATE and committed
    first, so a task run twice mails each once (a failed send is unclaimed and sent next run)."""
    from marketplace.money import format_fen
    from marketplace.people.models import User

    pending = db.session.scalars(select(SubscriptionMessage.id).where(
        SubscriptionMessage.subscription_id == subscription_id, SubscriptionMessage.mailed_at.is_(None))
        .order_by(SubscriptionMessage.id)).all()
    for message_id in pending:
        claimed = db.session.execute(SubscriptionMessage.__table__.update().where(
            SubscriptionMessage.id == message_id, SubscriptionMessage.mailed_at.is_(None))
            .values(mailed_at=utcnow())).rowcount
        db.session.commit()
        if not claimed:
            continue
        message = db.session.get(SubscriptionMessage, message_id)
        subscription = db.session.get(Subscription, message.subscription_id)
        user = db.session.get(User, message.buyer_id)
        variant = subscription.variant
        subject, zh, en = MAIL[message.kind]
        day = message.due_on.isoformat() if message.due_on else ""
        card = subscription.card_last4 or ""
        try:
            send_mail(user.email, subject,
                      zh.format(title=f"{variant.product.title_zh} · {variant.name_zh}", day=day, card=card,
                                amount=format_fen(message.amount_fen)) + "\n\n"
                      + en.format(title=f"{variant.product.title('en')} · {variant.name('en')}", day=day, card=card,
                                  amount=format_fen(message.amount_fen, "en")) + "\n")
        except OSError:
            db.session.execute(SubscriptionMessage.__table__.update().where(SubscriptionMessage.id == message_id)
                               .values(mailed_at=None))
            db.session.commit()
            raise
