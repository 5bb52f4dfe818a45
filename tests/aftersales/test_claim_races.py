"""On PostgreSQL: two town staff deciding the same escalated claim at the same moment decide it once
(one conditional UPDATE wins, the other is told the claim was decided), and one refund is recorded."""
import threading
from datetime import timedelta

import pytest
from sqlalchemy import func, select

from marketplace.aftersales import services as claims
from marketplace.aftersales.models import Claim
from marketplace.database import utcnow
from tests.demo_copy import seed_demo
from marketplace.errors import Conflict
from marketplace.extensions import db
from marketplace.payments.models import Refund
from tests.aftersales.builders import claimed_order, user_id

pytestmark = pytest.mark.postgres
CLAIMS = 6


def test_two_staff_deciding_at_once_decide_once(app):
    with app.app_context():
        seed_demo()
        claim_ids = [claimed_order(quantity=2).claim_id for _ in range(CLAIMS)]
        claims.escalate_overdue(now=utcnow() + timedelta(hours=app.config["CLAIM_RESPONSE_HOURS"] + 1))
        staff = [user_id("town@demo.cn"), user_id("town2@demo.cn")]
        db.session.remove()
    outcomes = []
    lock = threading.Lock()

    def decide(claim_id, staff_id, shares, barrier):
        with app.app_context():
            barrier.wait()
            try:
                claims.decide(claim_id, staff_id, 100, shares, "同时裁决")
                result = ("decided", staff_id)
            except Conflict:
                db.session.rollback()
                result = ("refused", staff_id)
            finally:
                db.session.remove()
        with lock:
            outcomes.append((claim_id, *result))

    for claim_id in claim_ids:
        barrier = threading.Barrier(2)
        carrier, platform = {"seller": 0, "carrier": 100, "platform": 0}, {"seller": 0, "carrier": 0, "platform": 100}
        threads = [threading.Thread(target=decide, args=(claim_id, staff[0], carrier, barrier)),
                   threading.Thread(target=decide, args=(claim_id, staff[1], platform, barrier))]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=60)
    with app.app_context():
        for claim_id in claim_ids:
            verdicts = sorted(verdict for cid, verdict, _staff in outcomes if cid == claim_id)
            assert verdicts == ["decided", "refused"], outcomes
            winner = next(who for cid, verdict, who in outcomes if cid == claim_id and verdict == "decided")
            claim = db.session.get(Claim, claim_id)
            assert claim.decided_by_id == winner
            assert (claim.carrier_percent == 100) == (winner == staff[0])  # the winner's bearer, not a mix
            assert db.session.scalar(select(func.count(Refund.id)).where(Refund.order_id == claim.order_id)) == 1
        db.session.remove()
