"""Household balances, statements and "why was I paid this" for town staff."""
