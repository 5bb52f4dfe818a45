"""`flask --app wsgi local-stripe`: the development Stripe server, with our webhook registered.

It runs `localstripe` (a Stripe-compatible server from PyPI) with the refund lifecycle and late
fees it lacks added (`local_stripe_server.py`), waits for it to answer, tells it
where to send signed webhooks (POST /_config/webhooks/NAME), then stays in the foreground so
honcho can manage it like any other process.
"""
import subprocess
import sys
import time
from urllib.parse import urlencode
from urllib.request import Request, urlopen

import click
from flask import current_app
from flask.cli import with_appcontext

WEBHOOK_PATH = "/stripe/webhook"


def register_webhook(stripe_base, app_base, secret, name="marketplace"):
    data = urlencode({"url": app_base.rstrip("/") + WEBHOOK_PATH, "secret": secret}).encode()
    urlopen(Request(f"{stripe_base}/_config/webhooks/{name}", data=data, method="POST"), timeout=5).read()


def wait_until_up(stripe_base, timeout=30):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            urlopen(f"{stripe_base}/js.stripe.com/v3/", timeout=1).read(1)
            return
        except OSError:
            time.sleep(0.2)
    raise click.ClickException(f"localstripe did not answer at {stripe_base}")


@click.command("local-stripe")
@click.option("--port", default=8420, show_default=True)
@with_appcontext
def local_stripe_command(port):
    """Run localstripe on PORT and register this app's webhook with it."""
    process = subprocess.Popen([sys.executable, "-m", "marketplace.payments.local_stripe_server", "--port", str(port)],
                               cwd=current_app.instance_path)
    base = f"http://127.0.0.1:{port}"
    try:
        wait_until_up(base)
        register_webhook(base, current_app.config["PUBLIC_BASE_URL"], current_app.config["STRIPE_WEBHOOK_SECRET"])
        click.echo(f"localstripe ready at {base}; webhooks go to {current_app.config['PUBLIC_BASE_URL']}{WEBHOOK_PATH}")
        process.wait()
    finally:
        process.terminate()
