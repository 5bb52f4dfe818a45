"""Every API error in one shape: RFC 9457 problem details (`application/problem+json`).

`code` is for programs, `detail` for people (in the request's language), `field` names the
input at fault when there is one.
"""
from flask import jsonify
from werkzeug.http import HTTP_STATUS_CODES

PROBLEM_MEDIA_TYPE = "application/problem+json"
TYPE_BASE = "/api/v1/docs#problem-"


def problem(status, code, detail, field=None, headers=None):
    body = {
        "type": f"{TYPE_BASE}{code}",
        "title": HTTP_STATUS_CODES.get(status, "Error"),
        "status": status,
        "detail": str(detail),
        "code": code,
        "field": field,
    }
    response = jsonify(body)
    response.status_code = status
    response.mimetype = PROBLEM_MEDIA_TYPE
    for name, value in (headers or {}).items():
        response.headers[name] = value
    return response


HTTP_CODES = {400: "bad_request", 401: "unauthorized", 403: "forbidden", 404: "not_found",
              405: "method_not_allowed", 406: "not_acceptable", 409: "conflict", 413: "too_large",
              415: "unsupported_media_type", 422: "invalid", 429: "rate_limited"}


def http_problem(error):
    """A werkzeug HTTPException (routing 404, 405, too large…) as a problem; a response already
    made for it (the rate limiter's 429 with Retry-After) is kept."""
    if getattr(error, "response", None) is not None:
        return error.response
    status = error.code or 500
    headers = {"Allow": ", ".join(error.valid_methods)} if getattr(error, "valid_methods", None) else None
    return problem(status, HTTP_CODES.get(status, "error"), error.description or HTTP_STATUS_CODES.get(status, ""),
                   headers=headers)


def is_api_request(request):
    return request.path.startswith("/api/")
