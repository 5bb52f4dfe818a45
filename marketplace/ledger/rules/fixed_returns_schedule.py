"""When fixed returns are paid: each quarter, once it has ended (the beat runs daily)."""
from datetime import date

from sqlalchemy import select

from marketplace.errors import Conflict
from marketplace.extensions import db
from marketplace.funds.models import FixedReturnInvestment
from marketplace.ledger.rules.funds import post_fixed_returns
from marketplace.local_time import local_today


def last_ended_quarter(today):
    """The label of the latest quarter that ended before `today`, and its first day."""
    quarter = (today.month - 1) // 3  # 0-based current quarter
    year, previous = (today.year, quarter) if quarter else (today.year - 1, 4)
    return f"{year}-Q{previous}", date(year, 3 * (previous - 1) + 1, 1)


def run_fixed_returns(today=None):
    """Post the last ended quarter's fixed return of every investment started by then; returns how many."""
    label, first_day = last_ended_quarter(today or local_today())
    posted = 0
    investments = db.session.scalars(select(FixedReturnInvestment.id).where(
        FixedReturnInvestment.started_on <= first_day).order_by(FixedReturnInvestment.id)).all()
    for investment_id in investments:
        try:
            post_fixed_returns(investment_id, label)
            posted += 1
        except Conflict:
            db.session.rollback()  # already paid for that period (or no holders): nothing to do
    return posted
