"""A case sent back many times by its diagram (the head's 退回 decision loops to the clerk's step)
keeps a bounded task tree (engine/spiff/compaction.py) and behaves like a fresh one: the next task,
its data, 退回 to the previous step, the case diagram, the outcome and the audit trail."""
from __future__ import annotations

import json

from engine.models import Case
from engine.spiff.compaction import COMPACT_ABOVE
from tests.integration.test_cases import CLERK, HEAD, audit_actions, load_case, the_task

LOOPS = 70


def tree_size(engine, case_id) -> int:
    with engine.uow() as uow:
        return len(json.loads(uow.session.get(Case, case_id).state)["tasks"])


def test_a_case_sent_back_many_times_stays_small_and_right(engine):
    case_id = engine.start_case("review_loop", CLERK, {"department": "D1"})
    sizes = []
    for n in range(LOOPS):
        submit = the_task(engine, case_id)
        assert submit.element_id == "submit"
        engine.complete_task(submit.id, CLERK, {"summary": f"draft {n}", "pages": str(n + 1)})
        approve = the_task(engine, case_id)
        assert approve.element_id == "approve"
        assert engine.get_task(approve.id, HEAD).data["summary"] == f"draft {n}"
        engine.complete_task(approve.id, HEAD, {"decision": "return", "opinion": f"round {n}"})
        sizes.append(tree_size(engine, case_id))
    assert max(sizes) <= COMPACT_ABOVE and sizes[-1] < sizes[LOOPS // 3] * 2  # bounded, not growing
    # 退回 (return) still finds the previous step after the history above it was dropped
    submit = the_task(engine, case_id)
    engine.complete_task(submit.id, CLERK, {"summary": "final", "pages": "9"})
    approve = the_task(engine, case_id)
    assert engine.return_task(approve.id, HEAD, "请再核对页数") == submit.id
    again = the_task(engine, case_id)
    assert again.id == submit.id and engine.get_task(again.id, CLERK).data["summary"] == "final"
    engine.complete_task(again.id, CLERK, {"summary": "final, checked", "pages": "9"})
    engine.complete_task(the_task(engine, case_id).id, HEAD, {"decision": "approve"})

    case = load_case(engine, case_id)
    assert case.status == "completed" and case.outcome == "approved:final, checked"
    assert engine.case_data(case_id)["opinion"] == f"round {LOOPS - 1}"
    diagram = engine.case_diagram(case_id, CLERK)
    assert {"start", "submit", "approve", "gw", "record", "end"} <= set(diagram.completed)
    actions = audit_actions(engine, case_id)
    assert actions.count("task_completed") == 2 * LOOPS + 3 and actions.count("task_returned") == 1
    assert engine.verify_audit() is None
