"""The towns' public figures are kept as the chain grows: equal to the postings summed anew, each entry counted once."""
from marketplace.extensions import db
from marketplace.ledger.attribution import attribute_payment, attribute_refund
from marketplace.ledger.chain import seal_pending
from marketplace.ledger.figures import fold_sealed_entries, rebuild_town_figures, town_figures, verify_town_figures


def publish():
    seal_pending()
    return fold_sealed_entries()


def test_kept_figures_equal_the_ledger_and_count_each_entry_once(district):
    grower, seller, other = district.household(), district.household(), district.household()
    coop = district.cooperative(members=[(grower, 1), (other, 1)])
    grains = district.variant(coop, price_fen=800, floor_price_fen=500)
    district.lot(grains, grower, 10)
    eggs = district.variant(seller, price_fen=1_000)
    order, payment = district.paid_order([(eggs, 3), (grains, 2)], donation_fen=50)
    attribute_payment(payment.id)
    db.session.commit()

    assert town_figures(district.town.id).households_reached == 0  # nothing sealed yet: nothing folded
    assert publish() > 0
    assert publish() == 0  # run again: nothing new, nothing counted twice
    kept = town_figures(district.town.id)
    assert kept.households_reached == 2
    assert kept.by_mechanism["floor_purchase"] == 5_000 and kept.by_mechanism["direct_sale"] == 3_000
    assert kept.households_by_mechanism["profit_return"] == 1 and kept.love_fund_received_fen == 50
    assert verify_town_figures() == []

    # A refund posted later reverses income on the next fold; a household new to a mechanism counts once.
    eggs_line = next(line for line in order.lines if line.variant_id == eggs.id)
    attribute_refund(district.refund(order, {eggs_line: 1}, extra_fen=50).id)
    district.lot(grains, other, 4)
    db.session.commit()
    publish()
    kept = town_figures(district.town.id)
    assert kept.by_mechanism["direct_sale"] == 2_000 and kept.love_fund_received_fen == 0
    assert kept.households_reached == 3 and kept.households_by_mechanism["floor_purchase"] == 2
    assert verify_town_figures() == []

    rebuilt = rebuild_town_figures()
    assert rebuilt > 0 and town_figures(district.town.id) == kept


def test_a_small_fold_batch_gives_the_same_figures(district):
    grower = district.household()
    coop = district.cooperative(members=[(grower, 1)])
    grains = district.variant(coop, price_fen=800, floor_price_fen=500)
    for quantity in range(1, 8):
        district.lot(grains, grower, quantity)
    db.session.commit()
    seal_pending()
    assert fold_sealed_entries(batch=2) == 7
    assert town_figures(district.town.id).by_mechanism["floor_purchase"] == 500 * sum(range(1, 8))
    assert verify_town_figures() == []
