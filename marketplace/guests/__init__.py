"""Guests: buyers without an account, known by a mainland mobile number proven with a one-time code."""
