"""Flask CLI commands: `flask --app wsgi <command>`."""
import click
from flask.cli import with_appcontext


def register(app):
    from marketplace.ledger.cli import ledger_cli
    from marketplace.payments.local_stripe import local_stripe_command

    app.cli.add_command(seed_demo_command)
    app.cli.add_command(local_stripe_command)
    app.cli.add_command(translations_command)
    app.cli.add_command(ledger_cli)


@click.command("seed-demo")
@with_appcontext
def seed_demo_command():
    """Build the Zichuan demo district (safe to run again)."""
    from marketplace.demo.seed import DEMO_PASSWORD, USERS, seed_demo

    for name, count in seed_demo().items():
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
