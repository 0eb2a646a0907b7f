"""Fuzzing the JSON API with schemathesis against the OpenAPI document the app serves (in-process
WSGI), as a clerk with a valid personal token: no answer is a 5xx and every answer's status is
declared and its body matches the declared schema. Bodies generated for POST /cases,
POST /tasks/{id}/complete and POST /objections are mostly refused with 422 (the forms depend on the
procedure): declared, so they conform; their body must carry one of the form/request codes.

(schemathesis.pytest.from_fixture does not work with pytest 9, so each operation's hypothesis
strategy is driven here, one test per generation mode, failures collected per operation.)"""
from __future__ import annotations

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import response_schema_conformance, status_code_conformance

from tests.e2e.conftest import open_task, start_case
from tests.e2e.test_api import new_token

EXAMPLES = {GenerationMode.POSITIVE: 25, GenerationMode.NEGATIVE: 10}
FORM_DEPENDENT = {("POST", "/cases"), ("POST", "/tasks/{task_id}/complete"), ("POST", "/objections")}
CHECKS = [not_a_server_error, status_code_conformance, response_schema_conformance]


@pytest.mark.parametrize("mode", list(EXAMPLES), ids=lambda m: m.value)
def test_no_server_error_and_every_answer_conforms(app, engine, mode):
    case_id = start_case(engine)  # something to list, and real ids for half the examples
    real = {"case_id": case_id, "task_id": open_task(engine, case_id), "process_id": "review_loop"}
    headers = {"Authorization": f"Bearer {new_token(engine, 'clerk.a')}"}
    schema = schemathesis.openapi.from_wsgi("/api/v1/openapi.json", app)
    failures, seen, statuses = {}, 0, {}
    for result in schema.get_all_operations():
        operation = result.ok()
        if operation.path == "/openapi.json" or operation.path.endswith("openapi.json"):
            continue
        seen += 1

        names = {p.name for p in operation.iter_parameters() if p.location == "path"}
        strategy = operation.as_strategy(generation_mode=mode)
        if names and names <= real.keys() and mode is GenerationMode.POSITIVE:  # ids that exist, too
            strategy = strategy | operation.as_strategy(path_parameters={n: real[n] for n in names})

        @given(strategy)
        @settings(max_examples=EXAMPLES[mode], deadline=None, database=None, derandomize=True,
                  suppress_health_check=list(HealthCheck))
        def fuzz(case):
            response = case.call(headers=headers)
            statuses.setdefault(operation.label, set()).add(response.status_code)
            case.validate_response(response, checks=CHECKS)
            if (operation.method.upper(), operation.path) in FORM_DEPENDENT and response.status_code == 422:
                assert response.json()["code"] in ("invalid_form", "invalid_request"), response.text

        try:
            fuzz()
        except Exception as exc:  # noqa: BLE001 - collect every operation's first failure
            failures[operation.label] = f"{type(exc).__name__}: {str(exc)[:1500]}"
    assert seen >= 10, f"only {seen} operations in the OpenAPI document"
    print({k: sorted(v) for k, v in statuses.items()})
    assert not failures, "\n\n".join(f"{label}\n{text}" for label, text in failures.items())
