"""Pydantic models of the API: what comes in (strict: no silent type coercion, no unknown
fields) and what goes out. The OpenAPI document is generated from them."""
from pydantic import BaseModel, ConfigDict

MAX_FEN = 1_000_000_000_000


class Input(BaseModel):
    model_config = ConfigDict(strict=True, extra="forbid")


class QueryInput(BaseModel):
    """Query strings are text, so their numbers are parsed (not strict); unknown keys are ignored."""

    model_config = ConfigDict(extra="ignore")


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
