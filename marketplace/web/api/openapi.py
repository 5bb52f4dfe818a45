"""The OpenAPI 3.1 document, generated from the declared operations and their pydantic models,
and a reference page rendered on the server from that same document (no CDN, no script)."""
from functools import cache

from flask import render_template
from flask_babel import get_translations
from markdown_it import MarkdownIt
from markupsafe import Markup
from pydantic.json_schema import models_json_schema

from marketplace.web.api import bp
from marketplace.web.api.framework import ANY_SIGNED_IN, MAX_ID, OPERATIONS, PATH_PARAMETER
from marketplace.web.api.problems import PROBLEM_MEDIA_TYPE
from marketplace.web.api.schemas import Problem

REF = "#/components/schemas/{model}"
API_VERSION = "1.0.0"
ERROR_DESCRIPTIONS = {
    400: "Malformed request: bad JSON or a cursor this API did not give out.",
    401: "No valid API token.",
    403: "The token's role may not do this.",
    404: "Not found, or not yours to see.",
    405: "This method is not allowed here (a path that does not match the operation's parameters).",
    409: "Conflicts with the current state (sold out, already paid, changed meanwhile, key in use).",
    415: "The body is not application/json.",
    422: "Invalid input; `field` names it.",
    429: "Too many requests; see Retry-After.",
    502: "The payment provider did not answer.",
}


def _openapi_path(rule):
    return bp.url_prefix + PATH_PARAMETER.sub(lambda match: "{" + match["name"] + "}", rule)


def _path_parameters(rule):
    parameters = []
    for match in PATH_PARAMETER.finditer(rule):
        schema = ({"type": "integer", "minimum": 0, "maximum": MAX_ID} if match["converter"] == "id"
                  else {"type": "string", "minLength": 1, "pattern": "^[^/]+$"})
        parameters.append({"name": match["name"], "in": "path", "required": True, "schema": schema})
    return parameters


def _query_parameters(model, definitions):
    schema = model.model_json_schema(ref_template=REF)
    definitions.update(schema.pop("$defs", {}))
    required = set(schema.get("required", ()))
    parameters = []
    for name, property_schema in schema["properties"].items():
        property_schema = _without_null(property_schema)
        parameter = {"name": name, "in": "query", "required": name in required, "schema": property_schema}
        if property_schema.get("description"):
            parameter["description"] = property_schema["description"]
        if property_schema.get("type") == "array":
            parameter.update(style="form", explode=True)
        parameters.append(parameter)
    return parameters


def _without_null(schema):
    """A query value is text or absent, never JSON null: `anyOf [X, null]` becomes X."""
    options = [part for part in schema.get("anyOf", ()) if part.get("type") != "null"]
    if len(options) == 1:
        schema = {**{k: v for k, v in schema.items() if k not in ("anyOf", "default")}, **options[0]}
    return schema


def _error_statuses(op):
    statuses = {400, 404, 405, 409, 422, 429}
    if op.roles:
        statuses |= {401, 403}
    if op.body is not None:
        statuses.add(415)
    if op.endpoint == "start_order_payment":
        statuses.add(502)
    return sorted(statuses)


def _error_response(status, problem_ref):
    response = {"description": ERROR_DESCRIPTIONS[status],
                "content": {PROBLEM_MEDIA_TYPE: {"schema": problem_ref}}}
    if status == 429:
        response["headers"] = {"Retry-After": {"required": True, "description": "Seconds to wait.",
                                               "schema": {"type": "string", "pattern": "^[0-9]+$"}}}
    if status == 401:
        response["headers"] = {"WWW-Authenticate": {"required": True, "schema": {"type": "string"}}}
    return response


def _operation_object(op, definitions, refs):
    parameters = _path_parameters(op.rule)
    if op.query is not None:
        parameters += _query_parameters(op.query, definitions)
    if op.idempotent:
        parameters.append({"name": "Idempotency-Key", "in": "header", "required": False,
                           "description": "Repeat a POST safely: the same key and body replay the first answer.",
                           "schema": {"type": "string", "minLength": 1, "maxLength": 255, "pattern": "^[ -~]+$"}})
    success = {"description": op.summary,
               "content": {"application/json": {"schema": refs[(op.response, "serialization")]}}}
    if op.links:
        success["links"] = {name: {"operationId": target, "parameters": values}
                            for name, (target, values) in op.links.items()}
    document = {
        "operationId": op.endpoint,
        "summary": op.summary,
        "tags": [op.tag],
        "parameters": parameters,
        "responses": {str(op.status): success, **{str(status): _error_response(status, refs[(Problem, "serialization")])
                                                        for status in _error_statuses(op)}},
        "security": [{"bearerToken": []}] if op.roles else [],
    }
    roles = "any signed-in user" if op.roles == ANY_SIGNED_IN else ", ".join(op.roles) if op.roles else None
    document["description"] = "\n\n".join(part for part in (op.description, f"Token role: {roles}." if roles else "") if part)
    if op.body is not None:
        document["requestBody"] = {"required": True, "content": {
            "application/json": {"schema": refs[(op.body, "validation")]}}}
    return document


@cache
def openapi_document():
    """The whole document; built once per process (it depends on the code only)."""
    definitions = {}
    models = {Problem: "serialization"}
    for op in OPERATIONS:
        models[op.response] = "serialization"
        if op.body is not None:
            models[op.body] = "validation"
    refs, top = models_json_schema([(model, mode) for model, mode in models.items()], ref_template=REF)
    definitions.update(top.get("$defs", {}))
    paths = {}
    for op in OPERATIONS:
        paths.setdefault(_openapi_path(op.rule), {})[op.method.lower()] = _operation_object(op, definitions, refs)
    return {
        "openapi": "3.1.0",
        "info": {"title": "Two-way-flow marketplace API", "version": API_VERSION,
                 "description": "Farm products to the city, daily goods to the villages, every fen traced to "
                                "the household that earned it. Money is integer fen (CNY). Errors are RFC 9457 "
                                "problem details. Lists page with opaque cursors (`next_cursor`)."},
        "servers": [{"url": "/"}],
        "paths": paths,
        "components": {"schemas": definitions,
                       "securitySchemes": {"bearerToken": {"type": "http", "scheme": "bearer",
                                                           "description": "A token from your account page."}}},
    }


@bp.get("/openapi.json")
def openapi_json():
    return openapi_document()


def type_label(schema):
    """A short human name for a JSON Schema: `integer`, `Order`, `array of string`, `string | null`."""
    if "$ref" in schema:
        return schema["$ref"].rsplit("/", 1)[-1]
    if "anyOf" in schema:
        return " | ".join(type_label(part) for part in schema["anyOf"])
    if "enum" in schema:
        return " | ".join(f'"{value}"' for value in schema["enum"])
    if "const" in schema:
        return f'"{schema["const"]}"'
    if schema.get("type") == "array":
        return f"array of {type_label(schema.get('items', {}))}"
    if schema.get("type") == "object" and "additionalProperties" in schema:
        return f"map of {type_label(schema['additionalProperties'])}"
    return schema.get("type", "any")


def _sections(document):
    sections = {}
    for path, methods in document["paths"].items():
        for method, operation_object in methods.items():
            sections.setdefault(operation_object["tags"][0], []).append((method.upper(), path, operation_object))
    return sections


# CommonMark without raw HTML: a description can never inject markup into the page.
_MARKDOWN = MarkdownIt("commonmark", {"html": False})


def api_text(text, inline=False):
    """An OpenAPI summary or description in the reader's language (the English text is the message
    id, translated in this area's catalog), with its Markdown rendered."""
    if not text:
        return ""
    translated = get_translations().ugettext(text)
    return Markup(_MARKDOWN.renderInline(translated) if inline else _MARKDOWN.render(translated))


@bp.get("/docs")
def reference():
    """The API reference, rendered from the OpenAPI document."""
    document = openapi_document()
    return render_template("api/reference.html", document=document, sections=_sections(document),
                           type_label=type_label, api_text=api_text)
