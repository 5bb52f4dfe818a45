"""Harvest pre-sales (预售): buyers commit before the harvest with a deposit held for them."""
