"""What a dry run decides for each row, shared by the household and membership imports."""
from dataclasses import dataclass, field

OUTCOMES = ("create", "update", "unchanged", "reject")
PROGRESS_EVERY = 500


@dataclass
class Plan:
    """Every row's outcome for the report, and the rows to write if it is applied."""

    report: list = field(default_factory=list)
    creates: list = field(default_factory=list)
    updates: list = field(default_factory=list)
    extra: dict = field(default_factory=dict)

    def add(self, row_number, outcome, reason="", detail="", **shown):
        self.report.append({"row": row_number, "outcome": outcome, "reason": reason, "detail": str(detail), **shown})

    def counts(self):
        counted = dict.fromkeys(OUTCOMES, 0)
        for entry in self.report:
            counted[entry["outcome"]] += 1
        return counted


def outcomes(report):
    """The part of a report that must not change between the dry run and the apply."""
    return [(entry["row"], entry["outcome"]) for entry in report]


def chunks(values, size=900):
    values = list(values)
    for start in range(0, len(values), size):
        yield values[start:start + size]


def report_progress(on_progress, done):
    if on_progress and done % PROGRESS_EVERY == 0:
        on_progress(done)


def insert_rows(model, rows):
    """Insert many rows with one Core executemany (every row carries the same keys).

    Not the ORM bulk insert: it splits rows into a separate statement batch each time the set
    of non-NULL values changes (a bank account here, none there), and not multi-row VALUES,
    whose compilation costs more than it saves. psycopg pipelines the executemany.
    """
    from sqlalchemy import insert

    from marketplace.extensions import db

    if rows:
        db.session.execute(insert(model.__table__), rows)
