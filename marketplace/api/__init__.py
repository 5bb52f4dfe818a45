"""The public API's own records: per-user API tokens and the responses kept for Idempotency-Key."""
