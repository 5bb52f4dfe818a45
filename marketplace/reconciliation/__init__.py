"""Stripe reconciliation: balance transactions and payouts matched to the ledger."""
