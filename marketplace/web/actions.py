"""One-button POSTs: a form that carries only its CSRF token and runs one domain action."""
from flask import abort, flash, redirect

from marketplace.errors import DomainError, Forbidden, NotFound
from marketplace.web.downlink.forms import ConfirmForm


def confirmed_action(action, done_message, back_to):
    """Check the CSRF token, run `action`, flash what happened and go back to `back_to`."""
    if not ConfirmForm().validate_on_submit():
        abort(400)
    try:
        action()
    except (NotFound, Forbidden):
        raise  # someone else's: as if it did not exist
    except DomainError as error:
        flash(error.message, "error")
    else:
        flash(done_message, "info")
    return redirect(back_to)
