"""Every refusal of the JSON API as ``{"code", "message"[, "errors"]}``: a stable code for programs,
a message in Chinese and English (``中文 (English)``, as the engine writes them), and for a 422 one
message per field. A server error says nothing about its cause (the log does)."""
from __future__ import annotations

import re
from http import HTTPStatus
from typing import Any, Mapping

import marshmallow as ma
from flask import current_app, jsonify, request
from werkzeug.exceptions import HTTPException

from engine.domain.throttle import TooManyRequests
from engine.messages import LANGUAGES, Message, msg
from engine.errors import (AlreadyDone, CaseStalled, ConcurrentModification, GovflowError, InvalidForm,
                           NotFound, PermissionDenied, ScriptError)

from ..i18n import localise_in

PREFIX = "/api/"
PLEASE_CORRECT = msg("form.please_correct", "please correct the fields")
CHINESE = re.compile(r"[\u4e00-\u9fff]")  # every URL of the JSON API, its document included

# status -> (code, message) of the refusals that do not come from the engine
GENERIC: dict[int, tuple[str, str]] = {
    400: ("bad_request", "请求无效 (bad request)"),
    401: ("unauthorized", "需要有效的 API 令牌：Authorization: Bearer <令牌> "
                          "(a valid API token is required: Authorization: Bearer <token>)"),
    403: ("forbidden", "您无权执行此操作 (you may not do this)"),
    404: ("not_found", "没有此资源 (not found)"),
    405: ("method_not_allowed", "此地址不支持该请求方法 (method not allowed for this URL)"),
    406: ("not_acceptable", "只能返回 JSON (only JSON can be returned)"),
    409: ("conflict", "操作与当前状态冲突 (the request conflicts with the current state)"),
    413: ("too_large", "请求内容过大 (the request is too large)"),
    415: ("unsupported_media_type", "请求内容应为 JSON：Content-Type: application/json "
                                   "(the request body must be JSON: Content-Type: application/json)"),
    422: ("invalid_request", "请求参数无效 (invalid request parameters)"),
    429: ("rate_limited", "请求过于频繁，请稍后再试 (too many requests; try again later)"),
    500: ("server_error", "服务器内部错误，未作任何更改，请联系管理员 "
                          "(internal server error; nothing was changed; please tell the administrator)"),
}
BAD_JSON = ("bad_json", "请求内容不是有效的 JSON (the request body is not valid JSON)")

ENGINE_STATUS: tuple[tuple[type, int], ...] = (  # most specific first
    (NotFound, 404), (PermissionDenied, 403), (AlreadyDone, 409), (ConcurrentModification, 409),
    (InvalidForm, 422), (TooManyRequests, 429),
    (ScriptError, 500), (CaseStalled, 500), (GovflowError, 409),
)

# marshmallow's English messages -> the Chinese half (by prefix)
FIELD_MESSAGES = (
    ("Missing data for required field", "必填"),
    ("Field may not be null", "不能为空"),
    ("Unknown field", "不是此请求的字段"),
    ("Not a valid string", "应为文本"),
    ("Not a valid integer", "应为整数"),
    ("Not a valid boolean", "应为是或否"),
    ("Not a valid mapping", "应为 JSON 对象"),
    ("Invalid input type", "应为 JSON 对象"),
    ("Must be one of", "不是可选的值"),
    ("Must be greater", "超出范围"),
    ("Must be less", "超出范围"),
    ("Length must be", "长度不符合要求"),
    ("Longer than maximum length", "过长"),
    ("Shorter than minimum length", "过短"),
    ("Invalid JSON body", "不是有效的 JSON"),
)


class ErrorSchema(ma.Schema):
    """The body of every 4xx and 5xx response of the API."""

    code = ma.fields.String(required=True, metadata={
        "description": "stable machine-readable code, e.g. not_found, forbidden, invalid_form, already_done"})
    message = ma.fields.String(required=True, metadata={
        "description": "in the request's language (Accept-Language or ?lang= zh / en); without one, "
                       "中文 (English)"})
    message_code = ma.fields.String(metadata={
        "description": "the message's own stable code (engine.messages), e.g. grant.not_renewable"})
    params = ma.fields.Dict(keys=ma.fields.String(), metadata={"description": "the message's parameters"})
    errors = ma.fields.Dict(keys=ma.fields.String(), values=ma.fields.String(), metadata={
        "description": "422 only: one message per field (dotted path for nested request fields)"})
    error_codes = ma.fields.Dict(keys=ma.fields.String(), values=ma.fields.String(), metadata={
        "description": "422 only: the message code of each field's message, where it has one"})


class ApiError(Exception):
    """A refusal the API itself decides (no token, wrong media type, ...)."""

    def __init__(self, status: int, code: str | None = None, message: str | None = None,
                 errors: Mapping[str, str] | None = None, headers: Mapping[str, str] | None = None):
        default_code, default_message = GENERIC.get(status, GENERIC[400])
        super().__init__(message or default_message)
        self.status, self.code = status, code or default_code
        self.message = message or default_message
        self.errors, self.headers = dict(errors or {}), dict(headers or {})


def body(status: int, code: str, message: str, errors: Mapping[str, str] | None = None,
         headers: Mapping[str, str] | None = None):
    payload: dict[str, Any] = {"code": code, "message": in_request_language(message)}
    if isinstance(message, Message):
        payload.update(message_code=message.code, params=message.as_dict()["params"])
    if errors:
        payload["errors"] = {str(k): in_request_language(v) for k, v in errors.items()}
        codes = {str(k): v.code for k, v in errors.items() if isinstance(v, Message)}
        if codes:
            payload["error_codes"] = codes
    response = jsonify(payload)
    response.status_code = status
    response.headers.update(headers or {})
    response.headers["Cache-Control"] = "no-store"
    return response


def request_language() -> str | None:
    """The language the API request asks for: ``?lang=``, else the best of Accept-Language; None
    when it names neither (the message is then given in both, ``中文 (English)``)."""
    asked = request.args.get("lang")
    if asked in LANGUAGES:
        return asked
    if request.headers.get("Accept-Language"):
        return request.accept_languages.best_match(LANGUAGES)
    return None


def in_request_language(message: Any) -> str:
    language = request_language()
    if isinstance(message, Message):
        return message.render(language) if language else str(message)
    if language and isinstance(message, str):
        return localise_in(str(message), language)
    return str(message)


def api_error(exc: ApiError):
    return body(exc.status, exc.code, exc.message, exc.errors, exc.headers)


def engine_error(exc: GovflowError):
    """An engine refusal: its own code and bilingual message; a failure inside a procedure is a 500."""
    status = next(s for cls, s in ENGINE_STATUS if isinstance(exc, cls))
    if status >= 500:
        current_app.logger.error("API %s %s: %s: %s", request.method, request.path, type(exc).__name__, exc)
        return body(status, exc.code, GENERIC[500][1])
    after = getattr(exc, "retry_after", None)
    headers = {"Retry-After": str(int(after.total_seconds()))} if after is not None else {}
    errors = exc.errors if isinstance(exc, InvalidForm) else None
    message = exc.args[0] if exc.args and isinstance(exc.args[0], Message) else str(exc)
    return body(status, exc.code, message if errors is None else PLEASE_CORRECT, errors, headers)


def http_error(exc: HTTPException):
    """Werkzeug's and webargs' HTTP errors (routing, size, parsing) as API errors."""
    status = exc.code or 500
    if status >= 500:
        return server_error(exc)
    code, message = GENERIC.get(status, (HTTPStatus(status).name.lower(), GENERIC[400][1]))
    data = getattr(exc, "data", None) or {}
    messages = data.get("messages")
    if status == 400 and messages:
        code, message = BAD_JSON
    headers = {k: v for k, v in exc.get_headers() if k.lower() != "content-type"}
    headers.update(data.get("headers") or {})
    errors = flatten(messages) if status == 422 and messages else None
    return body(status, code, message, errors, headers)


def server_error(exc: BaseException):
    current_app.logger.error("API %s %s failed", request.method, request.path,
                             exc_info=(type(exc), exc, exc.__traceback__))
    return body(500, *GENERIC[500])


def flatten(messages: Any, path: str = "") -> dict[str, str]:
    """webargs' nested messages ``{"json": {"data": {"x": ["..."]}}}`` as ``{"data.x": "..."}``."""
    if isinstance(messages, Mapping):
        found: dict[str, str] = {}
        for key, value in messages.items():
            inner = path if not path and key in ("json", "query", "path", "view_args") else \
                f"{path}.{key}" if path else str(key)
            found.update(flatten(value, inner))
        return found
    items = messages if isinstance(messages, list) else [messages]
    texts = [bilingual(m) for m in items if isinstance(m, str)]
    nested = [m for m in items if not isinstance(m, str)]
    found = {path or "_request": "; ".join(texts)} if texts else {}
    for item in nested:
        found.update(flatten(item, path))
    return found


def bilingual(message: str) -> str:
    if CHINESE.search(message):
        return message  # ours, bilingual already
    english = message.rstrip(".")
    chinese = next((zh for prefix, zh in FIELD_MESSAGES if english.startswith(prefix)), "取值无效")
    return f"{chinese} ({english})"


def register(blueprint) -> None:
    """The API's handlers on one of its blueprints (they win over the HTML error pages)."""
    blueprint.register_error_handler(ApiError, api_error)
    blueprint.register_error_handler(HTTPException, http_error)
    blueprint.register_error_handler(Exception, server_error)


def is_api_request() -> bool:
    return request.path.startswith(PREFIX)


def init_app(app, page_error) -> None:
    """Requests under /api/ that match no view (404, 405) answer in JSON; others get ``page_error``."""
    def dispatch(exc: HTTPException):
        return http_error(exc) if is_api_request() else page_error(exc)
    app.register_error_handler(HTTPException, dispatch)
