"""The household statement on a phone and as the PDF the household head signs: each entry a Chinese
sentence naming the product and the day the household delivered (screenshots in test-artifacts/)."""
import re
import shutil
import subprocess
from pathlib import Path

import pytest
from playwright.sync_api import expect
from sqlalchemy import select

from marketplace.catalog.models import SupplyLot
from marketplace.catalog.units import unit_name
from marketplace.demo.orders import seed_demo_orders
from marketplace.extensions import db
from marketplace.ledger.models import JournalEntry
from marketplace.ledger.rules.names import COOPERATIVE_SALE
from marketplace.local_time import local_today
from marketplace.people.models import User
from marketplace.places.models import Village

pytestmark = pytest.mark.browser
ARTIFACTS = Path(__file__).resolve().parent.parent.parent / "test-artifacts"


def a_household_with_a_profit_return(town_id):
    """(household, its first lot) of the town: one whose delivered goods sold, so it has both kinds of lines."""
    for entry in db.session.scalars(select(JournalEntry).where(JournalEntry.rule == COOPERATIVE_SALE)):
        for allocation in entry.rule_settings.get("allocations", []):
            lot = db.session.get(SupplyLot, allocation["lot_id"])
            if allocation["return_fen"] and db.session.get(Village, lot.household.village_id).town_id == town_id:
                return lot.household, lot
    raise AssertionError("the demo has no profit return in this town")


def sentences_of(lot):
    product, unit = lot.product.title_zh, unit_name(lot.product.lot_unit)
    floor_purchase = (f"{lot.received_on.month}月{lot.received_on.day}日交售{product} {lot.quantity} {unit}，"
                      f"按保底价每{unit} {lot.floor_price_fen / 100:,.2f} 元收购：")
    return floor_purchase, f"您交售的{product}"


def no_space(text):
    return re.sub(r"\s+", "", text)


def test_the_statement_page_and_pdf_explain_each_entry_in_chinese(demo, live_server, phone):
    seed_demo_orders()
    town_id = db.session.scalar(select(User.town_id).where(User.email == "town@demo.cn"))
    household, lot = a_household_with_a_profit_return(town_id)
    floor_purchase, profit_return = sentences_of(lot)
    period = f"start={local_today().year}-01-01&end={local_today().isoformat()}"
    db.session.remove()

    phone.set_viewport_size({"width": 360, "height": 780})
    phone.goto(live_server + "/login")
    phone.fill("input[name=email]", "town@demo.cn")
    phone.fill("input[name=password]", "demo1234")
    phone.click("main button[type=submit]")
    phone.goto(f"{live_server}/town/households/{household.id}?{period}")
    entries = phone.locator(".statement-entries")
    expect(entries).to_contain_text(floor_purchase)
    expect(entries).to_contain_text(profit_return)
    expect(entries).to_contain_text("合作社按")
    for developer_words in ("lot ", " fen", "rule", "0.3000", "sharing"):
        expect(entries).not_to_contain_text(developer_words)
    ARTIFACTS.mkdir(exist_ok=True)
    entries.scroll_into_view_if_needed()
    phone.screenshot(path=str(ARTIFACTS / "household-statement-page.png"), full_page=True)

    response = phone.request.get(f"{live_server}/town/households/{household.id}/statement.pdf?{period}")
    assert response.ok and response.headers["content-type"] == "application/pdf"
    pdf = ARTIFACTS / "household-statement.pdf"
    pdf.write_bytes(response.body())
    if shutil.which("pdftotext") is None:
        pytest.fail("poppler's pdftotext is needed to read the statement PDF")
    text = subprocess.run(["pdftotext", "-layout", str(pdf), "-"], capture_output=True, text=True, check=True).stdout
    assert no_space(floor_purchase) in no_space(text)
    assert no_space(profit_return) in no_space(text) and "合作社按" in no_space(text)
    assert "lot" not in text and "fen" not in text
    subprocess.run(["pdftoppm", "-png", "-r", "90", "-f", "1", "-l", "1", str(pdf),
                    str(ARTIFACTS / "household-statement-pdf")], check=True)
    assert (ARTIFACTS / "household-statement-pdf-1.png").exists()
