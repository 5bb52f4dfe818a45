"""Subscription boxes: a buyer's standing order of a variant, renewed by a beat task."""
