"""The demo city buyer's address (小林 in 淄博市张店区), picked by region (GB/T 2260) as the
buyer's own forms pick it: kept as the buyer's default saved address, and the address the demo's
pre-orders and subscription box deliver to. (The demo's ordinary orders keep the free-text
address they were placed with before addresses were picked by region.)"""
from marketplace.orders.addresses import RegionPicks

RECIPIENT_NAME = "城市买家 小林"
RECIPIENT_PHONE = "13800000000"
# 山东省 · 淄博市 · 张店区, and the street, building and room.
PROVINCE, CITY, DISTRICT = "370000", "370300", "370303"
DETAIL = "华光路 188 号 3 号楼 501"


def buyer_region():
    """The address as the pre-order and subscription forms send it: three picks and the detail
    line, for the service to check (`RegionPicks.checked`)."""
    return RegionPicks(PROVINCE, CITY, DISTRICT, DETAIL)
