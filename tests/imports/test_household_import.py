import time

import pytest
from sqlalchemy import func, select

from marketplace.audit.models import AuditLog
from marketplace.crypto import blind_index
from marketplace.extensions import db
from marketplace.imports.models import ImportJob
from marketplace.people.models import Household, HouseholdStatusChange, User
from tests.admin.conftest import district  # noqa: F401
from tests.imports.conftest import check_in_worker, dry_run, make_registry

REASONS_SHOWN = {
    "missing_village": "缺少村", "duplicate_registry_no": "建档立卡编号重复", "malformed_registry_no": "编号格式错误",
    "bad_encoding": "编码错误", "malformed_people_count": "人口数格式错误",
}


def household_count():
    return db.session.scalar(select(func.count(Household.id)))


def upload(client, data, name="registry.xlsx", **fields):
    from io import BytesIO

    return client.post("/admin/imports", data={"kind": "households", "file": (BytesIO(data), name), **fields},
                       content_type="multipart/form-data")


def job_of(response):
    return int(response.headers["Location"].rstrip("/").split("/")[-1])


@pytest.mark.slow
def test_ten_thousand_households_dry_run_then_background_apply_then_reapply(app, client, auth, district, celery_worker):
    registry = make_registry(10_000, bad_every=50)
    data = registry.xlsx()
    auth.login_as("admin@demo.cn")
    with app.app_context():
        before = household_count()

    # Dry run: every bad row is reported with its reason, and no household is written.
    job_id = job_of(upload(client, data, mark_verified="y", evidence="2026年建档立卡名册"))
    celery_worker.wait_for(lambda: db.session.get(ImportJob, job_id).status != "checking", timeout=120)
    with app.app_context():
        job = db.session.get(ImportJob, job_id)
        rejected = {row["row"]: row["reason"] for row in job.report if row["outcome"] == "reject"}
        assert rejected == registry.bad
        assert job.created_count == len(registry.good) and job.rejected_count == len(registry.bad)
        assert household_count() == before
    page = client.get(f"/admin/imports/{job_id}?show=reject").get_data(as_text=True)
    assert "第 101 行" in page and "编号格式错误" in page

    # Apply: runs on the real worker, within a minute, and creates exactly the good rows.
    started = time.monotonic()
    assert client.post(f"/admin/imports/{job_id}/apply").status_code == 303
    celery_worker.wait_for(lambda: db.session.get(ImportJob, job_id).status in ("done", "failed"), timeout=60)
    assert time.monotonic() - started < 60
    with app.app_context():
        job = db.session.get(ImportJob, job_id)
        assert job.status == "done", job.error
        assert job.file_data is None
        assert household_count() == before + len(registry.good)
        number, (village, name, people) = next(iter(registry.good.items()))
        household = db.session.scalar(select(Household).filter_by(registry_no_index=blind_index(number)))
        assert (household.village.name_zh, household.head_name, household.people_count) == (village, name, people)
        assert household.registry_no == number and household.registry_no_masked.endswith(number[-4:])
        assert household.is_verified_poor and household.verification_evidence == "2026年建档立卡名册"
        assert db.session.scalar(select(func.count(HouseholdStatusChange.id))) == len(registry.good)
        for bad_row in (101, 251):
            assert f"户主{bad_row - 1}" not in {h for (h,) in db.session.execute(select(Household.head_name))}
        assert db.session.scalar(select(AuditLog).filter_by(action="import.applied")).details["created"] == len(registry.good)
    assert client.get(f"/admin/imports/{job_id}/progress").get_json()["percent"] == 100

    # The same file again: every good row is unchanged, so there is nothing to apply.
    again = job_of(upload(client, data))
    celery_worker.wait_for(lambda: db.session.get(ImportJob, again).status != "checking", timeout=120)
    with app.app_context():
        job = db.session.get(ImportJob, again)
        assert (job.created_count, job.updated_count, job.unchanged_count) == (0, 0, len(registry.good))
        assert household_count() == before + len(registry.good)
    assert client.post(f"/admin/imports/{again}/apply").status_code == 303
    with app.app_context():
        assert db.session.get(ImportJob, again).status == "checked"
        assert household_count() == before + len(registry.good)


def test_a_changed_row_is_updated_in_place_not_duplicated(app, demo):
    from marketplace.imports import services

    admin_id = db.session.scalar(select(User.id).filter_by(email="admin@demo.cn"))
    registry = make_registry(5)
    services.start_apply(dry_run("households", "a.csv", registry.csv(), admin_id).id, admin_id)
    services.run_apply(db.session.scalar(select(func.max(ImportJob.id))))
    count = household_count()
    registry.rows[0][2] = "新户主"
    registry.rows[0][3] = 9
    job = dry_run("households", "b.csv", registry.csv(), admin_id)
    assert (job.created_count, job.updated_count, job.unchanged_count) == (0, 1, 4)
    assert "head_name" in job.report[0]["detail"] and "people_count" in job.report[0]["detail"]
    services.start_apply(job.id, admin_id)
    services.run_apply(job.id)
    assert household_count() == count
    changed = db.session.scalar(select(Household).filter_by(registry_no_index=blind_index(registry.rows[0][4])))
    assert (changed.head_name, changed.people_count) == ("新户主", 9)


def test_a_gb18030_csv_reads_and_a_broken_line_is_rejected_for_its_encoding(app, demo):
    from marketplace.imports import services

    admin_id = db.session.scalar(select(User.id).filter_by(email="admin@demo.cn"))
    registry = make_registry(3)
    job = dry_run("households", "gbk.csv", registry.csv("gb18030"), admin_id)
    assert job.created_count == 3 and job.report[0]["village"] in ("响泉村", "纱帽村", "土堆村", "李里村")
    broken = registry.csv("utf-8") + "太河镇,响泉村,".encode() + "张三".encode("gb18030") + b",2,37030299999999,,\n"
    job = dry_run("households", "mixed.csv", broken, admin_id)
    assert job.created_count == 3
    assert [(row["row"], row["reason"]) for row in job.report if row["outcome"] == "reject"] == [(5, "bad_encoding")]
    assert household_count() == 68


def test_a_file_without_the_registry_column_fails_its_dry_run_whole_and_writes_nothing(app, client, auth, district):
    auth.login_as("admin@demo.cn")
    with app.app_context():
        before = household_count()
    assert upload(client, b"a,b\n", name="x.txt").status_code == 422  # not a spreadsheet: refused at once
    missing = job_of(upload(client, "村,户主姓名,人口数\n响泉村,王五,2\n".encode(), name="x.csv"))
    not_excel = job_of(upload(client, b"not a spreadsheet", name="x.xlsx"))
    for job_id in (missing, not_excel):
        check_in_worker(app, job_id)  # the file is read in the worker, never in the request
    page = client.get(f"/admin/imports/{missing}").get_data(as_text=True)
    assert "失败" in page and "建档立卡编号" in page
    assert "建档立卡编号" in client.get(f"/admin/imports/{missing}/progress").get_json()["error"]
    with app.app_context():
        assert {db.session.get(ImportJob, job_id).status for job_id in (missing, not_excel)} == {"failed"}
        assert household_count() == before


def test_the_apply_refuses_when_the_registry_changed_since_the_dry_run(app, demo):
    from marketplace.imports import services

    admin_id = db.session.scalar(select(User.id).filter_by(email="admin@demo.cn"))
    registry = make_registry(4)
    first = dry_run("households", "a.csv", registry.csv(), admin_id)
    second = dry_run("households", "a.csv", registry.csv(), admin_id)
    services.start_apply(first.id, admin_id)
    services.run_apply(first.id)
    count = household_count()
    services.start_apply(second.id, admin_id)
    failed = services.run_apply(second.id)
    assert failed.status == "failed" and "changed since the dry run" in failed.error
    assert household_count() == count


def test_running_the_apply_task_twice_writes_once(app, demo):
    from marketplace.imports import services

    admin_id = db.session.scalar(select(User.id).filter_by(email="admin@demo.cn"))
    job = dry_run("households", "a.csv", make_registry(6).csv(), admin_id)
    services.start_apply(job.id, admin_id)
    services.run_apply(job.id)
    assert services.run_apply(job.id) is None
    assert household_count() == 68 + 6


def test_town_staff_import_only_into_their_own_town(app, demo):
    from marketplace.imports import services

    staff_id = db.session.scalar(select(User.id).filter_by(email="town@demo.cn"))  # 岭子镇
    job = dry_run("households", "a.csv", make_registry(8).csv(), staff_id)
    outcomes = {row["village"]: row["outcome"] for row in job.report}
    assert outcomes["李里村"] == "create"
    assert outcomes["响泉村"] == "reject" and job.rejected_count == 6
