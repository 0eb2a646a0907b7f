"""An engine refusal through the JSON API is a message with a code and parameters (engine.messages):
the API answers ``message_code``, ``params`` and the message in the request's language: ``?lang=`` or
Accept-Language ``en`` → English only, ``zh`` → Chinese only, neither → ``中文 (English)``; a 422 names
each field's message code in ``error_codes``."""
from __future__ import annotations

import re

import pytest

from engine.domain import api_tokens, org
from tests.e2e.conftest import open_task, start_case

CHINESE = re.compile(r"[\u4e00-\u9fff]")


@pytest.fixture
def api(client, engine):
    """Call the API as a person: api("clerk.a").post(url, body, headers=..., query_string=...)."""
    def token(login: str) -> str:
        with engine.uow() as uow:
            _, secret = api_tokens.create_token(uow, org.person_by_login(uow.session, login), "测试",
                                                engine.clock.now())
            uow.commit()
        return secret

    class As:
        def __init__(self, login):
            self.auth = {"Authorization": f"Bearer {token(login)}"}

        def post(self, url, body=None, headers=None, **kw):
            return client.post(url, headers={**self.auth, **(headers or {})}, json=body, **kw)
    return As


@pytest.fixture
def claimed(engine, api):
    """A task claimed by clerk.a2: clerk.a's claim is refused (409, task.already_claimed)."""
    task_id = open_task(engine, start_case(engine, "clerk.a"))
    assert api("clerk.a2").post(f"/api/v1/tasks/{task_id}/claim").status_code == 200
    return task_id


@pytest.mark.parametrize("how, expected", [
    ({"query_string": {"lang": "en"}}, "already claimed by clerk.a2"),
    ({"headers": {"Accept-Language": "en"}}, "already claimed by clerk.a2"),
    ({"query_string": {"lang": "zh"}}, "该任务已被 clerk.a2 签收"),
    ({"headers": {"Accept-Language": "zh-CN,zh;q=0.9"}}, "该任务已被 clerk.a2 签收"),
    ({}, "该任务已被 clerk.a2 签收 (already claimed by clerk.a2)"),
])
def test_an_engine_refusal_answers_its_code_params_and_the_message_in_the_requests_language(
        api, claimed, how, expected):
    response = api("clerk.a").post(f"/api/v1/tasks/{claimed}/claim", **how)
    assert response.status_code == 409, response.get_data(as_text=True)
    body = response.get_json()
    assert body["code"] == "already_done"
    assert body["message_code"] == "task.already_claimed"
    assert body["params"] == {"login": "clerk.a2"}
    assert body["message"] == expected


def test_a_422_names_each_fields_message_code_and_words_them_in_the_requests_language(api, engine):
    task_id = open_task(engine, start_case(engine, "clerk.a"))
    clerk = api("clerk.a")
    clerk.post(f"/api/v1/tasks/{task_id}/claim")
    url, data = f"/api/v1/tasks/{task_id}/complete", {"data": {"summary": "x", "pages": 0}}

    english = clerk.post(url, data, query_string={"lang": "en"}).get_json()
    assert english["code"] == "invalid_form"
    assert english["error_codes"] == {"summary": "form.too_short", "pages": "form.below_min"}
    assert english["errors"] == {"summary": "at least 2 characters", "pages": "at least 1"}
    assert english["message"] == "please correct the fields"

    chinese = clerk.post(url, data, headers={"Accept-Language": "zh"}).get_json()
    assert chinese["error_codes"] == english["error_codes"]
    assert chinese["errors"] == {"summary": "至少 2 字", "pages": "不能小于 1"}
    assert not any(CHINESE.search(m) is None for m in chinese["errors"].values())

    both = clerk.post(url, data).get_json()
    assert both["errors"] == {"summary": "至少 2 字 (at least 2 characters)", "pages": "不能小于 1 (at least 1)"}
