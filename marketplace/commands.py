"""Flask CLI commands: `flask --app wsgi <command>`."""
import click
from flask.cli import AppGroup, with_appcontext

catalog_cli = AppGroup("catalog", help="Look after the catalogue's search index.")


@catalog_cli.command("reindex")
def reindex_command():
    """Rewrite every product's search terms (after marketplace/catalog/synonyms.py changed)."""
    from marketplace.catalog.search import reindex_all

    click.echo(f"{reindex_all()} products reindexed")


def register(app):
    from marketplace.ledger.cli import ledger_cli
    from marketplace.payments.local_stripe import local_stripe_command
    from marketplace.reconciliation.cli import reconcile_cli

    app.cli.add_command(seed_demo_command)
    app.cli.add_command(local_stripe_command)
    app.cli.add_command(translations_command)
    app.cli.add_command(seed_scale_command)
    app.cli.add_command(ledger_cli)
    app.cli.add_command(rotate_field_keys_command)
    app.cli.add_command(reconcile_cli)
    app.cli.add_command(catalog_cli)


@click.command("seed-demo")
@with_appcontext
def seed_demo_command():
    """Build the Zichuan demo district (safe to run again)."""
    from marketplace.demo.orders import seed_demo_orders
    from marketplace.demo.seed import DEMO_PASSWORD, USERS, counts, seed_demo

    seed_demo()
    seed_demo_orders()  # orders at every step of settlement, and a payout of settled income
    for name, count in counts().items():
        click.echo(f"{name:>14}: {count}")
    click.echo(f"Demo logins (password {DEMO_PASSWORD}): " + ", ".join(f"{email} ({role})" for email, _, role, _ in USERS))


@click.command("translations")
def translations_command():
    """Compile every catalog and list the messages still without a Chinese translation."""
    from marketplace.i18n import compile_catalogs, untranslated

    compile_catalogs()
    missing = untranslated()
    for message in missing:
        click.echo(f"untranslated: {message}")
    click.echo(f"{len(missing)} untranslated")


@click.command("rotate-field-keys")
@with_appcontext
def rotate_field_keys_command():
    """Re-encrypt every registry and bank number (and pending upload) with the newest key."""
    from marketplace.audit.services import record
    from marketplace.crypto import rotate_stored_values
    from marketplace.extensions import db

    counts = rotate_stored_values()
    record("crypto.keys_rotated", counts=counts)
    db.session.commit()
    for column, count in counts.items():
        click.echo(f"{column}: {count} re-encrypted")
@click.command("seed-scale")
@click.option("--households", default=100_000, show_default=True)
@click.option("--cooperatives", default=5_000, show_default=True)
@click.option("--products", default=50_000, show_default=True, help="each with two variants; coop products get two lots")
@click.option("--orders", default=1_000_000, show_default=True, help="paid orders, with payments and their ledger")
@click.option("--reset", is_flag=True, help="empty every table first")
@with_appcontext
def seed_scale_command(households, cooperatives, products, orders, reset):
    """Build a district of any size with COPY (PostgreSQL), then check its ledger."""
    import time

    from marketplace.demo.scale import Sizes, check_scale_ledger, reset_database, seed_scale

    started = time.perf_counter()
    if reset:
        reset_database()
    counts, steps = seed_scale(Sizes(households, cooperatives, products, orders), echo=click.echo)
    for name, seconds in steps.items():
        click.echo(f"  {name:<28} {seconds:7.1f} s")
    for table, count in sorted(counts.items()):
        click.echo(f"  {table:<28} {count:>10,}")
    problems = check_scale_ledger()
    click.echo(f"seeded in {time.perf_counter() - started:.1f} s; ledger " + ("; ".join(problems) or "balanced"))
    if problems:
        raise SystemExit(1)
