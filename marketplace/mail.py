"""Sending e-mail: SMTP in production; in development and tests, a mail log a person or test can read."""
import smtplib
from email.message import EmailMessage

from flask import current_app


def send_mail(to, subject, body):
    message = EmailMessage()
    message["From"] = current_app.config["MAIL_DEFAULT_SENDER"]
    message["To"] = to
    message["Subject"] = subject
    message.set_content(body)
    log_path = current_app.config.get("MAIL_LOG_PATH")
    if log_path:
        with open(log_path, "a", encoding="utf-8") as log:
            log.write(message.as_string() + "\n\n")
        return
    with smtplib.SMTP(current_app.config["MAIL_SERVER"], current_app.config["MAIL_PORT"], timeout=10) as smtp:
        if current_app.config.get("MAIL_USE_TLS"):
            smtp.starttls()
        if current_app.config.get("MAIL_USERNAME"):
            smtp.login(current_app.config["MAIL_USERNAME"], current_app.config["MAIL_PASSWORD"])
        smtp.send_message(message)
