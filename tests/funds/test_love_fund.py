import pytest
from sqlalchemy import select

from marketplace.audit.models import AuditLog
from marketplace.errors import Conflict, Forbidden, NotFound
from marketplace.extensions import db
from marketplace.funds import services as love_fund
from marketplace.funds.models import LoveFundGrant
from marketplace.ledger.balances import household_balance, love_fund_summary


def test_donations_fill_the_fund_once_per_reference(lingzi):
    love_fund.record_donation(lingzi.maker_id, "charity_market", 2_388_340, "义集-2026-01")
    love_fund.record_donation(lingzi.maker_id, "charity_market", 2_388_340, "义集-2026-01")
    love_fund.record_donation(lingzi.checker_id, "gift", 200_000, "捐赠-001")
    assert love_fund_summary(lingzi.town_id) == {"received_fen": 2_588_340, "granted_fen": 0, "balance_fen": 2_588_340,
                                                 "pending_fen": 0, "available_fen": 2_588_340}


def test_aid_needs_a_second_staff_member_and_credits_the_household(lingzi):
    household = lingzi.households()[0]
    before = household_balance(household.id).available_fen
    love_fund.record_donation(lingzi.maker_id, "gift", 100_000, "捐赠-002")
    grant = love_fund.propose_grant(lingzi.maker_id, household.id, "illness", 80_000, "住院治疗")
    with pytest.raises(Forbidden, match="another staff member"):
        love_fund.approve_grant(lingzi.maker_id, grant.id)
    love_fund.approve_grant(lingzi.checker_id, grant.id)
    assert household_balance(household.id).available_fen == before + 80_000
    assert love_fund_summary(lingzi.town_id)["balance_fen"] == 20_000
    assert db.session.scalar(select(AuditLog.actor_id).filter_by(action="love_fund.approve")) == lingzi.checker_id


def test_aid_is_never_beyond_the_funds_balance(lingzi):
    household = lingzi.households()[0]
    love_fund.record_donation(lingzi.maker_id, "gift", 50_000, "捐赠-003")
    with pytest.raises(Conflict, match="only"):
        love_fund.propose_grant(lingzi.maker_id, household.id, "education", 50_001, "学费")
    love_fund.propose_grant(lingzi.maker_id, household.id, "education", 30_000, "学费")
    with pytest.raises(Conflict, match="only"):  # what is proposed is spoken for
        love_fund.propose_grant(lingzi.checker_id, household.id, "hardship", 30_000, "临时困难")
    assert db.session.query(LoveFundGrant).count() == 1


def test_another_towns_household_cannot_be_aided(lingzi):
    love_fund.record_donation(lingzi.maker_id, "gift", 50_000, "捐赠-004")
    taihe_household = lingzi.households()[0].id
    with pytest.raises(NotFound):
        love_fund.propose_grant(lingzi.other_town_staff_id, taihe_household, "illness", 1_000, "x")
