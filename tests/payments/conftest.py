from tests.storefront.conftest import district, shopper  # noqa: F401  (the storefront's buyer and demo district)
