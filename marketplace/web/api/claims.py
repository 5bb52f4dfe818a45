"""After-sales claims through the API: a buyer opens and follows claims on their order and answers a
seller's offer; a cooperative manager (or an agent, for their village's households) answers them.

The services check every scope: another buyer's order, or another seller's claim, is not found.
"""
import base64
import binascii

from flask_babel import lazy_gettext as _

from marketplace.aftersales import services as claims
from marketplace.errors import DomainError
from marketplace.orders.checkout import order_for_buyer
from marketplace.web.api.framework import ANY_SIGNED_IN, operation
from marketplace.web.api.schemas import claims as schemas

SELLERS = ("coop_manager", "agent", "supplier")


def _photos(encoded):
    try:
        return [base64.b64decode(text, validate=True) for text in encoded]
    except (binascii.Error, ValueError):
        raise DomainError(_("This file is not a picture we can read."), field="photos") from None


@operation("GET", "/orders/<public_no>/claims", tag="After-sales",
           summary="The claims on one of the token owner's orders", roles=ANY_SIGNED_IN, response=schemas.ClaimList)
def list_order_claims(user, public_no):
    order = order_for_buyer(public_no, user.id)
    return schemas.ClaimList(items=[schemas.Claim.model_validate(claim) for claim in claims.claims_of_order(order.id)])


@operation("POST", "/orders/<public_no>/claims", tag="After-sales", summary="Open an after-sales claim",
           roles=ANY_SIGNED_IN, body=schemas.ClaimIn, response=schemas.Claim, status=201)
def open_claim(user, public_no, body):
    """On a delivered parcel, within the after-sales window; its settlement waits until the claim closes."""
    claim = claims.open_claim(public_no, body.order_line_id, user.id, body.reason, body.quantity, body.remedy,
                              note=body.note, photos=_photos(body.photos), refund_to=body.refund_to)
    return schemas.Claim.model_validate(claim)


@operation("POST", "/orders/<public_no>/claims/<id:claim_id>/offer-answer", tag="After-sales",
           summary="Accept or decline the seller's partial refund", roles=ANY_SIGNED_IN, body=schemas.OfferAnswerIn,
           response=schemas.Claim)
def answer_offer(user, public_no, claim_id, body):
    """Accepted: refunded to the original payment method. Declined: town staff decide."""
    return schemas.Claim.model_validate(claims.answer_offer(public_no, claim_id, user.id, body.accept))


@operation("GET", "/seller/claims", tag="After-sales", summary="Claims on the token owner's goods, waiting ones first",
           roles=SELLERS, response=schemas.ClaimList)
def list_seller_claims(user):
    return schemas.ClaimList(items=[schemas.Claim.model_validate(claim) for claim in claims.seller_claims(user.id)])


@operation("POST", "/seller/claims/<id:claim_id>/answer", tag="After-sales", summary="Answer a claim",
           roles=SELLERS, body=schemas.ClaimAnswerIn, response=schemas.Claim)
def answer_claim(user, claim_id, body):
    """Accept (a refund of the units, or a replacement shipment), offer a partial refund, or reject with a reason."""
    return schemas.Claim.model_validate(claims.respond(claim_id, user.id, body.action, offer_fen=body.offer_fen,
                                                       reason=body.reason))
