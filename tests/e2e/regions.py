"""Filling checkout's region address in a browser: the three GB/T 2260 selects and the detail line."""


def pick_region(page, province="上海市", city="市辖区", district="徐汇区", detail="漕溪北路 1 号"):
    """Choose each level; static/js/storefront.js fills the next select (select_option waits for it)."""
    page.select_option("select[name=province]", label=province)
    page.select_option("select[name=city]", label=city)
    page.select_option("select[name=district]", label=district)
    page.fill("input[name=address_detail]", detail)
