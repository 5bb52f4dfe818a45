from sqlalchemy import select

from marketplace.audit.models import AuditLog
from marketplace.extensions import db
from marketplace.places.models import Town, Village


def test_every_admin_screen_opens_for_the_admin(client, auth, district):
    auth.login_as("admin@demo.cn")
    for path in ("/admin/", "/admin/towns", "/admin/villages", "/admin/service-points", "/admin/cooperatives",
                 "/admin/suppliers", "/admin/users", "/admin/households", "/admin/imports", "/admin/audit",
                 "/admin/invitations/new", "/admin/towns/new", "/admin/villages/new", "/admin/cooperatives/new",
                 "/admin/service-points/new", "/admin/suppliers/new"):
        assert client.get(path).status_code == 200, path


def test_buyers_and_managers_are_kept_out(client, auth, district):
    for email in ("buyer@demo.cn", "coop@demo.cn"):
        auth.login_as(email)
        assert client.get("/admin/").status_code == 403
        assert client.get("/admin/households").status_code == 403


def test_town_staff_see_households_but_not_the_district_setup(client, auth, district):
    auth.login_as("town@demo.cn")
    assert client.get("/admin/households").status_code == 200
    assert client.get("/admin/users").status_code == 403
    assert client.get("/admin/towns").status_code == 403


def test_villages_are_searched_and_paged(client, auth, district):
    auth.login_as("admin@demo.cn")
    page = client.get("/admin/villages?q=响泉").get_data(as_text=True)
    assert "响泉村" in page and "李里村" not in page
    poor = client.get("/admin/villages?poor=1").get_data(as_text=True)
    assert "东东峪村" in poor and "响泉村" not in poor
    with client.application.app_context():
        town = db.session.scalar(select(Town).filter_by(slug="taihe"))
        db.session.add_all([Village(town_id=town.id, name_zh=f"新村{i:02d}", name_en=f"New {i}") for i in range(30)])
        db.session.commit()
    first = client.get("/admin/villages?q=新村").get_data(as_text=True)
    second = client.get("/admin/villages?q=新村&page=2").get_data(as_text=True)
    assert "新村00" in first and "新村00" not in second and "新村29" in second
    assert "第 2 页" in second or "2" in second


def test_adding_a_poor_village_is_audited(client, auth, district):
    auth.login_as("admin@demo.cn")
    with client.application.app_context():
        town_id = db.session.scalar(select(Town.id).filter_by(slug="taihe"))
    response = client.post("/admin/villages/new", data={"town_id": town_id, "name_zh": "石门村", "name_en": "Shimen Village",
                                                        "is_poor_village": "y"})
    assert response.status_code == 302
    with client.application.app_context():
        village = db.session.scalar(select(Village).filter_by(name_zh="石门村"))
        assert village.is_poor_village
        row = db.session.scalar(select(AuditLog).filter_by(action="village.created"))
        assert row.object_id == village.id and row.town_id == town_id
    # The same name in the same town again is refused with a message, and nothing is added.
    again = client.post("/admin/villages/new", data={"town_id": town_id, "name_zh": "石门村", "name_en": "Other"})
    assert again.status_code == 409
    with client.application.app_context():
        assert db.session.query(Village).filter_by(name_zh="石门村").count() == 1


def test_the_audit_log_is_filtered(client, auth, district):
    auth.login_as("admin@demo.cn")
    with client.application.app_context():
        town_id = db.session.scalar(select(Town.id).filter_by(slug="taihe"))
    client.post("/admin/villages/new", data={"town_id": town_id, "name_zh": "石门村", "name_en": "Shimen"})
    client.post("/admin/towns/new", data={"slug": "nanwang", "name_zh": "南王镇", "name_en": "Nanwang"})
    def listed(url):  # the log's rows (the filter's list of actions names every action)
        return client.get(url).get_data(as_text=True).split('class="history audit"', 1)[1]

    villages = listed("/admin/audit?action=village.")
    assert "新增了村" in villages and "新增了镇" not in villages  # the audit log reads as sentences
    by_admin = listed("/admin/audit?actor=admin@demo")
    assert "新增了镇" in by_admin
    nobody = listed("/admin/audit?actor=buyer@demo")
    assert "新增了镇" not in nobody
