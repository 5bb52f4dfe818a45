import pytest

from marketplace.extensions import db


@pytest.fixture
def district(app):
    """The demo district, seeded without leaving an app context pushed.

    (`demo` keeps one pushed, which every test-client request then shares, so a request's
    open transaction would hold SQLite's write lock against the next `login_as`.)
    """
    from tests.demo_copy import seed_demo

    with app.app_context():
        seed_demo()
        db.session.remove()
    return app
