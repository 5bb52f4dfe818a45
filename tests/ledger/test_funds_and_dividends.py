"""Rules 5, 12, 13: dividends at period close, fixed returns, love-fund donations and aid."""
from datetime import date
from decimal import Decimal

import pytest

from marketplace.coops.models import CooperativePeriod
from marketplace.errors import Conflict, DomainError, Forbidden
from marketplace.extensions import db
from marketplace.funds.models import FixedReturnInvestment, InvestmentHolding, LoveFundGrant
from marketplace.ledger.attribution import (
    attribute_payment, post_dividends, post_fixed_returns, post_love_fund_aid, preview_dividends,
    record_love_fund_donation,
)
from marketplace.ledger.balances import household_balance, love_fund_summary
from marketplace.ledger.errors import InsufficientFunds
from marketplace.ledger.services import household_account, owed_to_fen
from marketplace.local_time import local_today
from worker.tasks.ledger import run_fixed_returns


def credited(household):
    return owed_to_fen(household_account(household.id))


def test_dividends_split_the_periods_profit_by_weighted_shares_and_match_the_preview(district):
    small, large, cash = district.household(), district.household(), district.household()
    coop = district.cooperative(profit_return_rate="0", dividend_rate="0.50", members=[(small, 1), (large, 2)])
    member = district.member(coop, cash, land=0)
    member.holdings[0].kind = "cash"
    member.holdings[0].quantity = Decimal(2)  # cash weighs 0.5: 2 cash shares count as 1
    db.session.commit()
    grains = district.variant(coop, price_fen=1_000, floor_price_fen=400)
    district.lot(grains, small, 10)
    district.fund(coop, 4_000)  # the floor money is covered: the settled profit is distributable
    order, payment = district.paid_order([(grains, 10)])
    attribute_payment(payment.id)
    district.settle(order)
    today = local_today()

    preview = preview_dividends(coop.id, today, today)
    # profit = 10 000 revenue − 4 000 floor cost; pool = 50 % = 3 000 over weights 1, 2, 1
    assert preview == {small.id: 750, large.id: 1_500, cash.id: 750}
    period = district.add(CooperativePeriod(cooperative_id=coop.id, period_start=today, period_end=today,
                                            dividend_rate=Decimal("0.50")))
    db.session.commit()
    before = {h.id: credited(h) for h in (small, large, cash)}
    post_dividends(period.id)
    post_dividends(period.id)
    assert {h.id: credited(h) - before[h.id] for h in (small, large, cash)} == preview
    assert db.session.get(CooperativePeriod, period.id).status == "closed"
    assert db.session.get(CooperativePeriod, period.id).distributable_profit_fen == 6_000


def investment(district, holders, principal_fen=60_000_000, started_on=date(2018, 1, 1)):
    inv = district.add(FixedReturnInvestment(town_id=district.town.id, name_zh="扶贫资金入股", name_en="Fund",
                                             company_name="公司", principal_fen=principal_fen,
                                             annual_rate=Decimal("0.07"), started_on=started_on))
    for household, units in holders:
        district.add(InvestmentHolding(investment_id=inv.id, household_id=household.id, units=Decimal(units)))
    db.session.commit()
    return inv


def test_fixed_return_of_the_articles_investment_pays_840_yuan_a_person_a_year(district):
    families = [(district.household(), people) for people in (1, 3, 2)]
    inv = investment(district, families, principal_fen=6 * 840_00 * 100 // 7)  # 7 % of it is 840元 × 6 people
    post_fixed_returns(inv.id, "2025")
    post_fixed_returns(inv.id, "2025")
    assert [credited(h) for h, _ in families] == [840_00, 3 * 840_00, 2 * 840_00]
    with pytest.raises(Conflict):
        post_fixed_returns(inv.id, "2025-Q2")  # already paid within the year


def test_the_beat_pays_each_ended_quarter_once(district):
    holder = district.household()
    inv = investment(district, [(holder, 1)], principal_fen=1_200_000)
    assert run_fixed_returns("2026-07-15") == 1
    run_fixed_returns("2026-07-20")
    assert credited(holder) == 21_000  # 1.2 万元 × 7 % / 4
    with pytest.raises(DomainError):
        post_fixed_returns(inv.id, "2026-Q5")


def test_love_fund_takes_donations_and_never_grants_beyond_its_balance(district):
    staff, checker = district.user("town_staff", town_id=district.town.id), district.user("admin")
    record_love_fund_donation(district.town.id, 23_883_40, "charity_market", "义集 2026-05", staff.id)
    record_love_fund_donation(district.town.id, 23_883_40, "charity_market", "义集 2026-05", staff.id)
    assert love_fund_summary(district.town.id)["balance_fen"] == 23_883_40

    patient = district.household()
    grant = district.add(LoveFundGrant(town_id=district.town.id, household_id=patient.id, purpose="illness",
                                       amount_fen=20_000_00, status="approved", proposed_by_id=staff.id,
                                       approved_by_id=checker.id))
    too_much = district.add(LoveFundGrant(town_id=district.town.id, household_id=patient.id, purpose="education",
                                          amount_fen=5_000_00, status="approved", proposed_by_id=staff.id,
                                          approved_by_id=checker.id))
    post_love_fund_aid(grant.id)
    post_love_fund_aid(grant.id)
    db.session.commit()
    with pytest.raises(InsufficientFunds):
        post_love_fund_aid(too_much.id)
    db.session.rollback()
    assert household_balance(patient.id).available_fen == 20_000_00
    assert love_fund_summary(district.town.id) == {"received_fen": 23_883_40, "granted_fen": 20_000_00,
                                                   "balance_fen": 3_883_40, "pending_fen": 0,
                                                   "available_fen": 3_883_40}


def test_only_the_towns_staff_record_its_donations_and_bad_amounts_are_refused(district):
    outsider = district.user("town_staff", town_id=district.add(
        type(district.town)(slug="other", name_zh="别镇", name_en="Other")).id)
    staff = district.user("town_staff", town_id=district.town.id)
    with pytest.raises(Forbidden):
        record_love_fund_donation(district.town.id, 100, "gift", "r1", outsider.id)
    for amount in (0, -5, 1.5, True):
        with pytest.raises(DomainError):
            record_love_fund_donation(district.town.id, amount, "gift", "r2", staff.id)
    assert love_fund_summary(district.town.id)["received_fen"] == 0


def test_a_proposed_grant_is_not_paid(district):
    staff = district.user("town_staff", town_id=district.town.id)
    grant = district.add(LoveFundGrant(town_id=district.town.id, household_id=district.household().id,
                                       purpose="hardship", amount_fen=100, proposed_by_id=staff.id))
    with pytest.raises(Conflict):
        post_love_fund_aid(grant.id)
