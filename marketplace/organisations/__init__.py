"""Institutional buying (消费帮扶): organisations, their approved orders, company transfers and quota reports."""
