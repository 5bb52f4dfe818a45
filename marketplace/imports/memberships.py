"""Importing cooperative memberships and shares (入股): one row per member household.

The household is found by the blind index of its registry number, the cooperative by its
registration number. Share columns left blank are left as they are; a changed quantity is
written with a ShareChange row, so the share history stays whole.
"""
import re
from datetime import date
from decimal import Decimal, InvalidOperation

from sqlalchemy import select, update

from marketplace.coops.models import Cooperative, Membership, ShareChange, ShareHolding
from marketplace.crypto import blind_index, mask
from marketplace.database import utcnow
from marketplace.extensions import db
from marketplace.imports.households import REGISTRY_NO
from marketplace.imports.plans import Plan, chunks, insert_rows, report_progress
from marketplace.people.models import Household
from marketplace.local_time import local_today

SHARE_COLUMNS = {"land": ("土地股(亩)", "土地股", "land shares"), "house": ("房屋股", "house shares"),
                 "fund": ("资金股", "折股量化股", "fund shares"), "cash": ("现金股", "cash shares")}
COLUMNS = {
    "cooperative": ("合作社登记号", "合作社统一社会信用代码", "cooperative registration number"),
    "registry_no": ("建档立卡编号", "建档立卡号", "registry number"),
    "joined_on": ("入社日期", "joined on"),
    **SHARE_COLUMNS,
}
REQUIRED = ("cooperative", "registry_no")
TEMPLATE_EXAMPLE = [("DEMO-lili-grains", "37030200100123", "2018-03-01", "2.5", "", "", "1")]
DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")
MAX_QUANTITY = Decimal("99999999999")


def plan(rows, scope_town_id=None, mark_verified=False, on_progress=None):
    """Decide every row; nothing is written. A town's staff reach only their town's cooperatives."""
    query = select(Cooperative.registration_no, Cooperative.id)
    if scope_town_id is not None:
        query = query.where(Cooperative.town_id == scope_town_id)
    cooperatives = dict(db.session.execute(query).all())
    checked = []
    for done, row in enumerate(rows, start=1):
        checked.append(_check_row(row, cooperatives))
        report_progress(on_progress, done)
    households = _households_by_index({item["index"] for item in checked if "index" in item})
    memberships = _memberships({households[i["index"]] for i in checked if i.get("index") in households})
    pairs = {}
    for item in checked:
        if "reason" not in item and item["index"] in households:
            pairs.setdefault((item["cooperative_id"], households[item["index"]]), []).append(item["row"])
    result = Plan()
    for item in checked:
        shown = {"name": item.get("cooperative", ""), "village": "", "registry": item.get("masked", "")}
        if "reason" in item:
            result.add(item["row"], "reject", item["reason"], item.get("detail", ""), **shown)
            continue
        household_id = households.get(item["index"])
        if household_id is None:
            result.add(item["row"], "reject", "unknown_household", **shown)
            continue
        key = (item["cooperative_id"], household_id)
        if len(pairs[key]) > 1:
            result.add(item["row"], "reject", "duplicate_membership", ", ".join(map(str, pairs[key][:10])), **shown)
        elif key in memberships:
            _plan_existing(result, item, memberships[key], shown)
        else:
            result.creates.append({"cooperative_id": key[0], "household_id": key[1],
                                   "joined_on": item["joined_on"] or local_today(), "shares": item["shares"]})
            result.add(item["row"], "create", **shown)
    return result


def write(plan_, job):
    """Write memberships, holdings and share history with bulk statements in the caller's transaction."""
    now = utcnow()
    history = []
    if plan_.creates:
        insert_rows(Membership, [{k: v for k, v in row.items() if k != "shares"} for row in plan_.creates])
        ids = _membership_ids({row["household_id"] for row in plan_.creates})
        holdings = []
        for row in plan_.creates:
            membership_id = ids[(row["cooperative_id"], row["household_id"])]
            for kind, quantity in row["shares"].items():
                holdings.append({"membership_id": membership_id, "kind": kind, "quantity": quantity})
                history.append(_change(membership_id, kind, Decimal(0), quantity, job, now))
        if holdings:
            insert_rows(ShareHolding, holdings)
    new_holdings, changed_holdings = [], []
    for row in plan_.updates:
        for kind, (holding_id, old, new) in row["changes"].items():
            if holding_id is None:
                new_holdings.append({"membership_id": row["membership_id"], "kind": kind, "quantity": new})
            else:
                changed_holdings.append({"id": holding_id, "quantity": new})
            history.append(_change(row["membership_id"], kind, old, new, job, now))
    if new_holdings:
        insert_rows(ShareHolding, new_holdings)
    if changed_holdings:
        db.session.execute(update(ShareHolding), changed_holdings)
    if history:
        insert_rows(ShareChange, history)


def _change(membership_id, kind, old, new, job, now):
    return {"membership_id": membership_id, "kind": kind, "old_quantity": old, "new_quantity": new,
            "changed_by_id": job.created_by_id, "changed_at": now, "note": f"import #{job.id}"}


def _check_row(row, cooperatives):
    values = row.values
    item = {"row": row.number, "cooperative": values.get("cooperative", "")[:40]}
    if row.bad_encoding:
        return {**item, "cooperative": "", "reason": "bad_encoding"}
    for name in REQUIRED:
        if not values.get(name):
            return {**item, "reason": "missing_field", "detail": COLUMNS[name][0]}
    registry_no = values["registry_no"].strip()
    if not REGISTRY_NO.match(registry_no):
        return {**item, "reason": "malformed_registry_no"}
    item["masked"] = mask(registry_no)
    if values["cooperative"] not in cooperatives:
        return {**item, "reason": "missing_cooperative", "detail": values["cooperative"][:40]}
    joined_on = values.get("joined_on", "")
    if joined_on and not _is_date(joined_on):
        return {**item, "reason": "malformed_date", "detail": joined_on[:20]}
    shares = {}
    for kind, headers in SHARE_COLUMNS.items():
        text = values.get(kind, "")
        if not text:
            continue
        quantity = _quantity(text)
        if quantity is None:
            return {**item, "reason": "malformed_share", "detail": headers[0]}
        shares[kind] = quantity
    return {**item, "index": blind_index(registry_no), "cooperative_id": cooperatives[values["cooperative"]],
            "joined_on": date.fromisoformat(joined_on) if joined_on else None, "shares": shares}


def _is_date(text):
    if not DATE.match(text):
        return False
    try:
        date.fromisoformat(text)
    except ValueError:
        return False
    return True


def _quantity(text):
    try:
        quantity = Decimal(text)
    except InvalidOperation:
        return None
    if not quantity.is_finite() or quantity < 0 or quantity > MAX_QUANTITY or quantity != quantity.quantize(Decimal("0.001")):
        return None
    return quantity


def _households_by_index(indexes):
    found = {}
    for chunk in chunks(indexes):
        found.update(db.session.execute(
            select(Household.registry_no_index, Household.id).where(Household.registry_no_index.in_(chunk))).all())
    return found


def _memberships(household_ids):
    """(cooperative id, household id) -> (membership id, {kind: (holding id, quantity)})."""
    found = {}
    for chunk in chunks(household_ids):
        rows = db.session.execute(
            select(Membership.id, Membership.cooperative_id, Membership.household_id, ShareHolding.id,
                   ShareHolding.kind, ShareHolding.quantity)
            .outerjoin(ShareHolding, ShareHolding.membership_id == Membership.id)
            .where(Membership.household_id.in_(chunk)))
        for membership_id, cooperative_id, household_id, holding_id, kind, quantity in rows:
            _, holdings = found.setdefault((cooperative_id, household_id), (membership_id, {}))
            if holding_id is not None:
                holdings[kind] = (holding_id, quantity)
    return found


def _membership_ids(household_ids):
    ids = {}
    for chunk in chunks(household_ids):
        ids.update({(c, h): i for i, c, h in db.session.execute(
            select(Membership.id, Membership.cooperative_id, Membership.household_id)
            .where(Membership.household_id.in_(chunk)))})
    return ids


def _plan_existing(result, item, current, shown):
    membership_id, holdings = current
    changes = {}
    for kind, quantity in item["shares"].items():
        holding_id, old = holdings.get(kind, (None, Decimal(0)))
        if holding_id is None or Decimal(old) != quantity:
            changes[kind] = (holding_id, Decimal(old), quantity)
    if not changes:
        result.add(item["row"], "unchanged", **shown)
        return
    result.updates.append({"membership_id": membership_id, "changes": changes})
    result.add(item["row"], "update", "changed", ", ".join(sorted(changes)), **shown)
