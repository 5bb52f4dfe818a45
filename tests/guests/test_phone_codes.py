"""One-time codes: mainland numbers only, hashed, expiring, limited in attempts and in how often a
number is texted; the Aliyun sender's request checked against a local stand-in of the API."""
import json
from datetime import timedelta

import pytest
from sqlalchemy import select

from marketplace.errors import DomainError
from marketplace.extensions import db
from marketplace.guests.codes import MAX_ATTEMPTS, MAX_CODES_PER_HOUR, check_code, mainland_mobile, send_code
from marketplace.guests.models import PhoneCode
from marketplace.guests.sms import AliyunSmsSender, SmsNotSent
from tests.guests.aliyun_sms_standin import AliyunSmsStandIn


def last_code_texted(app, phone):
    """The code the local SMS stand-in wrote for `phone` (what the buyer reads on their phone)."""
    with open(app.config["SMS_LOG_PATH"], encoding="utf-8") as log:
        lines = [json.loads(line) for line in log if line.strip()]
    return [line["code"] for line in lines if line["to"] == phone][-1]


def age_codes(phone, seconds):
    for row in db.session.scalars(select(PhoneCode).where(PhoneCode.phone == phone)):
        row.created_at -= timedelta(seconds=seconds)
        row.expires_at -= timedelta(seconds=seconds)
    db.session.commit()


@pytest.mark.parametrize("text", ["+86 138 0013 8000", "86-13800138000", "0086 13800138000", "13800138000"])
def test_a_mainland_mobile_number_is_read_in_its_usual_spellings(text):
    assert mainland_mobile(text) == "13800138000"


@pytest.mark.parametrize("text", ["", "1380013800", "138001380001", "12800138000", "+1 415 555 0100",
                                  "+852 9123 4567", "1380013800x", "０１３８００１３８０００", "<script>"])
def test_a_malformed_or_foreign_number_is_refused_and_nothing_is_sent(app_ctx, app, text):
    with pytest.raises(DomainError) as refused:
        send_code(text)
    assert refused.value.field == "phone"
    assert db.session.scalar(select(PhoneCode)) is None


def test_the_code_is_texted_stored_only_as_a_keyed_hash_and_spent_by_the_right_answer(app_ctx, app):
    phone = send_code("13800138000")
    code = last_code_texted(app, phone)
    row = db.session.scalar(select(PhoneCode))
    assert len(code) == 6 and code not in row.code_hash and row.used_at is None
    assert check_code(phone, code) == phone
    with pytest.raises(DomainError):  # spent: the same code does not open it twice
        check_code(phone, code)


def test_wrong_answers_are_counted_and_the_code_dies_after_the_limit(app_ctx, app):
    phone = send_code("13900139000")
    code = last_code_texted(app, phone)
    wrong = f"{(int(code) + 1) % 1_000_000:06d}"
    for _ in range(MAX_ATTEMPTS):
        with pytest.raises(DomainError) as refused:
            check_code(phone, wrong)
        assert refused.value.code == "code_wrong"
    with pytest.raises(DomainError) as refused:
        check_code(phone, code)  # even the right code is too late now
    assert refused.value.code == "code_expired"


def test_an_expired_code_is_refused(app_ctx, app):
    phone = send_code("13700137000")
    code = last_code_texted(app, phone)
    age_codes(phone, 11 * 60)
    with pytest.raises(DomainError) as refused:
        check_code(phone, code)
    assert refused.value.code == "code_expired"


def test_a_number_is_texted_once_a_minute_and_a_few_times_an_hour(app_ctx, app):
    phone = send_code("13600136000")
    with pytest.raises(DomainError) as refused:
        send_code(phone)
    assert refused.value.status == 429
    for _ in range(MAX_CODES_PER_HOUR - 1):
        age_codes(phone, 61)
        send_code(phone)
    age_codes(phone, 61)
    with pytest.raises(DomainError) as refused:
        send_code(phone)
    assert refused.value.code == "too_many_codes"
    assert len(db.session.scalars(select(PhoneCode)).all()) == MAX_CODES_PER_HOUR


def test_a_code_for_another_purpose_does_not_open_this_one(app_ctx, app):
    phone = send_code("13500135000", "claim")
    with pytest.raises(DomainError):
        check_code(phone, last_code_texted(app, phone), "guest")


def test_the_aliyun_sender_sends_the_signed_sendsms_request_of_the_official_sdk():
    stand_in = AliyunSmsStandIn()
    try:
        AliyunSmsSender("LTAI-test-key", "test-secret", "双乡", "SMS_000001", endpoint=stand_in.endpoint,
                        protocol="http").send_code("13800138000", "123456")
    finally:
        stand_in.close()
    [request] = stand_in.requests
    params = request["params"]
    assert params["PhoneNumbers"] == "13800138000" and params["SignName"] == "双乡"
    assert params["TemplateCode"] == "SMS_000001" and json.loads(params["TemplateParam"]) == {"code": "123456"}
    headers = {key.lower(): value for key, value in request["headers"].items()}
    assert headers["x-acs-action"] == "SendSms" and headers["x-acs-version"] == "2017-05-25"
    assert "LTAI-test-key" in headers["authorization"]  # signed with the access key, not sent in clear


def test_an_sms_the_provider_refuses_is_reported_as_not_sent():
    stand_in = AliyunSmsStandIn(answer_code="isv.BUSINESS_LIMIT_CONTROL")
    try:
        with pytest.raises(SmsNotSent):
            AliyunSmsSender("key", "secret", "双乡", "SMS_000001", endpoint=stand_in.endpoint,
                            protocol="http").send_code("13800138000", "123456")
    finally:
        stand_in.close()
