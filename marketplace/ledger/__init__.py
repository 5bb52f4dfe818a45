"""The double-entry ledger and the attribution rules that trace every fen to its household.

The reports are re-exported lazily (`from marketplace.ledger import impact_receipt`), so that
importing the ledger's models never drags in the rest of the domain.
"""
_REPORTS = ("ImpactReceipt", "ReceiptRow", "HouseholdStatement", "StatementLine", "TownImpact",
            "impact_receipt", "household_statement", "town_impact")


def __getattr__(name):
    if name in _REPORTS:
        from marketplace.ledger import reports

        return getattr(reports, name)
    raise AttributeError(f"module 'marketplace.ledger' has no attribute {name!r}")
