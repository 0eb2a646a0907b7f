"""What every resource module of the API is built from: a flask-smorest blueprint that authenticates
(unless public), answers every refusal in JSON and documents it, and a text field that refuses what
no database should store."""
from __future__ import annotations

import re
from functools import wraps
from http import HTTPStatus
from typing import Any, Mapping

import flask_smorest
import marshmallow as ma
from flask import request
from marshmallow import validate

from engine.errors import GovflowError, InvalidForm

from . import auth, errors

# C0 controls but tab, newline and return; DEL; lone surrogates (PostgreSQL refuses NUL, UTF-8 the rest)
UNSTORABLE = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f\ud800-\udfff]")
# the same as the document's pattern (lone surrogates only JSON escapes can send: checked, not documented)
STORABLE = r"^[^\x00-\x08\x0b\x0c\x0e-\x1f\x7f]*$"
SURROGATE = re.compile(r"[\ud800-\udfff]")
UNSTORABLE_MESSAGE = "含有不允许的控制字符 (contains control characters that are not allowed)"
PUBLIC_DOC = {"security": []}  # an operation anyone may call


def links(status: int, **targets: tuple[str, str, dict[str, str]]) -> dict:
    """OpenAPI links from a response to the operations its values lead to (``name=(path, method,
    {parameter: runtime expression})``), for clients and for stateful fuzzing."""
    return {"responses": {status: {"links": {
        name: {"operationRef": "#/paths/" + path.replace("~", "~0").replace("/", "~1") + f"/{method}",
               "parameters": parameters}
        for name, (path, method, parameters) in targets.items()}}}}
FORM_VALUE = {"nullable": True, "anyOf": [{"type": "string", "pattern": STORABLE}, {"type": "integer"},
                                          {"type": "number"}, {"type": "boolean"}]}


class Text(ma.fields.String):
    """A string without control characters (tab and line breaks allowed)."""

    def __init__(self, *args, **kwargs):
        validators = kwargs.pop("validate", None)
        validators = [validators] if callable(validators) else list(validators or [])
        pattern = validate.Regexp(STORABLE, error=UNSTORABLE_MESSAGE)
        super().__init__(*args, validate=[pattern, _storable, *validators], **kwargs)


def _storable(value: str) -> None:
    if SURROGATE.search(value):
        raise ma.ValidationError(UNSTORABLE_MESSAGE)


def form_values(description: str) -> ma.fields.Dict:
    """A form's values by field id: single values only (checked by ``form_data``; the form's own
    rules by the engine)."""
    return ma.fields.Dict(keys=ma.fields.String(), load_default=dict,
                          metadata={"description": description, "additionalProperties": FORM_VALUE})


def form_data(data: Mapping[str, Any]) -> dict[str, Any]:
    """Form values for the engine (which validates them against the form): flat values only, and no
    unstorable text in keys or values."""
    bad = {}
    for key, value in data.items():
        if UNSTORABLE.search(key) or (isinstance(value, str) and UNSTORABLE.search(value)):
            bad[UNSTORABLE.sub("?", key)[:100]] = UNSTORABLE_MESSAGE
        elif isinstance(value, (dict, list)):
            bad[key[:100]] = "应为单个值 (must be a single value, not an object or a list)"
    if bad:
        raise InvalidForm(bad)
    return dict(data)


class ApiBlueprint(flask_smorest.Blueprint):
    """A resource of the API: token authentication (unless ``public``), JSON refusals, no caching."""

    def __init__(self, name: str, import_name: str, *, public: bool = False, **kwargs):
        super().__init__(name, import_name, **kwargs)
        if not public:
            self.before_request(auth.authenticate)
        self.after_request(_no_store)
        errors.register(self)

    def add_url_rule(self, rule, endpoint=None, view_func=None, provide_automatic_options=None, **options):
        return super().add_url_rule(rule, endpoint or view_func.__name__, _refusals_as_json(view_func),
                                    provide_automatic_options, **options)

    def arguments(self, schema, *, location: str = "json", **kwargs):
        """As flask-smorest's, and a JSON body must say so in its Content-Type (else 415)."""
        parse = super().arguments(schema, location=location, **kwargs)
        if location != "json":
            return parse

        def decorator(func):
            parsed = parse(func)

            @wraps(parsed)
            def view(*args, **kw):
                if not request.is_json:
                    raise errors.ApiError(415)
                return parsed(*args, **kw)
            return view
        return decorator

    def refusals(self, *statuses: int):
        """Document the error responses an operation gives (each with the ErrorSchema body)."""
        def decorator(func):
            for status in statuses:
                func = self.alt_response(status, response=HTTPStatus(status).name)(func)
            return func
        return decorator


def _refusals_as_json(view):
    @wraps(view)
    def call(*args, **kwargs):
        try:
            return view(*args, **kwargs)
        except GovflowError as exc:
            return errors.engine_error(exc)
    return call


def _no_store(response):
    response.headers["Cache-Control"] = "no-store"  # answers hold people's cases
    return response
