"""Input that can never reach the database or the JSON parser in a shape that fails there (issue 15):

* every ``<int:…>`` in a URL is an id the databases can hold (1 … 2,147,483,647, PostgreSQL's
  ``integer``): a larger one is a 404 like any unknown id, never a 500;
* ``?page=`` is clamped to 1 … 100,000;
* a JSON body is checked before it is parsed, and before any token, log-in or rate limit is
  looked at: at most ``MAX_JSON_DEPTH`` levels of nesting and numbers of at most
  ``MAX_NUMBER_DIGITS`` characters, else 400 saying which (Python's parser would recurse or refuse
  a 5,000-digit integer with a 500).
"""
from __future__ import annotations

import re
from functools import lru_cache

from flask import abort, request
from werkzeug.routing import IntegerConverter

MAX_ID = 2**31 - 1
MAX_PAGE = 100_000
MAX_JSON_DEPTH = 32
MAX_NUMBER_DIGITS = 40


class IdConverter(IntegerConverter):
    """``<int:…>`` limited to the ids a database row can have (leading zeros refused as before)."""

    def __init__(self, url_map, *args, **kwargs):
        kwargs.setdefault("min", 0)
        kwargs.setdefault("max", MAX_ID)
        super().__init__(url_map, *args, **kwargs)


def page_arg(name: str = "page") -> int:
    """The page number of a listing: 1 … ``MAX_PAGE`` whatever the query says."""
    value = request.args.get(name, 1, type=int) or 1
    return min(max(1, value), MAX_PAGE)


class JsonShapeError(ValueError):
    pass


@lru_cache(maxsize=4)
def _NUMBER_RUN(digits: int):
    return re.compile(rb"[0-9eE.+-]{%d,}" % (digits + 1))


def check_json_shape(body: bytes, max_depth: int = MAX_JSON_DEPTH, max_digits: int = MAX_NUMBER_DIGITS) -> None:
    """Raise ``JsonShapeError`` when ``body`` nests deeper than ``max_depth`` or holds a number of
    more than ``max_digits`` characters (a linear scan; strings are skipped). An ordinary body (few
    brackets, no long run of number characters anywhere) is let through by two C-speed checks."""
    if body.count(b"[") + body.count(b"{") <= max_depth and not _NUMBER_RUN(max_digits).search(body):
        return
    depth = run = 0
    in_string = escaped = False
    for byte in body:
        if in_string:
            if escaped:
                escaped = False
            elif byte == 0x5C:  # backslash
                escaped = True
            elif byte == 0x22:
                in_string = False
            continue
        if byte == 0x22:
            in_string, run = True, 0
        elif byte in (0x5B, 0x7B):  # [ {
            depth += 1
            if depth > max_depth:
                raise JsonShapeError(f"JSON nested deeper than {max_depth} levels")
            run = 0
        elif byte in (0x5D, 0x7D):
            depth -= 1
            run = 0
        elif 0x30 <= byte <= 0x39 or byte in (0x2D, 0x2B, 0x2E, 0x65, 0x45):  # digits, sign, point, exponent
            run += 1
            if run > max_digits:
                raise JsonShapeError(f"a number longer than {max_digits} characters")
        else:
            run = 0


def init_app(app) -> None:
    """Register the bounded id converter (before any route) and the JSON check."""
    app.url_map.converters["int"] = IdConverter

    @app.before_request
    def json_shape():
        if request.method in ("POST", "PUT", "PATCH") and request.is_json:
            try:
                check_json_shape(request.get_data(cache=True))
            except JsonShapeError as exc:
                from .api.errors import body, is_api_request
                if is_api_request():
                    return body(400, "bad_json", f"请求体 JSON 结构过深或数字过长 ({exc})")
                abort(400)
