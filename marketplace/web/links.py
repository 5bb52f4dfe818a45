"""Links in templates: Flask's `url_for`, remembered per process."""
import functools

from flask import has_request_context, request, url_for


def template_url_for(endpoint, **values):
    """`url_for` for templates. A link depends only on its endpoint, its values and where the app
    is mounted, and a page builds the same few dozen on every request (≈20 µs each), so each
    process builds one once; links with options (`_external`, `_anchor`) are built every time."""
    if not has_request_context() or any(name.startswith("_") for name in values):
        return url_for(endpoint, **values)
    try:
        return _link(request.script_root, endpoint, tuple(sorted(values.items())))
    except TypeError:  # a list of values (?label=a&label=b) cannot key the memo
        return url_for(endpoint, **values)


@functools.lru_cache(maxsize=4096)
def _link(_script_root, endpoint, values):
    return url_for(endpoint, **dict(values))
