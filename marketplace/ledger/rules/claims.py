"""The after-sales claim rule: a claim's refund of a line, reversed pro rata and charged to its bearers.

A claim's decision names who bears its refund, in whole percent: the seller, the carrier, the
platform, or a split. The refund of the line is first shared across the line's recipients
exactly as rule 8 would take it back (largest remainder of everything refunded of the line so
far, so claims and refunds of the same line add up in any order); each bearer's part of the
refund is then that share split again by the bearers' percentages, and posted:

- the **seller's** part reverses the recipients' own credits (the cooperative's revenue, the
  platform's commission, a selling household's or supplier's credit) — except a *verified poor
  household's profit return* on a cooperative's line: the household is not at fault, so the
  cooperative covers it (a receivable from the cooperative, `claims_receivable[cooperative]`).
  A household or supplier that is itself the seller is never taken below zero: what it cannot
  give back becomes the platform's loss (a household) or a receivable from the supplier;
- the **carrier's** part is a receivable from the carrier (`claims_receivable`, no owner);
- the **platform's** part is a platform expense (`refund_losses`).

What a bearer covered in a recipient's place is recorded as that recipient's
`shortfall_by_account`, so a later refund of the line knows the recipient's share was given back.
One entry per claim refund and line (`refund:{refund}:line:{line}`), posted when Stripe reports the
refund succeeded (`attribute_refund`), inside its transaction; the claim's shipment, held from
settling while the refund was on its way, is released in the same transaction.
"""
from sqlalchemy import select

from marketplace.catalog.models import Seller
from marketplace.errors import DomainError
from marketplace.extensions import db
from marketplace.ledger.models import Account
from marketplace.ledger.rules.names import CLAIM
from marketplace.ledger.services import account_id, entry_for_key, owed_to_fen, post_entry
from marketplace.money import split_largest_remainder
from marketplace.people.models import Household

# The order in which bearers take their part: the seller last, so any fen a largest-remainder split
# leaves over lands on the recipients' own accounts.
BEARER_ORDER = ("carrier", "platform", "seller")


def shares_by_bearer(shares, amount_fen, percents):
    """{bearer: {account: fen}}: `shares` ({account: fen}, summing to `amount_fen`) split across the
    bearers by their percentages (largest remainder), each bearer's parts summing to its amount."""
    amounts = split_largest_remainder(amount_fen, [(bearer, percents.get(bearer, 0))
                                                   for bearer in ("seller", "carrier", "platform")])
    remaining, parts = dict(shares), {}
    bearers = [bearer for bearer in BEARER_ORDER if amounts[bearer]]
    for index, bearer in enumerate(bearers):
        if index == len(bearers) - 1:
            parts[bearer] = dict(remaining)
            break
        weights = [(account, max(fen, 0)) for account, fen in sorted(remaining.items())]
        parts[bearer] = split_largest_remainder(amounts[bearer], weights)
        remaining = {account: remaining[account] - parts[bearer][account] for account in remaining}
    return parts


def reverse_claim_line(refund, claim, line, amount_fen, reversed_before, shortfalls_before):
    """Post the claim rule for `amount_fen` of `line` refunded by `refund`; joins the caller's transaction.

    `reversed_before` / `shortfalls_before`: per account, what earlier refunds and claims of the
    line took back from it or had a bearer give back for it."""
    original = entry_for_key(f"attr:line:{line.id}")
    pending = account_id("sales_pending")
    credits = sorted((p.account_id, -p.amount_fen) for p in original.postings if p.account_id != pending)
    done = dict(reversed_before)
    for account, fen in shortfalls_before.items():
        done[account] = done.get(account, 0) + fen
    refunded_before = sum(done.values())
    if refunded_before + amount_fen > line.line_total_fen:
        raise DomainError("The refund would refund %(item)s beyond its total.", item=line.title_zh)
    target = split_largest_remainder(refunded_before + amount_fen, credits)
    shares = {account: target[account] - done.get(account, 0) for account, _fen in credits}
    percents = dict(claim.shares())
    parts = shares_by_bearer(shares, amount_fen, percents)
    kinds = {row.id: row for row in db.session.execute(
        select(Account.id, Account.kind, Account.owner_type, Account.owner_id).where(Account.id.in_(list(shares))))}
    seller = db.session.get(Seller, line.seller_id)
    legs, covered, capped, protected = [], {}, {}, []

    def cover(account, fen, bearer_account):
        legs.append((bearer_account, fen))
        covered[account] = covered.get(account, 0) + fen

    for account, fen in sorted(parts.get("seller", {}).items()):
        row = kinds[account]
        if (row.kind == "household_payable" and line.seller_kind == "cooperative"
                and db.session.get(Household, row.owner_id).is_verified_poor):
            # A poor household's profit return: it did not sell the goods, its cooperative did.
            protected.append(row.owner_id)
            cover(account, fen, account_id("claims_receivable", "cooperative", seller.cooperative_id))
        elif row.kind in ("household_payable", "supplier_payable") and fen > 0:
            # The at-fault seller itself: never below zero.
            can_give = min(fen, max(owed_to_fen(account), 0))
            legs.append((account, can_give))
            if fen > can_give:
                capped[account] = fen - can_give
                cover(account, fen - can_give, account_id("claims_receivable", "supplier", seller.supplier_id)
                      if row.kind == "supplier_payable" else account_id("refund_losses"))
        else:
            legs.append((account, fen))
    for account, fen in sorted(parts.get("carrier", {}).items()):
        cover(account, fen, account_id("claims_receivable"))
    for account, fen in sorted(parts.get("platform", {}).items()):
        cover(account, fen, account_id("refund_losses"))
    settings = {"claim_id": claim.id, "reverses_rule": original.rule, "reverses_entry_id": original.id,
                "amount_fen": amount_fen, "line_refunded_fen": refunded_before + amount_fen,
                "line_total_fen": line.line_total_fen, "percent_by_bearer": percents,
                "protected_household_ids": sorted(set(protected))}
    if covered:
        settings["shortfall_by_account"] = {str(account): fen for account, fen in sorted(covered.items()) if fen}
    if capped:
        settings["capped_by_account"] = {str(account): fen for account, fen in sorted(capped.items())}
    return post_entry(
        f"refund:{refund.id}:line:{line.id}", CLAIM, legs + [(pending, -amount_fen)], rule_settings=settings,
        memo=f"after-sales claim {claim.id}, refund {refund.id}: {line.title_zh}", order_id=line.order_id,
        order_line_id=line.id, refund_id=refund.id)


def release_claim_hold(claim):
    """The claim's refund is posted (or failed): its shipment may settle once no other claim on it is open."""
    from marketplace.aftersales.services import release_hold_if_clear  # the claims package builds on the ledger
    release_hold_if_clear(claim.shipment_id)

