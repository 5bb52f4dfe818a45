"""Paid orders of the scale district with their payments and the ledger the attribution rules post.

The same entries, keys and rule names as `marketplace.ledger.rules.sales.attribute_payment`:
`pay:{payment}` (rule 1), `attr:line:{line}` per line (rule 2 direct, rule 4 cooperative sale with
its profit return over the FIFO lot allocations, or a supplier sale), `attr:order:{order}:shipping`
and `:donation` (rule 6), `fee:{payment}` (rule 7, borne by the platform); and `lot:{lot}:floor`
per supply lot (rule 3). Integer fen only, rounded as the rules round.
"""
import json
from decimal import ROUND_HALF_UP, Decimal

from marketplace.demo import scale
from marketplace.ledger.rules import names
from marketplace.money import split_largest_remainder

CHUNK = 50_000
PLATFORM_RATE_PERCENT = 5
GLOBAL_ACCOUNTS = ["stripe_receivable", "sales_pending", "platform_fees", "payment_fees", "shipping", "bank",
                   "payouts_in_transit"]


class Accounts:
    """Account ids assigned up front: the globals, then one per owner where §3 says so."""

    def __init__(self, sizes, suppliers):
        self.rows = [(i, kind, "", 0) for i, kind in enumerate(GLOBAL_ACCOUNTS, 1)]
        self.glob = {kind: i for i, kind in enumerate(GLOBAL_ACCOUNTS, 1)}
        self.love_fund = self._owned("love_fund", "town", sizes.towns)
        self.household = self._owned("household_payable", "household", sizes.households)
        self.revenue = self._owned("cooperative_revenue", "cooperative", sizes.cooperatives)
        self.inventory = self._owned("cooperative_inventory", "cooperative", sizes.cooperatives)
        self.supplier = self._owned("supplier_payable", "supplier", suppliers)

    def _owned(self, kind, owner_type, count):
        base = len(self.rows)
        self.rows.extend((base + i, kind, owner_type, i) for i in range(1, count + 1))
        return base  # account id of owner i is base + i


class LedgerWriter:
    def __init__(self, copier, sizes, district):
        self.copier, self.sizes, self.district = copier, sizes, district
        self.accounts = Accounts(sizes, max(1, sizes.cooperatives // 50))
        self.entry_id = 0
        self.posting_id = 0
        self.line_id = 0
        self.shipment_id = 0
        self.allocation_id = 0
        uplink = [p for p in district.products if p[1] != "supplier"]
        self.uplink = uplink or district.products
        self.downlink = [p for p in district.products if p[1] == "supplier"] or self.uplink

    def write(self):
        self.copier.copy("ledger_accounts", ["id", "kind", "owner_type", "owner_id"], self.accounts.rows)
        for start in range(1, self.sizes.orders + 1, CHUNK):
            self._chunk(start, min(self.sizes.orders, start + CHUNK - 1))
        self._lots()

    def _entry(self, entries, postings, key, rule, settings, legs, when, order_id=None, line_id=None, lot_id=None):
        self.entry_id += 1
        entries.append((self.entry_id, key, rule, settings, "", order_id, line_id, lot_id, when))
        for account, amount in legs:
            if amount:
                self.posting_id += 1
                postings.append((self.posting_id, self.entry_id, account, amount))

    def _chunk(self, first, last):
        orders, payments, events, lines, allocations, entries, postings = [], [], [], [], [], [], []
        shipments = []
        glob = self.accounts.glob
        for o in range(first, last + 1):
            when = scale.days_ago(o, self.sizes.orders)
            downlink = o % 10 == 9
            pool = self.downlink if downlink else self.uplink
            subtotal = 0
            line_legs = []
            sellers = set()
            for k in range(1 + (o % 3 == 0) + (o % 7 == 0)):
                product_id, kind, owner, floor = pool[(o * 7919 + k * 104729) % len(pool)]
                variant = 2 * product_id - 1 + (o + k) % 2
                price, lot_units = self.district.variant_prices[variant]
                quantity = 1 + (o * (k + 1)) % 3
                total = price * quantity
                subtotal += total
                self.line_id += 1
                sellers.add(self._seller_id(kind, owner))
                lines.append((self.line_id, o, variant, product_id, self._seller_id(kind, owner), kind,
                              f"规模商品{product_id}", f"Scale product {product_id}", "jin", lot_units, price, quantity,
                              total, 0, 0))
                rule, legs, settings = self._line_legs(product_id, kind, owner, floor, price, lot_units, quantity,
                                                       total, allocations)
                line_legs.append((self.line_id, rule, legs, settings))
            shipping = 0 if downlink or subtotal >= 9900 else 1000
            donation = (100 - subtotal % 100) % 100 if o % 10 == 3 else 0
            amount = subtotal + shipping + donation
            fee = (amount * 34 + 500) // 1000
            town = 1 + o % self.sizes.towns
            village = 1 + o % self.sizes.villages
            status = "completed" if o < self.sizes.orders * 0.9 else "paid"
            paid_at = when + scale.timedelta(minutes=2)
            orders.append((o, f"SC{o:09d}", 1 + o % self.sizes.buyers, "downlink" if downlink else "uplink", status,
                           "stripe", "pickup" if downlink else "address", f"收货人{o % 1000}", "13800000000",
                           "" if downlink else "山东省淄博市张店区某路1号", village if downlink else None,
                           1 + o % self.sizes.households if downlink else None, town if donation else None,
                           subtotal, shipping, donation, amount, 0, "cny", when, paid_at,
                           paid_at + scale.timedelta(days=10) if status == "completed" else None))
            payments.append((o, o, f"pi_scale_{o}", amount, "cny", "succeeded", f"ch_scale_{o}", f"txn_scale_{o}", fee,
                             "cny", amount, when, paid_at))
            events.append((o, o, status, "", paid_at))
            # One shipment per seller: a completed order's settled a week after it was delivered.
            settled = status == "completed"
            for seller in sorted(sellers):  # (a scan of the chunk's lines per order made seeding quadratic)
                self.shipment_id += 1
                shipments.append((self.shipment_id, o, seller, "settled" if settled else "open", "", "",
                                  paid_at + scale.timedelta(days=2) if settled else None,
                                  paid_at + scale.timedelta(days=3) if settled else None,
                                  "carrier" if settled else None, paid_at + scale.timedelta(days=10) if settled else None))
            self._post_payment(entries, postings, o, amount, fee, shipping, donation, town, paid_at, line_legs)
        copy = self.copier.copy
        copy("orders", ORDER_COLUMNS, orders)
        copy("payments", ["id", "order_id", "stripe_payment_intent_id", "amount_fen", "currency", "status",
                          "stripe_charge_id", "balance_transaction_id", "fee_fen", "settlement_currency",
                          "settlement_amount", "created_at", "succeeded_at"], payments)
        copy("order_events", ["id", "order_id", "status", "note", "at"], events)
        copy("shipments", ["id", "order_id", "seller_id", "status", "carrier", "tracking_no", "shipped_at", "delivered_at", "delivery_confirmed_by",
                           "settled_at"], shipments)
        copy("order_lines", ["id", "order_id", "variant_id", "product_id", "seller_id", "seller_kind", "title_zh",
                             "title_en", "unit", "lot_units", "unit_price_fen", "quantity", "line_total_fen",
                             "refunded_quantity", "refunded_fen"], lines)
        copy("lot_allocations", ["id", "order_line_id", "lot_id", "household_id", "lot_units", "floor_price_fen",
                                 "returned_units"], allocations)
        copy("journal_entries", ENTRY_COLUMNS, entries)
        copy("postings", ["id", "entry_id", "account_id", "amount_fen"], postings)

    def _post_payment(self, entries, postings, o, amount, fee, shipping, donation, town, paid_at, line_legs):
        """The entries `attribute_payment` posts for order o (its payment has the same id)."""
        glob = self.accounts.glob
        self._entry(entries, postings, f"pay:{o}", names.PAYMENT_RECEIVED,
                    json.dumps({"amount_fen": amount, "payment_intent": f"pi_scale_{o}"}),
                    [(glob["stripe_receivable"], amount), (glob["sales_pending"], -amount)], paid_at, order_id=o)
        for line_id, rule, legs, settings in line_legs:
            self._entry(entries, postings, f"attr:line:{line_id}", rule, settings, legs, paid_at,
                        order_id=o, line_id=line_id)
        if shipping:
            self._entry(entries, postings, f"attr:order:{o}:shipping", names.SHIPPING, json.dumps({"shipping_fen": shipping}),
                        [(glob["sales_pending"], shipping), (glob["shipping"], -shipping)], paid_at, order_id=o)
        if donation:
            self._entry(entries, postings, f"attr:order:{o}:donation", names.LOVE_FUND_DONATION,
                        json.dumps({"town_id": town, "donation_fen": donation}),
                        [(glob["sales_pending"], donation), (self.accounts.love_fund + town, -donation)],
                        paid_at, order_id=o)
        if fee:
            self._entry(entries, postings, f"fee:{o}", names.PAYMENT_FEE,
                        json.dumps({"fee_fen": fee, "balance_transaction": f"txn_scale_{o}", "borne_by": "platform"}),
                        [(glob["payment_fees"], fee), (glob["stripe_receivable"], -fee)], paid_at, order_id=o)

    def _seller_id(self, kind, owner):
        if kind == "cooperative":
            return owner
        if kind == "household":
            direct = max(1, min(self.sizes.households, self.sizes.products // 10))
            return self.sizes.cooperatives + owner // max(1, self.sizes.households // direct)
        direct = max(1, min(self.sizes.households, self.sizes.products // 10))
        return self.sizes.cooperatives + direct + owner

    def _line_legs(self, product_id, kind, owner, floor, price, lot_units, quantity, total, allocations):
        """The rule, legs (account, signed fen) and settings JSON of one line's attribution."""
        glob = self.accounts.glob
        if kind == "household":
            poor = self.district.household_poor[owner]
            fee = 0 if poor else (total * PLATFORM_RATE_PERCENT + 50) // 100
            return (names.DIRECT_SALE,
                    [(glob["sales_pending"], total), (self.accounts.household + owner, fee - total),
                     (glob["platform_fees"], -fee)],
                    json.dumps({"household_id": owner, "verified_poor": poor, "commission_rate": "0" if poor else "0.05",
                                "platform_commission_rate": "0.05", "commission_fen": fee}))
        if kind == "supplier":  # every scale supplier agreed PLATFORM_RATE_PERCENT (scale.SUPPLIER_COMMISSION_RATE)
            fee = (total * PLATFORM_RATE_PERCENT + 50) // 100
            return (names.SUPPLIER_SALE,
                    [(glob["sales_pending"], total), (self.accounts.supplier + owner, fee - total),
                     (glob["platform_fees"], -fee)],
                    json.dumps({"supplier_id": owner, "commission_rate": "0.05", "platform_commission_rate": "0.05",
                                "commission_fen": fee}))
        rate = self.district.coop_rates[owner]
        allocations_of_line = []
        for lot_id, household, taken in self._fifo(product_id, quantity * lot_units):
            self.allocation_id += 1
            allocations.append((self.allocation_id, self.line_id, lot_id, household, taken, floor, 0))
            allocations_of_line.append((self.allocation_id, household, taken))
        # As attribute_cooperative_line: r × u × max(0, price per lot unit − floor), the total rounded
        # half up and split over the allocations by largest remainder.
        per_unit = Decimal(price) / Decimal(lot_units)
        exact = [(allocation, rate * taken * max(Decimal(0), per_unit - floor))
                 for allocation, _household, taken in allocations_of_line]
        total_return = int(sum((share for _, share in exact), Decimal(0)).quantize(Decimal(1), rounding=ROUND_HALF_UP))
        returns = split_largest_remainder(total_return, exact) if exact else {}
        by_household = {}
        for allocation, household, _taken in allocations_of_line:
            by_household[household] = by_household.get(household, 0) + returns[allocation]
        legs = [(glob["sales_pending"], total), (self.accounts.revenue + owner, total_return - total)]
        legs += [(self.accounts.household + household, -fen) for household, fen in sorted(by_household.items())]
        return (names.COOPERATIVE_SALE, legs,
                json.dumps({"cooperative_id": owner, "sharing_rule_id": owner, "profit_return_rate": str(rate),
                            "profit_return_fen": total_return}))

    def _fifo(self, product_id, units):
        """Take `units` from the product's lots oldest first; the last lot grows if they run out."""
        lots = self.district.lots[product_id]
        taken = []
        for index, lot in enumerate(lots):
            lot_id, household, quantity, used = lot
            room = quantity - used if index < len(lots) - 1 else units
            take = min(room, units)
            if take > 0:
                lot[3] += take
                taken.append((lot_id, household, take))
                units -= take
            if units == 0:
                break
        return taken

    def _lots(self):
        """Supply lots (quantity grown to what was sold where needed) and their floor purchases."""
        lots, entries, postings = [], [], []
        for product_id, kind, owner, floor in self.district.products:
            if kind != "cooperative":
                continue
            for index, (lot_id, household, quantity, used) in enumerate(self.district.lots[product_id]):
                quantity = max(quantity, used)
                received = scale.START - scale.timedelta(days=60 - index)
                lots.append((lot_id, product_id, owner, household, quantity, quantity - used, floor, received.date(),
                             "一级", f"scale-lot:{lot_id}", received, received))
                amount = quantity * floor
                self._entry(entries, postings, f"lot:{lot_id}:floor", names.FLOOR_PURCHASE,
                            json.dumps({"floor_price_fen": floor, "quantity": quantity}),
                            [(self.accounts.inventory + owner, amount), (self.accounts.household + household, -amount)],
                            received, lot_id=lot_id)
        self.copier.copy("supply_lots", ["id", "product_id", "cooperative_id", "household_id", "quantity",
                                         "quantity_remaining", "floor_price_fen", "received_on", "grade",
                                         "idempotency_token", "created_at", "confirmed_at"], lots)
        self.copier.copy("journal_entries", ENTRY_COLUMNS, entries)
        self.copier.copy("postings", ["id", "entry_id", "account_id", "amount_fen"], postings)


ORDER_COLUMNS = ["id", "public_no", "buyer_id", "direction", "status", "payment_method", "delivery_kind",
                 "recipient_name", "recipient_phone", "address", "service_point_id", "household_id", "donation_town_id",
                 "subtotal_fen", "shipping_fen", "donation_fen", "total_fen", "refunded_fen", "currency", "created_at",
                 "paid_at", "settled_at"]
ENTRY_COLUMNS = ["id", "idempotency_key", "rule", "rule_settings", "memo", "order_id", "order_line_id", "lot_id",
                 "created_at"]
