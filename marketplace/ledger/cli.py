"""`flask --app wsgi ledger verify|seal|figures|checkpoint|explain`."""
import json
import sys

import click
from flask.cli import AppGroup

from marketplace.money import format_fen

ledger_cli = AppGroup("ledger", help="Check and explain the double-entry ledger.")


def _terminal_progress(what, done):
    click.echo(f"\r  {what}: {done:,}", nl=False, err=True)


@ledger_cli.command("verify")
@click.option("--with-stripe", is_flag=True, help="Also compare the ledger with the last Stripe reconciliation pull.")
def verify_command(with_stripe):
    """Check every DESIGN §3 invariant, re-derive every entry, recompute the hash chain; exit 1 on any violation."""
    from marketplace.ledger.verify import verify_ledger

    progress = _terminal_progress if sys.stderr.isatty() else None
    report = verify_ledger(with_stripe=with_stripe, progress=progress)
    if progress:
        click.echo("", err=True)
    for name, count in report.counts.items():
        click.echo(f"{name:>32}: {count}")
    for note in report.notes:
        click.echo(f"note: {note}")
    click.echo("seconds per check: " + ", ".join(f"{name} {seconds:.1f}" for name, seconds in report.seconds.items()))
    for violation in report.violations:
        ids = ", ".join(f"{key}={value}" for key, value in violation.ids.items())
        click.echo(f"VIOLATION [{violation.invariant}] {violation.message} ({ids})")
    if report.ok:
        click.echo("ledger OK: every invariant holds")
        return
    click.echo(f"{len(report.violations)} violation(s)")
    sys.exit(1)


@ledger_cli.command("seal")
def seal_command():
    """Seal every entry waiting for the hash chain (the beat task does this every few seconds)."""
    from marketplace.ledger.chain import seal_pending

    click.echo(f"sealed {seal_pending()} entries")


@ledger_cli.command("figures")
@click.option("--rebuild", is_flag=True, help="empty the towns' figures and fold the whole chain again")
@click.option("--verify", is_flag=True, help="then compare every town's figures with its postings summed anew")
def figures_command(rebuild, verify):
    """Fold the sealed entries into the towns' public figures (the sealing task does this every few seconds)."""
    from marketplace.ledger.figures import fold_sealed_entries, rebuild_town_figures, verify_town_figures

    click.echo(f"folded {rebuild_town_figures() if rebuild else fold_sealed_entries()} links")
    if verify:
        differences = verify_town_figures()
        for town_id, what in differences:
            click.echo(f"town {town_id}: {what}")
        click.echo(f"{len(differences)} town(s) differ")
        if differences:
            sys.exit(1)


@ledger_cli.command("checkpoint")
def checkpoint_command():
    """Seal, then write a signed checkpoint of the chain's head to the audit log and print it (keep a copy)."""
    from marketplace.ledger.chain import write_checkpoint

    click.echo(json.dumps(write_checkpoint(), sort_keys=True))


@ledger_cli.command("explain")
@click.option("--household", "household_id", type=int, required=True, help="Household id")
@click.option("--lang", type=click.Choice(["zh", "en"]), default="zh", help="Language of the explanations")
def explain_command(household_id, lang):
    """Trace each fen of a household's balance to its orders, lots, rules and payouts, in plain sentences."""
    from flask_babel import force_locale

    from marketplace.errors import NotFound
    from marketplace.ledger.explain import chain_summary, explain_household

    with force_locale("en" if lang == "en" else "zh_CN"):
        try:
            balance, traces = explain_household(household_id)
        except NotFound as error:
            raise click.ClickException(error.message) from error
        for trace in traces:
            click.echo(f"#{trace.entry_id} {trace.at:%Y-%m-%d %H:%M} {format_fen(trace.fen):>14} "
                       f"balance {format_fen(trace.balance_fen):>14}  {trace.explanation}")
    click.echo(f"posted {format_fen(balance.posted_fen)}, pending {format_fen(balance.pending_fen)}, "
               f"available {format_fen(balance.available_fen)}, paid to date {format_fen(balance.paid_to_date_fen)}")
    click.echo(chain_summary())
