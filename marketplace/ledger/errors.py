"""Refusals of the ledger, with a message a person can read."""
from marketplace.errors import Conflict, DomainError


class InsufficientBalance(Conflict):
    """Spending or paying out more than a household (or supplier) has available."""

    code = "insufficient_balance"


class InsufficientFunds(Conflict):
    """Granting more aid than a love fund holds."""

    code = "insufficient_funds"


class NotReady(DomainError):
    """The cause is not complete yet (payment not succeeded, refund before its payment): retry later."""

    code = "not_ready"
