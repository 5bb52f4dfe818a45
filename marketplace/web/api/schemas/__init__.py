"""Pydantic models of the API: what comes in (strict: no silent type coercion, no unknown
fields) and what goes out. The OpenAPI document is generated from them."""
from datetime import UTC, datetime
from typing import Annotated

from pydantic import AfterValidator, BaseModel, ConfigDict

MAX_INT = 2**31 - 1  # ids and amounts a query may name: within the database's INTEGER


# Timestamps are stored as naive UTC; the API states the offset (RFC 3339).
UtcDateTime = Annotated[datetime, AfterValidator(lambda value: value if value.tzinfo else value.replace(tzinfo=UTC))]


class Input(BaseModel):
    model_config = ConfigDict(strict=True, extra="forbid")


class QueryInput(BaseModel):
    """Query strings are text, so their numbers are parsed (not strict); an unknown key is refused."""

    model_config = ConfigDict(extra="forbid")


class Output(BaseModel):
    model_config = ConfigDict(from_attributes=True)


class Problem(Output):
    """An error, as RFC 9457 problem details."""

    type: str
    title: str
    status: int
    detail: str
    code: str
    field: str | None = None
