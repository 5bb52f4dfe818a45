"""Public catalogue operations: search, filters, cursors, product provenance, town impact."""
from marketplace.web.api.problems import PROBLEM_MEDIA_TYPE


def test_products_page_through_with_cursors_and_every_product_appears_once(api):
    seen, cursor = [], None
    for _ in range(20):
        response = api.get("/products", query_string={"cursor": cursor} if cursor else {"limit": 3})
        assert response.status_code == 200
        body = response.get_json()
        seen += [item["slug"] for item in body["items"]]
        cursor = body["next_cursor"]
        if cursor is None:
            break
    assert len(seen) == body["total"] > 3
    assert len(set(seen)) == len(seen)


def test_search_and_filters_narrow_the_catalogue(api):
    everything = api.get("/products").get_json()["total"]
    pears = api.get("/products", query_string={"q": "雪梨"}).get_json()
    assert 0 < pears["total"] < everything
    assert all("雪梨" in item["title_zh"] or item["origin_village"] for item in pears["items"])
    selenium = api.get("/products", query_string={"label": "selenium"}).get_json()
    assert selenium["items"] and all("selenium" in item["labels"] for item in selenium["items"])
    cheap = api.get("/products", query_string={"max_price_fen": 3000, "sort": "price_asc"}).get_json()["items"]
    prices = [item["lowest_price_fen"] for item in cheap]
    assert prices == sorted(prices) and all(price <= 3000 for price in prices)


def test_bad_filters_are_a_problem_naming_the_field(api):
    response = api.get("/products", query_string={"min_price_fen": "cheap"})
    assert response.status_code == 422
    assert response.mimetype == PROBLEM_MEDIA_TYPE
    problem = response.get_json()
    assert problem["field"] == "min_price_fen" and problem["code"] == "invalid" and problem["status"] == 422
    assert api.get("/products", query_string={"cursor": "not-ours"}).get_json()["code"] == "bad_cursor"


def test_product_detail_shows_variants_and_provenance_with_consented_labels_only(api):
    _variant_id, slug = api.first_variant()
    body = api.get(f"/products/{slug}").get_json()
    assert body["slug"] == slug and body["variants"]
    provenance = body["provenance"]
    assert provenance["village"]["name_zh"] and provenance["seller_name_zh"]
    assert len(provenance["supplier_labels_zh"]) <= provenance["supplying_households"]
    assert "registry" not in str(body) and "bank" not in str(body)


def test_an_unknown_product_is_a_404_problem_in_the_clients_language(api):
    response = api.get("/products/no-such-thing", headers={"Accept-Language": "en"})
    assert response.status_code == 404
    assert response.get_json()["detail"] == "This product is not for sale."
    chinese = api.get("/products/no-such-thing").get_json()["detail"]
    assert chinese != "This product is not for sale." and any("\u4e00" <= char <= "\u9fff" for char in chinese)
    assert api.get("/nowhere").mimetype == PROBLEM_MEDIA_TYPE


def test_town_impact_figures_are_public(api):
    from marketplace.ledger.chain import seal_pending
    from marketplace.ledger.figures import fold_sealed_entries

    seal_pending()
    fold_sealed_entries()  # the sealing task's work: the figures are kept, not summed per request
    towns = api.get("/towns").get_json()["items"]
    assert towns
    impact = api.get(f"/towns/{towns[0]['slug']}/impact").get_json()
    assert impact["town"]["slug"] == towns[0]["slug"]
    assert impact["income_fen"] == sum(impact["by_mechanism_fen"].values()) > 0
    assert api.get("/towns/atlantis/impact").status_code == 404
