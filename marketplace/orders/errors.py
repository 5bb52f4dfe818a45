"""Errors of ordering: what a buyer is told when a cart or checkout cannot go ahead."""
from marketplace.errors import Conflict, DomainError


class BadQuantity(DomainError):
    code = "bad_quantity"


class SoldOut(Conflict):
    code = "sold_out"


class EmptyCart(DomainError):
    code = "empty_cart"


class AlreadyPaid(Conflict):
    code = "already_paid"
