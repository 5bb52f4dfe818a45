"""Refusals of institutional buying."""
from marketplace.errors import Conflict, DomainError


class BadCreditCode(DomainError):
    code = "bad_credit_code"


class OwnApproval(DomainError):
    status = 403
    code = "own_approval"


class NotAwaitingApproval(Conflict):
    code = "not_awaiting_approval"
