import email
import email.policy
import re
from datetime import timedelta

from sqlalchemy import select

from marketplace.audit.models import AuditLog
from marketplace.coops.models import Cooperative
from marketplace.extensions import db
from marketplace.people.models import Invitation, User


def last_link(app):
    """The token in the last invitation e-mail, read from the mail log as a mail client would."""
    with open(app.config["MAIL_LOG_PATH"], encoding="utf-8") as log:
        last = re.split(r"(?m)^(?=From: )", log.read())[-1]
    body = email.message_from_string(last, policy=email.policy.default).get_content()
    return re.findall(r"http://\S+/invitations/(\S+)", body)[-1]


def test_an_invited_manager_sets_a_password_once_and_is_bound_to_the_cooperative(app, client, auth, district):
    with app.app_context():
        coop_id = db.session.scalar(select(Cooperative.id).filter_by(registration_no="DEMO-zhaili-millet"))
    auth.login_as("admin@demo.cn")
    response = client.post("/admin/invitations/new", data={
        "email": "New.Manager@demo.cn", "name": "小米合作社 新经理", "role": "coop_manager",
        "town_id": 0, "cooperative_id": coop_id, "service_point_id": 0, "supplier_id": 0})
    assert response.status_code == 302
    token = last_link(app)
    auth.logout()
    invitee = app.test_client()
    assert invitee.get(f"/invitations/{token}").status_code == 200
    short = invitee.post(f"/invitations/{token}", data={"password": "short", "confirm": "short"})
    assert short.status_code == 200 and "密码" in short.get_data(as_text=True)
    done = invitee.post(f"/invitations/{token}", data={"password": "millet-2026", "confirm": "millet-2026"})
    assert done.status_code == 302
    with app.app_context():
        user = db.session.scalar(select(User).filter_by(email="new.manager@demo.cn"))
        assert (user.role, user.cooperative_id) == ("coop_manager", coop_id)
        assert db.session.scalar(select(AuditLog).filter_by(action="invitation.accepted")).actor_id == user.id
    # Single use: the link is gone, and the password works at the real sign-in form.
    assert app.test_client().get(f"/invitations/{token}").status_code == 410
    assert app.test_client().post("/login", data={"email": "new.manager@demo.cn", "password": "millet-2026"}).status_code == 302


def test_an_expired_invitation_cannot_be_used(app, client, auth, district):
    auth.login_as("admin@demo.cn")
    client.post("/admin/invitations/new", data={"email": "late@demo.cn", "name": "迟到", "role": "admin",
                                                "town_id": 0, "cooperative_id": 0, "service_point_id": 0, "supplier_id": 0})
    token = last_link(app)
    with app.app_context():
        invitation = db.session.scalar(select(Invitation).filter_by(email="late@demo.cn"))
        invitation.expires_at -= timedelta(days=8)
        db.session.commit()
    response = app.test_client().post(f"/invitations/{token}", data={"password": "whatever-1", "confirm": "whatever-1"})
    assert response.status_code == 410
    with app.app_context():
        assert db.session.scalar(select(User).filter_by(email="late@demo.cn")) is None


def test_the_admin_invites_town_staff_who_then_work_for_that_town(app, client, auth, district):
    from marketplace.places.models import Town

    with app.app_context():
        town_id = db.session.scalar(select(Town.id).filter_by(slug="lingzi"))
    auth.login_as("admin@demo.cn")
    response = client.post("/admin/invitations/new", data={
        "email": "clerk@demo.cn", "name": "镇干部", "role": "town_staff",
        "town_id": town_id, "cooperative_id": 0, "service_point_id": 0, "supplier_id": 0})
    assert response.status_code == 302
    token = last_link(app)
    invitee = app.test_client()
    assert invitee.post(f"/invitations/{token}", data={"password": "lingzi-2026", "confirm": "lingzi-2026"}).status_code in (302, 303)
    with app.app_context():
        user = db.session.scalar(select(User).filter_by(email="clerk@demo.cn"))
        assert (user.role, user.town_id) == ("town_staff", town_id)
        sent = db.session.scalar(select(AuditLog).filter_by(action="invitation.sent"))
        assert sent.town_id == town_id


def test_an_invitation_without_its_scope_is_refused(app, client, auth, district):
    auth.login_as("admin@demo.cn")
    response = client.post("/admin/invitations/new", data={
        "email": "agent2@demo.cn", "name": "代办员", "role": "agent",
        "town_id": 0, "cooperative_id": 0, "service_point_id": 0, "supplier_id": 0})
    assert response.status_code == 422
    with app.app_context():
        assert db.session.scalar(select(Invitation)) is None


def test_deactivating_a_user_ends_their_sessions_and_sign_in(app, district):
    staff = app.test_client()
    staff.post("/login", data={"email": "taihe@demo.cn", "password": "demo1234"})
    assert staff.get("/admin/households").status_code == 200
    admin = app.test_client()
    admin.post("/login", data={"email": "admin@demo.cn", "password": "demo1234"})
    with app.app_context():
        staff_id = db.session.scalar(select(User.id).filter_by(email="taihe@demo.cn"))
    assert admin.post(f"/admin/users/{staff_id}/active", data={"active": "0"}).status_code == 303
    assert staff.get("/admin/households").status_code == 302  # sent to sign in: the session is over
    assert app.test_client().post("/login", data={"email": "taihe@demo.cn", "password": "demo1234"}).status_code == 401
    with app.app_context():
        assert db.session.scalar(select(AuditLog).filter_by(action="user.deactivated")).object_id == staff_id


def test_users_are_searched_by_name_or_email_and_role(client, auth, district):
    auth.login_as("admin@demo.cn")
    page = client.get("/admin/users?q=taihe").get_data(as_text=True)
    assert "taihe@demo.cn" in page and "buyer@demo.cn" not in page
    staff = client.get("/admin/users?role=town_staff").get_data(as_text=True)
    assert "town2@demo.cn" in staff and "coop@demo.cn" not in staff
