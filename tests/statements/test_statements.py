from datetime import date
from io import BytesIO

import pytest
from pypdf import PdfReader
from sqlalchemy import select

from marketplace.catalog.models import SupplyLot
from marketplace.catalog.units import unit_name
from marketplace.errors import NotFound
from marketplace.extensions import db
from marketplace.ledger.balances import household_balance
from marketplace.ledger.services import household_account, owed_to_fen
from marketplace.payouts import services as payouts
from marketplace.statements import services as statements
from tests.town.fixtures import release
from marketplace.people.models import Household
from marketplace.places.models import Village

YEAR = (date(2026, 1, 1), date(2026, 12, 31))


def test_statement_totals_equal_the_ledger(lingzi):
    batch = payouts.create_batch(lingzi.maker_id, "bank", 0)
    payouts.approve_batch(lingzi.checker_id, batch.id)
    payouts.mark_item_failed(lingzi.maker_id, batch.items[1].id, "wrong account")
    for household in lingzi.earning("bank") + [batch.items[0]]:
        household_id = getattr(household, "household_id", None) or household.id
        data = statements.statement_for(lingzi.town_id, household_id, *YEAR)
        statement = data["statement"]
        assert statement.closing_fen == owed_to_fen(household_account(household_id))
        assert statement.closing_fen == statement.opening_fen + sum(t.fen for t in data["entries"])
        assert statement.closing_fen == household_balance(household_id).posted_fen


def test_the_household_page_explains_each_payment_in_a_sentence(client, auth, lingzi):
    household = lingzi.earning("cash")[0]
    available = household_balance(household.id).available_fen
    lot = db.session.scalars(select(SupplyLot).where(SupplyLot.household_id == household.id)
                             .order_by(SupplyLot.id)).first()
    product, unit = lot.product.title_zh, unit_name(lot.product.lot_unit)
    floor = f"{lot.floor_price_fen / 100:,.2f} 元"
    expected = (f"{lot.received_on.month}月{lot.received_on.day}日交售{product} {lot.quantity} {unit}，"
                f"按保底价每{unit} {floor}收购：{lot.quantity * lot.floor_price_fen / 100:,.2f} 元")
    release()
    auth.login_as("town@demo.cn")
    page = client.get(f"/town/households/{household.id}?start=2026-01-01&end=2026-12-31").get_data(as_text=True)
    assert household.head_name in page
    assert f"¥{available / 100:,.2f}" in page
    assert "保底收购" in page
    assert expected in page  # the product, the day the household delivered, how many, at what floor
    for developer_word in ("lot ", "fen", "rule", "_id", "0.4000"):
        assert developer_word not in page.split("<main", 1)[1]


def test_households_are_found_by_name_or_village(client, auth, lingzi):
    household = lingzi.households()[3]
    everyone = [h.head_name for h in lingzi.households()]
    release()
    auth.login_as("town@demo.cn")
    by_name = client.get("/town/households", query_string={"q": household.head_name}).get_data(as_text=True)
    assert household.head_name in by_name
    nobody = client.get("/town/households", query_string={"q": "不存在的名字"}).get_data(as_text=True)
    assert household.head_name not in nobody
    by_village = client.get("/town/households", query_string={"q": "李里"}).get_data(as_text=True)
    assert all(name in by_village for name in everyone)


def test_the_printable_statement_is_in_chinese_with_the_closing_balance(client, auth, lingzi):
    household = lingzi.earning("bank")[0]
    closing = statements.statement_for(lingzi.town_id, household.id, *YEAR)["statement"].closing_fen
    release()
    auth.login_as("town@demo.cn")
    client.get("/lang/en")
    response = client.get(f"/town/households/{household.id}/statement.pdf?start=2026-01-01&end=2026-12-31")
    text = "".join(page.extract_text() for page in PdfReader(BytesIO(response.data)).pages)
    assert response.mimetype == "application/pdf"
    assert "收益对账单" in text and household.head_name in text and "期末余额" in text
    assert f"¥{closing / 100:,.2f}" in text


def test_another_towns_household_has_no_statement(lingzi):
    outsider = db.session.scalar(select(Household.id).join(Village).where(Village.town_id != lingzi.town_id))
    with pytest.raises(NotFound):
        statements.statement_for(lingzi.town_id, outsider, *YEAR)


def test_a_village_pdf_is_prepared_in_the_background_and_downloaded(client, auth, lingzi, celery_worker):
    village_id = lingzi.households()[0].village_id
    names = [h.head_name for h in lingzi.households()]
    release()
    auth.login_as("town@demo.cn")
    response = client.post("/town/statements", data={"village_id": village_id, "start": "2026-01-01",
                                                     "end": "2026-12-31"})
    job_url = response.location
    assert "/town/statements/jobs/" in job_url
    assert "js/town.js" in client.get(job_url).get_data(as_text=True)
    release()

    def finished():
        status = client.get(job_url + "/status").get_json()
        return status if status["status"] == "done" else None

    status = celery_worker.wait_for(finished, timeout=120)
    assert status["done"] == status["total"] == len(names)
    pdf = client.get(status["download_url"])
    assert pdf.status_code == 200
    reader = PdfReader(BytesIO(pdf.data))
    text = "".join(page.extract_text() for page in reader.pages)
    assert all(name in text for name in names)
    assert len(reader.pages) >= len(names)
