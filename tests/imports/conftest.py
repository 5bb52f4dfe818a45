"""Registry files as districts keep them, generated with good and bad rows mixed."""
from dataclasses import dataclass, field
from io import BytesIO

import pytest
from openpyxl import Workbook

HEADERS = ["镇", "村", "户主姓名", "人口数", "建档立卡编号", "开户银行", "银行账号"]
# Demo villages (town, village) the generated rows are spread over.
VILLAGES = [("岭子镇", "李里村"), ("太河镇", "响泉村"), ("太河镇", "纱帽村"), ("寨里镇", "土堆村")]


@dataclass
class RegistryFile:
    rows: list
    good: dict = field(default_factory=dict)  # registry number -> (village, name, people)
    bad: dict = field(default_factory=dict)   # row number -> reason code

    def xlsx(self):
        workbook = Workbook(write_only=True)
        sheet = workbook.create_sheet("建档立卡名册")
        sheet.append(HEADERS)
        for row in self.rows:
            sheet.append(row)
        buffer = BytesIO()
        workbook.save(buffer)
        return buffer.getvalue()

    def csv(self, encoding="utf-8"):
        lines = [",".join(HEADERS)] + [",".join(str(value) for value in row) for row in self.rows]
        return ("\n".join(lines) + "\n").encode(encoding)


def make_registry(count, bad_every=0, start=1):
    """`count` households, every `bad_every`-th row broken in one of the ways districts break them."""
    registry = RegistryFile(rows=[])
    faults = ["missing_village", "duplicate_registry_no", "malformed_registry_no", "bad_encoding",
              "malformed_people_count"]
    for index in range(start, start + count):
        town, village = VILLAGES[index % len(VILLAGES)]
        number = f"3703029{index:07d}"
        name = f"户主{index}"
        row = [town, village, name, 1 + index % 5, number, "", ""]
        if index % 7 == 0:
            row[5:] = ["淄川农商银行", f"62170000{index:011d}"]
        fault = faults[(index // bad_every) % len(faults)] if bad_every and index % bad_every == 0 else None
        row_number = len(registry.rows) + 2
        if fault == "missing_village":
            row[1] = "无此村"
        elif fault == "duplicate_registry_no":
            # Repeats the previous row's number: both rows are rejected.
            previous = f"3703029{index - 1:07d}"
            row[4] = previous
            registry.good.pop(previous, None)
            registry.bad[row_number - 1] = fault
        elif fault == "malformed_registry_no":
            row[4] = "3.70302E+13"
        elif fault == "bad_encoding":
            row[2] = "户主\ufffd\ufffd"
        elif fault == "malformed_people_count":
            row[3] = "三"
        registry.rows.append(row)
        if fault:
            registry.bad[row_number] = fault
        else:
            registry.good[number] = (village, name, row[3])
    return registry


@pytest.fixture
def registry_file():
    return make_registry


def dry_run(kind, filename, data, actor_id, **options):
    """Upload a registry file and run its dry run as the worker would; the checked (or failed) job."""
    from marketplace.imports import services

    return services.run_check(services.submit_import(kind, filename, data, actor_id, **options).id)


def check_in_worker(app, job_id):
    """What the `imports.check` task does for an uploaded job (the web tests run no worker)."""
    from marketplace.extensions import db
    from marketplace.imports import services

    with app.app_context():
        services.run_check(job_id)
        db.session.remove()
