"""Downlink beat tasks: consolidate delivery runs and flag goods left unpicked."""
from celery import shared_task

from marketplace.downlink import pickup, runs


@shared_task(name="downlink.consolidate_runs")
def consolidate_runs():
    """Beat: one planned run per service point and supplier for the orders ready to go. Safe to run twice."""
    return len(runs.consolidate())


@shared_task(name="downlink.flag_unpicked")
def flag_unpicked():
    """Beat: flag goods still at a service point DOWNLINK_UNPICKED_DAYS after they arrived."""
    return pickup.flag_unpicked()
