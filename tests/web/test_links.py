"""Templates build links through marketplace.web.links.template_url_for, remembered per process."""
from flask import url_for

from marketplace.web.links import template_url_for


def test_remembered_links_are_flasks_links(app):
    cases = [("storefront.index", {}), ("storefront.product", {"slug": "jiao-snow-pears"}),
             ("storefront.browse_products", {"category": 3, "sort": "price_asc"}),
             ("storefront.browse_products", {"label": ["organic", "selenium"]}),  # a list: not remembered
             ("storefront.product", {"slug": "梨", "_external": True}),
             ("static", {"filename": "css/app.css"})]
    with app.test_request_context("/"):
        for endpoint, values in cases:
            for _ in range(2):  # built, then remembered
                assert template_url_for(endpoint, **values) == url_for(endpoint, **values)


def test_a_link_follows_where_the_app_is_mounted(app):
    with app.test_request_context("/", environ_overrides={"SCRIPT_NAME": "/shop"}):
        assert template_url_for("storefront.product", slug="pears") == "/shop/products/pears"
    with app.test_request_context("/"):
        assert template_url_for("storefront.product", slug="pears") == "/products/pears"
