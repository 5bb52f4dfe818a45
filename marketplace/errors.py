"""Domain errors: a code for programs and a message a person can read."""


class DomainError(Exception):
    """Base of every rule a service refuses. Views map subclasses to a message or a status."""

    status = 422
    code = "invalid"

    def __init__(self, message, code=None, field=None):
        super().__init__(message)
        self.message = message
        if code:
            self.code = code
        self.field = field


class NotFound(DomainError):
    status = 404
    code = "not_found"


class Forbidden(DomainError):
    status = 403
    code = "forbidden"


class Conflict(DomainError):
    status = 409
    code = "conflict"
