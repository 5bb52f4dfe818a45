"""Importing the poverty registry (建档立卡名册): households found by the blind index of their number.

A row is created when its registry number is new, updated when the household exists and a
value differs, left alone when nothing differs, and rejected (with a reason) otherwise. A
registry number that appears on two rows of one file is rejected on both: the file must say
which is right.
"""
import re
from sqlalchemy import select, update

from marketplace.crypto import blind_index, mask
from marketplace.database import utcnow
from marketplace.extensions import db
from marketplace.imports.plans import Plan, chunks, insert_rows, report_progress
from marketplace.people.models import Household, HouseholdStatusChange
from marketplace.places.models import Town, Village

COLUMNS = {
    "town": ("镇", "乡镇", "镇/街道", "town"),
    "village": ("村", "村名", "所在村", "village"),
    "head_name": ("户主姓名", "户主", "head of household"),
    "people_count": ("人口数", "家庭人口数", "people"),
    "registry_no": ("建档立卡编号", "建档立卡号", "registry number"),
    "bank_name": ("开户银行", "bank"),
    "bank_account": ("银行账号", "bank account"),
}
REQUIRED = ("village", "head_name", "people_count", "registry_no")
TEMPLATE_EXAMPLE = [
    ("岭子镇", "李里村", "王秀兰", 3, "37030200100123", "淄川农商银行", "6217000000001234567"),
    ("太河镇", "响泉村", "李建国", 2, "37030200200456", "", ""),
]
REGISTRY_NO = re.compile(r"^\d{10,20}$")
BANK_ACCOUNT = re.compile(r"^\d{12,30}$")
PEOPLE_COUNT = re.compile(r"^\d{1,2}$")


def plan(rows, scope_town_id=None, mark_verified=False, on_progress=None):
    """Decide every row; nothing is written. `scope_town_id` limits a town's staff to its villages."""
    villages = _villages_by_name(scope_town_id)
    checked = []
    result = Plan()
    for done, row in enumerate(rows, start=1):
        checked.append(_check_row(row, villages))
        report_progress(on_progress, done)
    repeats = {}
    for item in checked:
        if "reason" not in item:
            repeats.setdefault(item["registry_no"], []).append(item["row"])
    existing = _existing_households(item["index"] for item in checked if "reason" not in item)
    for item in checked:
        shown = {"name": item.get("head_name", ""), "village": item.get("village_name", ""),
                 "registry": mask(item["registry_no"]) if item.get("registry_no") else ""}
        if "reason" in item:
            result.add(item["row"], "reject", item["reason"], item.get("detail", ""), **shown)
        elif len(repeats[item["registry_no"]]) > 1:
            rows_with = ", ".join(map(str, repeats[item["registry_no"]][:10]))
            result.add(item["row"], "reject", "duplicate_registry_no", rows_with, **shown)
        elif item["index"] in existing:
            _plan_existing(result, item, existing[item["index"]], scope_town_id, mark_verified, shown)
        else:
            result.creates.append(_new_household(item, mark_verified))
            result.add(item["row"], "create", **shown)
    return result


def write(plan_, job):
    """Write the planned rows with bulk statements in the caller's transaction."""
    now = utcnow()
    verified = {"verified_at": now, "verified_by_id": job.created_by_id, "verification_evidence": job.evidence[:500]}
    unverified = {"verified_at": None, "verified_by_id": None, "verification_evidence": ""}
    if plan_.creates:
        insert_rows(Household, [{**row, **(verified if job.mark_verified else unverified), "created_at": now}
                                for row in plan_.creates])
    if plan_.updates:
        db.session.execute(update(Household), [{**row, **verified} if row.get("is_verified_poor") else row
                                               for row in plan_.updates])
    if job.mark_verified:
        verified_ids = [row["id"] for row in plan_.updates if row.get("is_verified_poor")]
        for indexes in chunks(row["registry_no_index"] for row in plan_.creates):
            verified_ids.extend(db.session.scalars(select(Household.id).where(Household.registry_no_index.in_(indexes))))
        insert_rows(HouseholdStatusChange, [
            {"household_id": household_id, "field": "verified_poor", "value": True, "at": now,
             "evidence": job.evidence[:500], "actor_id": job.created_by_id} for household_id in verified_ids])


def _villages_by_name(scope_town_id):
    query = select(Village.id, Village.name_zh, Town.name_zh, Village.town_id).join(Town)
    if scope_town_id is not None:
        query = query.where(Village.town_id == scope_town_id)
    villages = {}
    for village_id, name, town_name, town_id in db.session.execute(query):
        villages.setdefault(name, []).append((village_id, town_name, town_id))
    return villages


def _check_row(row, villages):
    values = row.values
    item = {"row": row.number, "head_name": values.get("head_name", "")[:60],
            "village_name": values.get("village", "")[:60]}
    if row.bad_encoding:
        return {**item, "head_name": "", "reason": "bad_encoding"}
    for name in REQUIRED:
        if not values.get(name):
            return {**item, "reason": "missing_field", "detail": COLUMNS[name][0]}
    registry_no = values["registry_no"].strip()
    if not REGISTRY_NO.match(registry_no):
        return {**item, "reason": "malformed_registry_no", "detail": registry_no[:4] + "…" if len(registry_no) > 4 else ""}
    item["registry_no"] = registry_no
    if not PEOPLE_COUNT.match(values["people_count"]) or not 1 <= int(values["people_count"]) <= 30:
        return {**item, "reason": "malformed_people_count", "detail": values["people_count"][:10]}
    if len(values["head_name"]) > 60:
        return {**item, "reason": "name_too_long"}
    bank_account = "".join(values.get("bank_account", "").split())
    if bank_account and not BANK_ACCOUNT.match(bank_account):
        return {**item, "reason": "malformed_bank_account"}
    village_id = _find_village(values, villages)
    if isinstance(village_id, str):
        return {**item, "reason": village_id, "detail": values["village"][:60]}
    return {**item, "registry_no": registry_no, "index": blind_index(registry_no), "village_id": village_id,
            "people_count": int(values["people_count"]), "bank_account": bank_account,
            "bank_name": values.get("bank_name", "")[:80]}


def _find_village(values, villages):
    """The village's id, or the reason it cannot be told: missing or ambiguous."""
    candidates = villages.get(values["village"], [])
    if values.get("town"):
        candidates = [c for c in candidates if c[1] == values["town"]]
    if not candidates:
        return "missing_village"
    if len(candidates) > 1:
        return "ambiguous_village"
    return candidates[0][0]


def _existing_households(indexes):
    found = {}
    columns = (Household.id, Household.registry_no_index, Household.village_id, Household.head_name,
               Household.people_count, Household.bank_account, Household.bank_name, Household.is_verified_poor,
               Village.town_id)
    for chunk in chunks(set(indexes)):
        for row in db.session.execute(select(*columns).join(Village).where(Household.registry_no_index.in_(chunk))):
            found[row.registry_no_index] = row
    return found


def _plan_existing(result, item, current, scope_town_id, mark_verified, shown):
    if scope_town_id is not None and current.town_id != scope_town_id:
        result.add(item["row"], "reject", "other_town", **shown)
        return
    changes = {}
    if current.village_id != item["village_id"]:
        changes["village_id"] = item["village_id"]
    if current.head_name != item["head_name"]:
        changes["head_name"] = item["head_name"]
    if current.people_count != item["people_count"]:
        changes["people_count"] = item["people_count"]
    if item["bank_account"] and current.bank_account != item["bank_account"]:
        changes.update(bank_account=item["bank_account"], bank_account_masked=mask(item["bank_account"]),
                       payout_method="bank")
    if item["bank_name"] and current.bank_name != item["bank_name"]:
        changes["bank_name"] = item["bank_name"]
    if mark_verified and not current.is_verified_poor:
        changes["is_verified_poor"] = True
    if not changes:
        result.add(item["row"], "unchanged", **shown)
        return
    result.updates.append({"id": current.id, **changes})
    changed = sorted({"bank_account" if key.startswith("bank_account") or key == "payout_method" else key
                      for key in changes})
    result.add(item["row"], "update", "changed", ", ".join(changed), **shown)


def _new_household(item, mark_verified):
    account = item["bank_account"] or None
    return {
        "village_id": item["village_id"], "head_name": item["head_name"], "people_count": item["people_count"],
        "registry_no": item["registry_no"], "registry_no_index": item["index"],
        "registry_no_masked": mask(item["registry_no"]), "is_verified_poor": mark_verified,
        "payout_method": "bank" if account else "cash", "bank_account": account,
        "bank_account_masked": mask(account) if account else "", "bank_name": item["bank_name"],
    }
