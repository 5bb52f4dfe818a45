"""Reading the catalogue for buyers."""


def lowest_price_fen(product):
    prices = [variant.price_fen for variant in product.variants if variant.is_active]
    return min(prices) if prices else None


