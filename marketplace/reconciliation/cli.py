"""`flask --app wsgi reconcile import FILE` and `flask --app wsgi reconcile pull`."""
import time

import click
from flask.cli import AppGroup

reconcile_cli = AppGroup("reconcile", help="Match Stripe's records to the ledger.")


@reconcile_cli.command("import")
@click.argument("export", type=click.File("r", encoding="utf-8", lazy=False))
def import_command(export):
    """Match a Stripe export of balance transactions and payouts (JSON lines or a JSON list; - for stdin)."""
    from marketplace.errors import DomainError
    from marketplace.reconciliation.services import import_export, summary

    started = time.perf_counter()
    try:
        read, new = import_export(export)
    except DomainError as error:
        raise click.ClickException(error.message) from error
    click.echo(f"{read:,} records read, {new:,} new, matched in {time.perf_counter() - started:.1f} s")
    _echo_summary(summary())


@reconcile_cli.command("pull")
def pull_command():
    """Pull what Stripe recorded since the last pull and match it."""
    from marketplace.reconciliation.services import summary, sync_with_stripe

    click.echo(f"{sync_with_stripe():,} new records")
    _echo_summary(summary())


def _echo_summary(found):
    for row in found["totals"]:
        click.echo(f"matched {row['category']:>10} {row['currency']}: {row['count']:>9,}  amount {row['amount']:>15,}"
                   f"  fee {row['fee']:>12,}")
    click.echo(f"{len(found['open'])} open discrepancies")
