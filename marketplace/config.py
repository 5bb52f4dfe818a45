"""Settings: read from the environment, with embedded defaults that need no server."""
import os
from pathlib import Path

PROJECT_ROOT = Path(__file__).resolve().parent.parent
INSTANCE_DIR = PROJECT_ROOT / "instance"
DEV_SECRET_KEY = "dev-only-secret-key-change-me"
# A valid Fernet key for development only; production must set FIELD_ENCRYPTION_KEYS.
DEV_FIELD_KEY = "ZGV2LW9ubHktZmllbGQta2V5LTMyLWJ5dGVzLWxvbmc="


def _env(name, default=None):
    value = os.environ.get(name)
    return value if value not in (None, "") else default


def broker_transport_options(broker_url):
    if broker_url.startswith(("redis://", "rediss://")):
        # Longer than any task or retry delay, so Redis never redelivers a task still running.
        return {"visibility_timeout": 3600}
    return {}


def load_settings():
    """Return the settings dict for `app.config`, read from the environment now."""
    database_url = _env("DATABASE_URL", f"sqlite:///{INSTANCE_DIR / 'marketplace.db'}")
    broker_url = _env("CELERY_BROKER_URL", f"sqla+sqlite:///{INSTANCE_DIR / 'celery-broker.db'}")
    # Every calendar period (dividends, statements, reports) and every time a person reads.
    display_timezone = _env("DISPLAY_TIMEZONE", "Asia/Shanghai")
    return {
        "ENV_NAME": _env("MARKETPLACE_ENV", "development"),
        "SECRET_KEY": _env("SECRET_KEY", DEV_SECRET_KEY),
        "SQLALCHEMY_DATABASE_URI": database_url,
        "CELERY": {
            "broker_url": broker_url,
            "result_backend": None,
            "task_ignore_result": True,
            "task_acks_late": True,
            "task_reject_on_worker_lost": True,
            "worker_prefetch_multiplier": 1,
            "broker_connection_retry_on_startup": True,
            "broker_transport_options": broker_transport_options(broker_url),
            "timezone": display_timezone,
        },
        "STRIPE_SECRET_KEY": _env("STRIPE_SECRET_KEY", "sk_test_localstripe"),
        "STRIPE_PUBLISHABLE_KEY": _env("STRIPE_PUBLISHABLE_KEY", "pk_test_localstripe"),
        "STRIPE_WEBHOOK_SECRET": _env("STRIPE_WEBHOOK_SECRET", "whsec_localstripe_dev"),
        "STRIPE_API_BASE": _env("STRIPE_API_BASE", "http://127.0.0.1:8420"),
        # The PaymentIntent payment method types the platform's Stripe account has turned on.
        "STRIPE_PAYMENT_METHODS": tuple(
            kind.strip() for kind in _env("STRIPE_PAYMENT_METHODS", "card,wechat_pay,alipay").split(",") if kind.strip()),
        "FIELD_ENCRYPTION_KEYS": _env("FIELD_ENCRYPTION_KEYS", DEV_FIELD_KEY),
        "PLATFORM_COMMISSION_RATE": _env("PLATFORM_COMMISSION_RATE", "0.05"),
        "RESERVATION_MINUTES": int(_env("RESERVATION_MINUTES", "30")),
        # Company transfers (对公转账): the account organisations pay into, and how long an approved
        # order waits for its transfer (its stock held) before it is released.
        "PLATFORM_BANK_ACCOUNT_NAME": _env("PLATFORM_BANK_ACCOUNT_NAME", "淄川区双向流通电子商务有限公司"),
        "PLATFORM_BANK_NAME": _env("PLATFORM_BANK_NAME", "中国农业银行淄川支行"),
        "PLATFORM_BANK_ACCOUNT_NO": _env("PLATFORM_BANK_ACCOUNT_NO", "1523 0101 0400 1234 5"),
        "TRANSFER_PAYMENT_DAYS": int(_env("TRANSFER_PAYMENT_DAYS", "30")),
        # The one extension an organisation may take, and how many days before the deadline its
        # finance and approvers are reminded (organisations/payment_clock.py).
        "TRANSFER_EXTENSION_DAYS": int(_env("TRANSFER_EXTENSION_DAYS", "15")),
        "TRANSFER_REMINDER_DAYS": int(_env("TRANSFER_REMINDER_DAYS", "5")),
        # Pay after acceptance: an organisation on those terms pays within this many days of accepting
        # its order (the 2025 regulation on payments to small and medium enterprises: 30).
        "TERMS_PAYMENT_DAYS": int(_env("TERMS_PAYMENT_DAYS", "30")),
        # Downlink goods still at the service point this many days after arriving are flagged.
        "DOWNLINK_UNPICKED_DAYS": int(_env("DOWNLINK_UNPICKED_DAYS", "7")),
        # Settlement (DESIGN §3): a shipped parcel counts as delivered this many days after shipping
        # unless the buyer confirmed sooner; its sale settles this many days after delivery.
        "AUTO_CONFIRM_DAYS": int(_env("AUTO_CONFIRM_DAYS", "10")),
        "AFTER_SALES_DAYS": int(_env("AFTER_SALES_DAYS", "7")),
        # A seller answers an after-sales claim (and a buyer an offer) within this; then town staff decide.
        "CLAIM_RESPONSE_HOURS": int(_env("CLAIM_RESPONSE_HOURS", "48")),
        # Lot intake: above these (lot units in one lot, or one household's in a season, a calendar
        # year in China) town staff confirm the lot before its floor money is owed.
        "LOT_CONFIRM_ABOVE_UNITS": int(_env("LOT_CONFIRM_ABOVE_UNITS", "5000")),
        "LOT_SEASON_UNITS_PER_HOUSEHOLD": int(_env("LOT_SEASON_UNITS_PER_HOUSEHOLD", "20000")),
        "OUTBOX_RESEND_AFTER_SECONDS": int(_env("OUTBOX_RESEND_AFTER_SECONDS", "60")),
        # Tasks sent only in batches by their beat sweep, not one by one after commit (at volume:
        # "ledger.attribute_payment" → ledger.attribute_pending_payments every second).
        "OUTBOX_BATCHED_TASKS": frozenset(filter(None, _env("OUTBOX_BATCHED_TASKS", "").split(","))),
        # Shared cache of public catalogue pages (Redis); unset, nothing is cached. Prices and stock
        # show at once (versions); the lifetime bounds what no version tracks (lots drawn down).
        "CACHE_REDIS_URL": _env("CACHE_REDIS_URL"),
        "PAGE_CACHE_SECONDS": float(_env("PAGE_CACHE_SECONDS", "30")),
        "RATELIMIT_STORAGE_URI": _env("RATELIMIT_STORAGE_URI", "memory://"),
        # A Redis outage must not refuse service: each process counts in memory meanwhile (the
        # limiter logs "falling back to in-memory storage" and checks Redis again, backing off),
        # any other storage error is logged and the request let through; a hung Redis costs a
        # request half a second at most.
        "RATELIMIT_IN_MEMORY_FALLBACK_ENABLED": True,
        "RATELIMIT_SWALLOW_ERRORS": True,
        "RATELIMIT_STORAGE_OPTIONS": {"socket_connect_timeout": 0.5, "socket_timeout": 0.5},
        "API_RATE_LIMIT_PER_TOKEN": _env("API_RATE_LIMIT_PER_TOKEN", "600 per minute"),
        "API_RATE_LIMIT_PER_IP": _env("API_RATE_LIMIT_PER_IP", "1200 per minute"),
        "MAIL_SERVER": _env("MAIL_SERVER", "127.0.0.1"),
        "MAIL_PORT": int(_env("MAIL_PORT", "8025")),
        "MAIL_DEFAULT_SENDER": _env("MAIL_DEFAULT_SENDER", "noreply@shuangxiang.local"),
        "MAIL_USE_TLS": _env("MAIL_USE_TLS", "0") == "1",
        "MAIL_USERNAME": _env("MAIL_USERNAME"),
        "MAIL_PASSWORD": _env("MAIL_PASSWORD"),
        # Development default: mail is appended to this file instead of sent; unset it in production.
        "MAIL_LOG_PATH": _env("MAIL_LOG_PATH", str(INSTANCE_DIR / "mail.log") if _env("MAIL_SERVER") is None else None),
        # One-time codes by SMS (guest checkout): "log" writes them to SMS_LOG_PATH (a local
        # stand-in, development and tests); "aliyun" sends them with Alibaba Cloud SMS.
        "SMS_BACKEND": _env("SMS_BACKEND", "log"),
        "SMS_LOG_PATH": _env("SMS_LOG_PATH", str(INSTANCE_DIR / "sms.log")),
        "ALIYUN_SMS_ACCESS_KEY_ID": _env("ALIYUN_SMS_ACCESS_KEY_ID"),
        "ALIYUN_SMS_ACCESS_KEY_SECRET": _env("ALIYUN_SMS_ACCESS_KEY_SECRET"),
        "ALIYUN_SMS_SIGN_NAME": _env("ALIYUN_SMS_SIGN_NAME"),
        "ALIYUN_SMS_TEMPLATE_CODE": _env("ALIYUN_SMS_TEMPLATE_CODE"),
        "ALIYUN_SMS_ENDPOINT": _env("ALIYUN_SMS_ENDPOINT", "dysmsapi.aliyuncs.com"),
        "ALIYUN_SMS_PROTOCOL": _env("ALIYUN_SMS_PROTOCOL", "https"),
        "PHONE_CODE_MINUTES": int(_env("PHONE_CODE_MINUTES", "10")),
        "UPLOAD_DIR": _env("UPLOAD_DIR", str(INSTANCE_DIR / "uploads")),
        "MAX_CONTENT_LENGTH": 8 * 1024 * 1024,
        "BABEL_DEFAULT_LOCALE": "zh_CN",
        "DISPLAY_TIMEZONE": display_timezone,
        "BABEL_DEFAULT_TIMEZONE": display_timezone,
        "LANGUAGES": ["zh_CN", "en"],
        "SESSION_COOKIE_HTTPONLY": True,
        "SESSION_COOKIE_SAMESITE": "Lax",
        "SESSION_COOKIE_SECURE": _env("MARKETPLACE_ENV", "development") == "production",
        # Every absolute link (QR codes, e-mails, API fields) starts with this, never with the
        # request's Host header. TRUSTED_HOSTS (comma-separated), when set, refuses other Hosts (400).
        "PUBLIC_BASE_URL": _env("PUBLIC_BASE_URL", "http://127.0.0.1:5000"),
        "TRUSTED_HOSTS": [host.strip() for host in _env("TRUSTED_HOSTS", "").split(",") if host.strip()] or None,
    }


def check_production_settings(settings):
    """Refuse to start a production app on development secrets."""
    if settings["ENV_NAME"] != "production":
        return
    if settings["SECRET_KEY"] == DEV_SECRET_KEY:
        raise RuntimeError("SECRET_KEY must be set in production; refusing the development key.")
    if settings["FIELD_ENCRYPTION_KEYS"] == DEV_FIELD_KEY:
        raise RuntimeError("FIELD_ENCRYPTION_KEYS must be set in production.")
