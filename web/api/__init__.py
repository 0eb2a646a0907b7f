"""The JSON API ``/api/v1``: how the county's other systems (the big-data centre, the online service
platform) start cases and read results without a browser.

flask-smorest builds it: the marshmallow schemas of each resource module validate the requests and
generate the OpenAPI 3 document served at ``/api/v1/openapi.json``. Callers authenticate with a
personal API token (created on the page ``/account/tokens``) and get exactly the rights of its
person; the objection endpoints are public. Every refusal is JSON (``errors.ErrorSchema``).
"""
from __future__ import annotations

import flask_smorest

from . import catalog, cases, errors, grants, objections, processes, tasks

PREFIX = "/api/v1"
RESOURCES = (processes, cases, tasks, catalog, grants, objections)
SETTINGS = {
    "API_TITLE": "govflow API",
    "API_VERSION": "v1",
    "OPENAPI_VERSION": "3.0.3",
    "OPENAPI_URL_PREFIX": PREFIX,
    "OPENAPI_JSON_PATH": "openapi.json",
}
SPEC_OPTIONS = {
    "info": {"description": (
        "怀宁县政务数据流程平台的接口。调用时在请求头带上个人 API 令牌（在“API 令牌”页面创建）："
        "`Authorization: Bearer <token>`；令牌拥有其用户的全部角色和部门权限，请妥善保管。"
        "错误一律返回 JSON：`code`（稳定的代码）、`message`（中文 (English)），表单错误另有 `errors`（逐字段）。\n\n"
        "The API of the Huaining county government-data workflow platform. Send a personal API token "
        "(created on the page \"API tokens\") as `Authorization: Bearer <token>`; it acts with all the "
        "roles and the department of its person. Every error is JSON: `code` (stable), `message` "
        "(Chinese (English)), and for refused forms `errors` (one message per field).")},
    "components": {"securitySchemes": {"bearerAuth": {
        "type": "http", "scheme": "bearer", "description": "a personal API token, gft_…"}}},
    "security": [{"bearerAuth": []}],
}


class Api(flask_smorest.Api):
    """flask-smorest's Api, with the API's error body, leaving the HTML pages' error handlers alone."""

    ERROR_SCHEMA = errors.ErrorSchema

    def _register_error_handlers(self):
        """Each API blueprint registers its own (``errors.register``); ``init_app`` does the rest."""


def init_app(app) -> None:
    """Register the API's blueprints and document on ``app``; exempt them from CSRF (token auth)."""
    from .. import csrf
    from ..errors import http_error as page_error
    for key, value in SETTINGS.items():
        app.config.setdefault(key, value)
    app.config.setdefault("API_SPEC_OPTIONS", SPEC_OPTIONS)
    api = Api(app)
    for module in RESOURCES:
        api.register_blueprint(module.blp)
        csrf.exempt(module.blp)
    errors.init_app(app, page_error)
    app.extensions["govflow_api"] = api
