"""How an API operation is declared, and everything every operation does the same way.

`@operation(...)` registers a view on the API blueprint together with the pydantic models of
its query, body and response. The same declaration drives the request handling here (bearer
authentication and role check, parsing and validation, Idempotency-Key, problem details) and
the OpenAPI document (`openapi.py`), so the document cannot drift from the code.
"""
import inspect
import json
import re
from dataclasses import dataclass, field
from functools import wraps
from typing import get_origin

from flask import jsonify, request
from flask_babel import force_locale
from flask_babel import lazy_gettext as _
from pydantic import BaseModel, ValidationError

from marketplace.api import idempotency
from marketplace.api.tokens import user_for_token
from marketplace.errors import DomainError, Forbidden
from marketplace.extensions import db
from marketplace.payments import stripe_gateway
from marketplace.web.api import bp
from marketplace.web.api.problems import problem
from marketplace.web.api.schemas import MAX_INT

ANY_SIGNED_IN = ("*",)
MAX_ID = MAX_INT  # `<id:name>` in a rule: a database id, 0 to MAX_ID (larger is a 404, not an overflow)
PATH_PARAMETER = re.compile(r"<(?:(?P<converter>\w+):)?(?P<name>\w+)>")
LOCALES = {"zh": "zh_CN", "en": "en"}


class Unauthenticated(DomainError):
    status = 401
    code = "unauthorized"


class UnsupportedMediaType(DomainError):
    status = 415
    code = "unsupported_media_type"


class MalformedJson(DomainError):
    status = 400
    code = "malformed_json"


@dataclass
class Operation:
    method: str
    rule: str
    endpoint: str
    tag: str
    summary: str
    description: str
    response: type[BaseModel]
    status: int = 200
    query: type[BaseModel] | None = None
    body: type[BaseModel] | None = None
    roles: tuple | None = None  # None: public; ANY_SIGNED_IN: any token; else these roles (and admin)
    idempotent: bool = False
    links: dict = field(default_factory=dict)


OPERATIONS: list[Operation] = []


def request_locale():
    """The API speaks the client's Accept-Language (Chinese unless English is preferred)."""
    best = request.accept_languages.best_match(["zh", "zh-CN", "en"], default="zh")
    return LOCALES[best[:2]]


def bearer_token():
    scheme, _, token = request.headers.get("Authorization", "").partition(" ")
    return token.strip() if scheme.lower() == "bearer" else ""


def _authenticate(roles):
    user = user_for_token(bearer_token())
    if user is None:
        raise Unauthenticated(_("Send a valid API token as 'Authorization: Bearer <token>'."))
    if roles != ANY_SIGNED_IN and user.role not in roles and user.role != "admin":
        raise Forbidden(_("This token's role may not use this operation."))
    return user


def _parse_query(model):
    values = {}
    list_fields = {name for name, info in model.model_fields.items() if get_origin(info.annotation) is list}
    for name in request.args:
        values[name] = request.args.getlist(name) if name in list_fields else request.args.get(name)
    return model.model_validate(values)


def _parse_body(model):
    if not request.mimetype or request.mimetype != "application/json":
        raise UnsupportedMediaType(_("Send the body as application/json."))
    raw = request.get_data(cache=True)
    try:
        json.loads(raw)
    except (ValueError, UnicodeDecodeError) as error:
        raise MalformedJson(_("The body is not valid JSON.")) from error
    return model.model_validate_json(raw)


def _validation_problem(error):
    first = error.errors(include_url=False)[0]
    where = ".".join(str(part) for part in first["loc"]) or None
    return problem(422, "invalid", f"{where}: {first['msg']}" if where else first["msg"], field=where)


def _domain_problem(error):
    headers = {"WWW-Authenticate": 'Bearer realm="api"'} if error.status == 401 else None
    return problem(error.status, error.code, error.message, field=error.field, headers=headers)


def _respond(result, status):
    response = jsonify(result.model_dump(mode="json"))
    response.status_code = status
    return response


def _run(op, view, path_args):
    kwargs = dict(path_args)
    user = _authenticate(op.roles) if op.roles else None
    if user is not None:
        kwargs["user"] = user
    if op.query is not None:
        kwargs["query"] = _parse_query(op.query)
    body = _parse_body(op.body) if op.body is not None else None
    if body is not None:
        kwargs["body"] = body
    key = request.headers.get("Idempotency-Key") if op.idempotent else None
    if key is None:
        if op.idempotent:
            kwargs["idempotency_key"] = None
        return _respond(view(**kwargs), op.status)
    fingerprint = idempotency.request_fingerprint(op.method, request.path, body.model_dump(mode="json") if body else {})
    replay = idempotency.begin(user.id, key, fingerprint)
    if replay is not None:
        response = jsonify(replay.body)
        response.status_code = replay.status
        response.headers["Idempotent-Replayed"] = "true"
        return response
    try:
        result = view(idempotency_key=key, **kwargs)
    except Exception:  # any failure frees the key for a retry, then propagates unchanged
        idempotency.abandon(user.id, key)
        raise
    payload = result.model_dump(mode="json")
    idempotency.finish(user.id, key, op.status, payload)
    response = jsonify(payload)
    response.status_code = op.status
    return response


def operation(method, rule, *, tag, summary, response, status=200, query=None, body=None, roles=None,
              idempotent=False, links=None):
    """Declare an API operation; the view returns an instance of `response`.

    The view receives the path arguments, plus `user` (when `roles` is set), `query` and
    `body` (validated models) and `idempotency_key` (for `idempotent` operations).
    """
    def decorator(view):
        op = Operation(method=method, rule=rule, endpoint=view.__name__, tag=tag, summary=summary,
                       description=inspect.cleandoc(view.__doc__ or ""), response=response, status=status, query=query,
                       body=body, roles=tuple(roles) if roles else None, idempotent=idempotent, links=links or {})

        @wraps(view)
        def endpoint(**path_args):
            with force_locale(request_locale()):
                try:
                    return _run(op, view, path_args)
                except ValidationError as error:
                    return _validation_problem(error)
                except DomainError as error:
                    return _domain_problem(error)
                except stripe_gateway.StripeError:
                    return problem(502, "payment_provider_error", _("The payment provider did not answer; try again."))

        bp.add_url_rule(rule.replace("<id:", f"<int(max={MAX_ID}):"), view.__name__, endpoint, methods=[method])
        OPERATIONS.append(op)
        return endpoint
    return decorator


@bp.teardown_request
def _end_session(_error):
    """End the request's transaction with the request, also when an app context outlives it
    (a test or a command holding one): on SQLite an open transaction holds the write lock."""
    db.session.remove()
