"""No 500 from input (issue 15 item 4): ids beyond what a row can hold are unknown ids (404),
listing pages are clamped, and JSON too deep or with over-long numbers is refused (400) before it is
parsed, before any token or rate limit is looked at."""
from __future__ import annotations

import pytest

from engine.domain import api_tokens, org
from web.inputs import MAX_JSON_DEPTH, JsonShapeError, check_json_shape

HUGE = ["2147483648", "99999999999999999999", "9" * 400]
PAGES = ["/cases/{}", "/cases/{}/diagram", "/grants/{}", "/grants/of-case/{}", "/attachments/{}",
         "/supervision/items/{}"]
POSTS = ["/cases/{}/comment", "/grants/{}/revoke", "/supervision/items/{}/rectify", "/supervision/items/{}/dismiss",
         "/account/tokens/{}/revoke", "/modeler/drafts/{}/delete"]


@pytest.mark.parametrize("number", HUGE, ids=len)
def test_an_id_beyond_any_row_is_an_unknown_id_on_every_page(as_person, number):
    supervisor = as_person("supervisor")
    for url in PAGES:
        assert supervisor.get(url.format(number)).status_code == 404, url
    for url in POSTS:
        assert supervisor.post(url.format(number), {"text": "x", "note": "x"}).status_code == 404, url
    assert supervisor.get(f"/modeler/diagram?draft={number}").status_code in (404, 405)


def test_a_page_number_beyond_any_listing_is_clamped(as_person):
    clerk = as_person("clerk.a")
    for url in ("/tasks", "/grants/", "/notifications/"):
        assert clerk.get(f"{url}?page=99999999999999999999999").status_code == 200, url
        assert clerk.get(f"{url}?page=-5").status_code == 200, url


def token_of(engine, login: str) -> str:
    with engine.uow() as uow:
        _, secret = api_tokens.create_token(uow, org.person_by_login(uow.session, login), "t", engine.clock.now())
        uow.commit()
    return secret


@pytest.mark.parametrize("number", HUGE, ids=len)
def test_the_api_answers_404_to_an_id_beyond_any_row(client, engine, number):
    headers = {"Authorization": f"Bearer {token_of(engine, 'supervisor')}"}
    for url in (f"/api/v1/cases/{number}", f"/api/v1/cases/{number}/timeline", f"/api/v1/grants/{number}"):
        answer = client.get(url, headers=headers)
        assert answer.status_code == 404 and answer.get_json()["code"], url


@pytest.mark.parametrize("body, why", [
    ("[" * 100_000 + "]" * 100_000, "nested deeper"),
    ('{"objector_kind": ' + "1" * 5001 + "}", "number longer"),
    ('{"a": ' + "[" * (MAX_JSON_DEPTH + 1) + "]" * (MAX_JSON_DEPTH + 1) + "}", "nested deeper"),
], ids=["deep", "long-number", "just-too-deep"])
def test_json_too_deep_or_with_an_overlong_number_is_a_400_even_without_a_token(client, body, why):
    for url in ("/api/v1/objections", "/api/v1/cases"):
        answer = client.post(url, data=body, content_type="application/json")
        assert answer.status_code == 400, (url, answer.get_data(as_text=True)[:200])
        assert answer.get_json()["code"] == "bad_json" and why in answer.get_json()["message"]


def test_the_shape_check_skips_strings_and_accepts_what_the_api_takes():
    check_json_shape(b'{"a": "[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[", "b": [1.5e10, -3], "c": "\\"["}')
    check_json_shape(('{"n": "' + "9" * 5000 + '"}').encode())  # a long string is not a number
    check_json_shape(("[" * MAX_JSON_DEPTH + "]" * MAX_JSON_DEPTH).encode())
    with pytest.raises(JsonShapeError):
        check_json_shape(b'{"n": ' + b"1" * 41 + b"}")
