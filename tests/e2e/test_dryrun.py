"""POST /modeler/dryrun (试运行): the analyst gets the posted diagram's paths as JSON, in the page's
language; anyone else gets 403."""
from __future__ import annotations

import pytest

from engine.domain import org
from tests.conftest import FIXTURES
from tests.e2e.conftest import AUTHORITY, PASSWORD

XML = (FIXTURES / "review_loop.bpmn").read_text(encoding="utf-8")


@pytest.fixture
def analyst(engine, clock):
    with engine.uow() as uow:
        dept = org.department_by_code(uow.session, AUTHORITY)
        org.create_person(uow.session, "analyst", "赵分析", dept, {"analyst"}, PASSWORD, clock.now())
        uow.commit()
    return "analyst"


def test_the_analyst_gets_the_paths_as_json_with_steps_outcomes_and_labels(as_person, analyst):
    me = as_person(analyst)
    response = me.post("/modeler/dryrun", {"xml": XML})
    assert response.status_code == 200 and response.mimetype == "application/json"
    found = response.get_json()
    assert found["process_id"] == "review_loop" and not found["problems"] and found["paths"]
    for path in found["paths"]:
        assert path["elements"][0] == [s["element_id"] for s in path["steps"]][0]
        assert path["outcome"] or path["problems"]
    assert found["labels"]["button"] == "试运行"
    english = me.post("/modeler/dryrun?lang=en", {"xml": XML}).get_json()
    assert english["labels"]["button"] == "Dry run"


def test_a_broken_diagram_is_a_problem_not_an_error(as_person, analyst):
    found = as_person(analyst).post("/modeler/dryrun", {"xml": "<nope"}).get_json()
    assert found["paths"] == [] and found["problems"]


def test_a_clerk_gets_403_and_a_post_without_the_token_is_refused(as_person, analyst, client):
    assert as_person("clerk.a").post("/modeler/dryrun", {"xml": XML}).status_code == 403
    me = as_person(analyst)
    assert me.client.post("/modeler/dryrun", data={"xml": XML}).status_code in (400, 403)
