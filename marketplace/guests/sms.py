"""Sending a one-time code by SMS: one interface, two senders chosen by `SMS_BACKEND`.

- `log` (development, `make run`, tests): a **local stand-in**, not an SMS at all. It appends
  each message to `SMS_LOG_PATH` (instance/sms.log), where a developer or a test reads the code,
  as the mail log does for e-mail.
- `aliyun` (production): Alibaba Cloud SMS (短信服务, Dysmsapi 2017-05-25 `SendSms`) through its
  official SDK, with the signature and template approved in the Aliyun console; the template
  takes one parameter, `code`. Configured by environment: ALIYUN_SMS_ACCESS_KEY_ID,
  ALIYUN_SMS_ACCESS_KEY_SECRET, ALIYUN_SMS_SIGN_NAME, ALIYUN_SMS_TEMPLATE_CODE and, for tests
  against a local stand-in of the API, ALIYUN_SMS_ENDPOINT / ALIYUN_SMS_PROTOCOL.
"""
import json
from datetime import datetime, timezone

from flask import current_app


class SmsNotSent(Exception):
    """The SMS provider refused or could not be reached; nothing was delivered."""


class LogSmsSender:
    """Local stand-in: writes the message to a file instead of sending it."""

    def __init__(self, path):
        self.path = path

    def send_code(self, phone, code):
        line = json.dumps({"at": datetime.now(timezone.utc).isoformat(timespec="seconds"), "to": phone,
                           "code": code, "text": f"【双乡】验证码 {code}，10分钟内有效。"}, ensure_ascii=False)
        with open(self.path, "a", encoding="utf-8") as log:
            log.write(line + "\n")


class AliyunSmsSender:
    """Alibaba Cloud SMS `SendSms` with the official SDK (alibabacloud-dysmsapi20170525)."""

    def __init__(self, access_key_id, access_key_secret, sign_name, template_code,
                 endpoint="dysmsapi.aliyuncs.com", protocol="https"):
        from alibabacloud_dysmsapi20170525.client import Client
        from alibabacloud_tea_openapi.models import Config

        self.client = Client(Config(access_key_id=access_key_id, access_key_secret=access_key_secret,
                                    endpoint=endpoint, protocol=protocol, connect_timeout=3000, read_timeout=5000))
        self.sign_name, self.template_code = sign_name, template_code

    def send_code(self, phone, code):
        from alibabacloud_dysmsapi20170525.models import SendSmsRequest
        from Tea.exceptions import TeaException

        request = SendSmsRequest(phone_numbers=phone, sign_name=self.sign_name, template_code=self.template_code,
                                 template_param=json.dumps({"code": code}))
        try:
            response = self.client.send_sms(request)
        except (TeaException, OSError) as error:
            raise SmsNotSent(str(error)) from error
        if response.body is None or response.body.code != "OK":
            raise SmsNotSent(getattr(response.body, "message", "no answer"))


def sms_sender():
    """The configured sender."""
    config = current_app.config
    if config["SMS_BACKEND"] == "aliyun":
        return AliyunSmsSender(config["ALIYUN_SMS_ACCESS_KEY_ID"], config["ALIYUN_SMS_ACCESS_KEY_SECRET"],
                               config["ALIYUN_SMS_SIGN_NAME"], config["ALIYUN_SMS_TEMPLATE_CODE"],
                               endpoint=config["ALIYUN_SMS_ENDPOINT"], protocol=config["ALIYUN_SMS_PROTOCOL"])
    return LogSmsSender(config["SMS_LOG_PATH"])
