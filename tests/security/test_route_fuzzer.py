"""The route fuzzer: every route of `app.url_map`, as every role, with hostile values in every path
parameter and every form, query and JSON field — never a 5xx, and a refusal changes nothing.

Nothing here names a route. The routes come from the URL map; a page's fields come from the
forms the app itself renders (each GET page is opened as each role and its `<form>`s read: the
field names, `qty-<id>` included, and their default values); an API operation's fields come from
its declared pydantic models. A route added tomorrow is fuzzed without anyone writing a test.

Each request puts one hostile value into every path parameter and every field at once (the other
way round from a form test: any field that crashes, crashes the request), and one field at a
time (the others left at the page's own values), so a field read only after the others pass is
reached too. The values rotate over routes and roles: in `make test` each route × role gets
FUZZ_EXAMPLES of them (3 by default; every route meets every value across its roles);
`FUZZ_EXAMPLES=0` sends every value to every route, role and field (the long run).
"""
import os
import re
from html.parser import HTMLParser
from urllib.parse import quote, urlencode, urlsplit

import pytest
from sqlalchemy import func, select, update
from werkzeug.exceptions import HTTPException

from marketplace.catalog.models import Variant
from marketplace.extensions import db
from marketplace.people.models import User
from tests.conftest import ARTIFACTS
from tests.security.conftest import table_counts
from tests.security.test_authorization_matrix import client_as, url_values

ROLES = {"anonymous": None, "buyer": "buyer@demo.cn", "coop manager": "coop@demo.cn", "town staff": "town@demo.cn",
         "agent": "agent@demo.cn", "supplier": "supplier@demo.cn", "admin": "admin@demo.cn"}
# Text a form or a path can carry: NUL, huge and odd digits, overflowing ints, empty, long, RTL/zero-width.
HOSTILE_TEXT = ["\x00", "9" * 400, "²", "①", "٣٤", "2147483648", "-2147483649", "9223372036854775808", "",
                "x" * 10_000, "\u202e\u200b\u200dabc\u2066", "-1", "NaN", "1e309", "0x1F", "../../etc/passwd",
                "<script>alert(1)</script>", "' OR 1=1 --", "1.5", " "]
# What JSON adds: every wrong type.
HOSTILE_JSON = HOSTILE_TEXT + [None, [], {}, True, 1.5, 2**63, -(2**31) - 1, ["x"], {"a": "\x00"}]
EXAMPLES = int(os.environ.get("FUZZ_EXAMPLES", "3"))
SKIPPED = {"static"}  # files from disk, no code of ours


class FormReader(HTMLParser):
    """The forms of a page: (action, method, {field name: the value the page gives it})."""

    def __init__(self):
        super().__init__()
        self.forms, self._current, self._select, self._textarea = [], None, None, None

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if tag == "form":
            self._current = (attrs.get("action") or "", (attrs.get("method") or "get").upper(), {})
            self.forms.append(self._current)
        elif self._current is None or not attrs.get("name"):
            return
        elif tag == "input" and attrs.get("type") not in ("submit", "button", "image", "reset"):
            fields = self._current[2]
            if attrs.get("type") in ("checkbox", "radio") and "checked" not in attrs and attrs["name"] in fields:
                return
            fields[attrs["name"]] = attrs.get("value") or ("y" if attrs.get("type") == "checkbox" else "")
        elif tag == "select":
            self._select = attrs["name"]
            self._current[2].setdefault(self._select, "")
        elif tag == "textarea":
            self._textarea = attrs["name"]
            self._current[2][self._textarea] = ""
        elif tag == "option" and self._select and not self._current[2][self._select]:
            self._current[2][self._select] = attrs.get("value", "")

    def handle_endtag(self, tag):
        if tag == "form":
            self._current = None
        elif tag == "select":
            self._select = None
        elif tag == "textarea":
            self._textarea = None


def routes(app, world):
    """(rule, method, the URL with the owners' real values) for every route of the URL map."""
    found = []
    with app.test_request_context():
        from flask import url_for

        for rule in sorted(app.url_map.iter_rules(), key=lambda r: r.rule):
            if rule.endpoint in SKIPPED:
                continue
            url = url_for(rule.endpoint, **url_values(world, rule.endpoint, rule.arguments))
            for method in sorted(rule.methods - {"HEAD", "OPTIONS"}):
                found.append((rule, method, url))
    return found


def endpoint_of(adapter, path, method):
    try:
        rule, _arguments = adapter.match(path, method=method, return_rule=True)
    except HTTPException:
        return None
    return rule.endpoint


_DISCOVERED = {}


def discovered_fields(app, world):
    """({(endpoint, method): {field: default}}, {(endpoint, method): roles that were shown the form})
    from every page's forms, as every role, and the API's models. Read once per process: the world
    is seeded the same way for every test (same ids), so its pages are the same."""
    if not _DISCOVERED:
        _DISCOVERED["found"] = _discover(app, world)
    return _DISCOVERED["found"]


def _discover(app, world):
    from marketplace.web.api.framework import OPERATIONS

    fields, shown_to = {}, {}
    adapter = app.url_map.bind("localhost")
    for rule, method, url in routes(app, world):
        if method != "GET" or rule.endpoint.startswith("api."):
            continue
        for role, email in ROLES.items():
            response = client_as(app, email).get(url)
            if response.status_code != 200 or response.mimetype != "text/html":
                continue
            reader = FormReader()
            reader.feed(response.get_data(as_text=True))
            for action, form_method, form_fields in reader.forms:
                path = urlsplit(action).path or urlsplit(url).path
                endpoint = endpoint_of(adapter, path, form_method)
                if endpoint:
                    fields.setdefault((endpoint, form_method), {}).update(
                        {name: value for name, value in form_fields.items() if name != "csrf_token"})
                    shown_to.setdefault((endpoint, form_method), set()).add(role)
    for op in OPERATIONS:
        model = op.body or op.query
        if model is not None:
            fields[(f"api.{op.endpoint}", op.method)] = {name: None for name in model.model_fields}
            shown_to[(f"api.{op.endpoint}", op.method)] = set(ROLES)  # each token's scope decides
    return fields, shown_to


def hostile_url(rule, owner_url, value):
    """The route's URL with `value` in every path parameter (as the owners' URL when it has none)."""
    if not rule.arguments:
        return owner_url
    return re.sub(r"<(?:[^:<>]+:)?([^<>]+)>", lambda _match: quote(str(value), safe=""), rule.rule)


def state():
    """Row counts of every table and the stock and prices: what a refused request must leave alone."""
    counts = table_counts()
    counts["stock"] = db.session.scalar(select(func.sum(Variant.stock_available)))
    counts["prices"] = db.session.scalar(select(func.sum(Variant.price_fen)))
    db.session.remove()
    return counts


def chosen(values, offset):
    """EXAMPLES values from `values`, starting at `offset` (all of them when EXAMPLES is 0)."""
    if EXAMPLES <= 0 or EXAMPLES >= len(values):
        return list(values)
    return [values[(offset + step) % len(values)] for step in range(EXAMPLES)]


def requests_for(rule, method, url, fields, offset, one_field_at_a_time):
    """(url, form or None, json or None, query) of the hostile requests of one route × role."""
    is_api = rule.endpoint.startswith("api.")
    values = HOSTILE_JSON if is_api and method != "GET" else HOSTILE_TEXT
    if not fields and not rule.arguments:
        yield url, None, None, {}  # nothing to put a value in: asked once
        return
    for value in chosen(values, offset):
        text_value = value if isinstance(value, str) else str(value)
        target = hostile_url(rule, url, text_value)
        if not fields:
            yield target, None, None, {}
        elif method == "GET":
            yield url, None, None, {name: text_value for name in fields}
        elif is_api:
            yield url, None, {name: value for name in fields}, {}
        else:
            yield url, {name: text_value for name in fields}, None, {}
    if not one_field_at_a_time:
        return  # a role never shown the form is refused at the door: all fields at once suffice
    for index, name in enumerate(sorted(fields)):  # one field at a time, the others as the page gives them
        for value in chosen(values, offset + index + 1)[: None if EXAMPLES <= 0 else 1]:
            text_value = value if isinstance(value, str) else str(value)
            if method == "GET":
                yield url, None, None, {**{k: v or "" for k, v in fields.items()}, name: text_value}
            elif is_api:
                yield url, None, {**{k: v for k, v in fields.items() if v is not None}, name: value}, {}
            else:
                yield url, {**fields, name: text_value}, None, {}


@pytest.mark.parametrize("role", list(ROLES))
def test_every_route_survives_hostile_values_and_refusals_change_nothing(app, world, capsys, role):
    from marketplace.api.tokens import create_token

    email = ROLES[role]
    fields, shown_to = discovered_fields(app, world)
    with app.app_context():
        token = create_token(db.session.scalar(select(User.id).where(User.email == email)), "fuzz")[1] if email else ""
        current = state()
    all_routes = routes(app, world)
    role_index = list(ROLES).index(role)
    sent, refused, failures = 0, 0, []
    for route_index, (rule, method, url) in enumerate(all_routes):
        key = (rule.endpoint, method)
        client = client_as(app, email)
        headers = {"Authorization": f"Bearer {token}"} if email and rule.endpoint.startswith("api.") else {}
        for target, form, body, query in requests_for(rule, method, url, fields.get(key, {}),
                                                      route_index + role_index * max(EXAMPLES, 1),
                                                      role in shown_to.get(key, ())):
            full = target + ("?" + urlencode(query) if query else "")
            what = f"{role} {method} {full[:120]!r} {str(form or body)[:160]}"
            sent += 1
            try:
                response = client.open(full, method=method, data=form, json=body, headers=headers)
            except Exception as error:  # noqa: BLE001 — TESTING propagates what would be a 500
                failures.append(f"raised {type(error).__name__}: {str(error)[:200]}: {what}")
                with app.app_context():
                    db.session.rollback()
                    current = state()
                continue
            if response.status_code >= 500:
                failures.append(f"{response.status_code}: {what}")
            if method != "GET" and response.status_code < 400:
                _keep_the_cast_signed_in(app, token)
            with app.app_context():
                after = state()
            if response.status_code >= 400:
                refused += 1
                if after != current:
                    failures.append(f"refused ({response.status_code}) but changed data: {what}")
            current = after
    figures = (f"route fuzzer, {role}: {len(all_routes)} route-methods, {len(fields)} with discovered fields "
               f"({sum(map(len, fields.values()))} fields), {len(HOSTILE_TEXT)} text / {len(HOSTILE_JSON)} JSON "
               f"hostile values, FUZZ_EXAMPLES={EXAMPLES}: {sent} requests, {refused} refusals verified unchanged, "
               f"{len(failures)} failures")
    with capsys.disabled():
        print("\n" + figures)
    ARTIFACTS.mkdir(exist_ok=True)  # xdist hides a worker's output: the figures are kept here too
    (ARTIFACTS / f"route-fuzzer-{role.replace(' ', '-')}.txt").write_text(figures + "\n", encoding="utf-8")
    assert not failures, "\n".join(failures[:40])
    assert sent > len(all_routes) and len(fields) > 40


def _keep_the_cast_signed_in(app, token):
    """An accepted hostile POST may have deactivated an account (and so revoked its tokens); the
    later routes still need every role, so the accounts and the fuzzer's token are put back."""
    from marketplace.api.models import ApiToken
    from marketplace.api.tokens import token_hash

    with app.app_context():
        db.session.execute(update(User).values(is_active_account=True))
        if token:
            db.session.execute(update(ApiToken).where(ApiToken.token_hash == token_hash(token)).values(revoked_at=None))
        db.session.commit()
        db.session.remove()
