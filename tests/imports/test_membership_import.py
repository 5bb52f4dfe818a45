from decimal import Decimal

from sqlalchemy import func, select

from marketplace.coops.models import Cooperative, Membership, ShareChange, ShareHolding
from marketplace.extensions import db
from marketplace.people.models import Household, User
from marketplace.imports import services
from tests.imports.conftest import dry_run

HEADER = "合作社登记号,建档立卡编号,入社日期,土地股(亩),房屋股,资金股,现金股\n"


def registry_numbers(count):
    return [h.registry_no for h in db.session.scalars(select(Household).order_by(Household.id).limit(count))]


def apply(text, actor_id):
    job = dry_run("memberships", "members.csv", (HEADER + text).encode(), actor_id)
    if job.created_count or job.updated_count:
        services.start_apply(job.id, actor_id)
        services.run_apply(job.id)
    return job


def test_memberships_and_shares_are_imported_once_and_changes_keep_their_history(app, demo):
    admin_id = db.session.scalar(select(User.id).filter_by(email="admin@demo.cn"))
    first, second, third = registry_numbers(3)
    coop = db.session.scalar(select(Cooperative).filter_by(registration_no="DEMO-lili-grains"))
    before = db.session.scalar(select(func.count(Membership.id)))
    rows = (f"DEMO-lili-grains,{first},2019-05-01,2.5,,,1\n"
            f"DEMO-lili-grains,{second},,1,1,,\n"
            f"NO-SUCH-COOP,{third},,1,,,\n"
            f"DEMO-lili-grains,99999999999999,,1,,,\n"
            f"DEMO-lili-grains,{third},2019-13-01,1,,,\n"
            f"DEMO-lili-grains,{third},,-1,,,\n")
    job = apply(rows, admin_id)
    assert [row["reason"] for row in job.report if row["outcome"] == "reject"] == [
        "missing_cooperative", "unknown_household", "malformed_date", "malformed_share"]
    assert job.created_count == 2
    assert db.session.scalar(select(func.count(Membership.id))) == before + 2
    member = db.session.scalar(select(Membership).where(Membership.cooperative_id == coop.id)
                               .order_by(Membership.id.desc()).offset(1).limit(1))
    assert {h.kind: h.quantity for h in member.holdings} == {"land": Decimal("2.5"), "cash": Decimal("1")}

    # The same file again changes nothing; a changed share is updated, with its history.
    assert apply(rows, admin_id).unchanged_count == 2
    assert db.session.scalar(select(func.count(Membership.id))) == before + 2
    changes_before = db.session.scalar(select(func.count(ShareChange.id)))
    job = apply(f"DEMO-lili-grains,{first},,3,,,\n", admin_id)
    assert job.updated_count == 1
    land = db.session.scalar(select(ShareHolding).filter_by(membership_id=member.id, kind="land"))
    assert land.quantity == Decimal("3")
    change = db.session.scalar(select(ShareChange).order_by(ShareChange.id.desc()))
    assert (change.old_quantity, change.new_quantity, change.changed_by_id) == (Decimal("2.5"), Decimal("3"), admin_id)
    assert db.session.scalar(select(func.count(ShareChange.id))) == changes_before + 1


def test_a_household_twice_in_one_cooperative_is_rejected_on_both_rows(app, demo):
    admin_id = db.session.scalar(select(User.id).filter_by(email="admin@demo.cn"))
    (number,) = registry_numbers(1)
    job = dry_run("memberships", "m.csv",
                                (HEADER + f"DEMO-zhaili-millet,{number},,1,,,\nDEMO-zhaili-millet,{number},,2,,,\n").encode(),
                                admin_id)
    assert [(row["outcome"], row["reason"]) for row in job.report] == [("reject", "duplicate_membership")] * 2
